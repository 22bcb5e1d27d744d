import { beginUserWrite, type WriteContext } from '../audit/append.js';
import type { AuditEvent } from '../audit/hash.js';
import type { Database, Transaction } from '../db/client.js';
import { ANY_TIME, CAP, NO_REVISION_CAP, NOW, readAtPoint, readyPoint, resolvePoint, type Point, type PointRequest, type SettledRevisions } from '../db/point.js';
import { ReadRouter, type ReadSource } from '../db/read-router.js';
import { consentAt, isoOrNull, isoTime, type Choice, type ConsentState, type Plan, type Policy, type Surface, type UserFact } from '../domain/index.js';
import { notFound, preconditionFailed, unprocessable } from '../errors.js';
import { POLICIES_REVISION, type PolicyCache, toUserFacts, userFactsAt, type FactRow } from './facts.js';
import { runWrite, type IdempotencyRequest, type WriteResult } from './write.js';

export interface ConsentView {
  userId: string;
  plan: Plan | null;
  choice: Choice | null;
  choiceAt: string | null;
  choiceSurface: Surface | null;
  effective: Choice;
  basis: ConsentState['basis'];
  decisionRequired: boolean;
  policyVersion: string | null;
  decisionDeadline: string | null;
  retentionDays: number | null;
  consentSince: string | null;
  asOf: string;
  revision: string;
}

export interface TermsAcceptanceView {
  acceptanceId: string;
  userId: string;
  policyVersion: string;
  acceptedAt: string;
  surface: Surface;
  trainingChoice: Choice | null;
  presentation: Record<string, unknown>;
  revision: string;
}

export interface UserView {
  userId: string;
  plan: Plan | null;
  createdAt: string;
  trainingConsent: ConsentView;
  latestTermsAcceptance: TermsAcceptanceView | null;
  revision: string;
}

export function consentView(userId: string, state: ConsentState, at: number, revision: string): ConsentView {
  return {
    userId,
    plan: state.plan,
    choice: state.choice,
    choiceAt: isoOrNull(state.choiceAt),
    choiceSurface: state.choiceSurface,
    effective: state.effective,
    basis: state.basis,
    decisionRequired: state.decisionRequired,
    policyVersion: state.policy?.version ?? null,
    decisionDeadline: isoOrNull(state.policy?.decisionDeadline ?? null),
    retentionDays: state.retentionDays,
    consentSince: isoOrNull(state.consentSince),
    asOf: isoTime(at),
    revision,
  };
}

/**
 * The consent resource's version for If-Match: the newest fact it is folded from (the user's
 * plan and choices, and the policies). Time alone can change the representation (a deadline
 * passing) but not the choice it stands for.
 */
export function consentEtag(facts: readonly UserFact[], policiesRevision: number): string {
  let newest = policiesRevision;
  for (const f of facts) if (f.seq > newest) newest = f.seq;
  return `"${newest}"`;
}

function acceptanceView(e: { revision: string; userId: string; occurredAt: string; data: Record<string, unknown> }): TermsAcceptanceView {
  return {
    acceptanceId: e.data.acceptanceId as string,
    userId: e.userId,
    policyVersion: e.data.policyVersion as string,
    acceptedAt: e.occurredAt,
    surface: e.data.surface as Surface,
    trainingChoice: (e.data.trainingChoice as Choice | null) ?? null,
    presentation: e.data.presentation as Record<string, unknown>,
    revision: e.revision,
  };
}

interface UserReadRow {
  user_id: string;
  /** Read for a user, not for a consent alone. */
  created_at?: number;
  facts: FactRow[];
  terms?: { revision: string; at: number; data: Record<string, unknown> } | null;
}

const latestTerms = (cap: string, recordedBy: string, user = '$1') => `(SELECT json_build_object('revision', a.revision::text,
      'at', (extract(epoch FROM a.occurred_at) * 1000)::float8, 'data', p.data)
     FROM audit_event_personal p JOIN audit_events a ON a.revision = p.revision
     WHERE p.user_id = ${user} AND a.type = 'terms.accepted' AND p.revision <= ${cap} AND a.occurred_at <= ${recordedBy}
    ORDER BY p.revision DESC LIMIT 1)`;

// The user's facts are filtered to the point in JS (userFactsAt); the policies come from the cache.
const consentReadSql = `SELECT u.user_id, u.facts
  FROM users u WHERE u.user_id = $1`;

const userReadSql = `SELECT u.user_id, (extract(epoch FROM u.created_at) * 1000)::float8 AS created_at, u.facts,
    ${latestTerms(CAP, '$3::timestamptz')} AS terms
  FROM users u WHERE u.user_id = $1`;

/** Many users in one statement ($1 their ids), for GraphQL's nested fields. */
const usersReadSql = `SELECT u.user_id, (extract(epoch FROM u.created_at) * 1000)::float8 AS created_at, u.facts,
    ${latestTerms(CAP, '$3::timestamptz', 'u.user_id')} AS terms
  FROM users u WHERE u.user_id = ANY($1::text[])`;

const usersFactsSql = `SELECT u.user_id, u.facts FROM users u WHERE u.user_id = ANY($1::text[])`;

export class ConsentService {
  /** Writes go to `db`, the primary; reads where `reads` sends them (a replica, or the primary). */
  constructor(
    private readonly db: Database,
    private readonly policies: PolicyCache,
    private readonly settled: SettledRevisions,
    private readonly reads: ReadRouter = new ReadRouter({ name: 'primary', db, settled }),
  ) {}

  /** The policies at a point, read through `src` when the cache must catch up. */
  private policiesAt(src: ReadSource, point: Point) {
    return (
      this.policies.peek(point.newestPolicy, point.revision, point.recordedBy) ??
      this.policies.at(point.newestPolicy, point.revision, point.recordedBy, src.db)
    );
  }

  /**
   * The user's consent at a point. A consent alone is folded from the users' facts cache when it
   * holds the user (`UserFactsCache`), else from one statement that fills it; a user's resource is
   * read with its latest terms acceptance in one statement, which fills the cache too.
   */
  private read(userId: string, request: PointRequest, now: number, withTerms: boolean) {
    return this.reads.run(request, (src) => this.readOn(src, userId, request, now, withTerms));
  }

  private async readOn(src: ReadSource, userId: string, request: PointRequest, now: number, withTerms: boolean) {
    const cache = src.settled.users;
    let row: UserReadRow | undefined;
    let point: Point;
    let mark: bigint | null = null;
    if (withTerms) {
      ({ rows: [row], point } = await readAtPoint<UserReadRow>(src.db, src.settled, request, now, (cap) => {
        mark = cache.mark();
        return { text: userReadSql, params: [userId, cap.revision, cap.recordedBy] };
      }));
    } else {
      point = readyPoint(src.settled, request, now) ?? (await resolvePoint(src.db, src.settled, request, now));
      const cached = cache.get(userId);
      if (cached !== undefined) row = { user_id: userId, facts: cached };
      else {
        mark = cache.mark();
        [row] = await src.db.query<UserReadRow>(consentReadSql, [userId]);
      }
    }
    if (row === undefined) throw notFound(`user ${userId} is not known`);
    if (mark !== null) cache.set(userId, row.facts, mark);
    const facts = userFactsAt(row.facts, point.revision, point.recordedBy);
    const { policies, revision: policiesRevision } = await this.policiesAt(src, point);
    const state = consentAt(facts, policies, point.at);
    return { row, facts, state, point, etag: consentEtag(facts, policiesRevision) };
  }

  /**
   * Many users' consents at one point, as `getConsent` answers each: from the users' facts cache,
   * and for the users it does not hold one statement for all of them. Unknown users are absent.
   */
  getConsents(userIds: readonly string[], request: PointRequest, now: number): Promise<Map<string, { view: ConsentView; etag: string }>> {
    return this.reads.run(request, (src) => this.getConsentsOn(src, userIds, request, now));
  }

  private async getConsentsOn(src: ReadSource, userIds: readonly string[], request: PointRequest, now: number) {
    const cache = src.settled.users;
    const point = readyPoint(src.settled, request, now) ?? (await resolvePoint(src.db, src.settled, request, now));
    const facts = new Map<string, FactRow[]>();
    const missing: string[] = [];
    for (const u of new Set(userIds)) {
      const cached = cache.get(u);
      if (cached !== undefined) facts.set(u, cached);
      else missing.push(u);
    }
    if (missing.length > 0) {
      const mark = cache.mark();
      for (const row of await src.db.query<UserReadRow>(usersFactsSql, [missing])) {
        facts.set(row.user_id, row.facts);
        cache.set(row.user_id, row.facts, mark);
      }
    }
    const { policies, revision: policiesRevision } = await this.policiesAt(src, point);
    const out = new Map<string, { view: ConsentView; etag: string }>();
    for (const [userId, rows] of facts) {
      const at = userFactsAt(rows, point.revision, point.recordedBy);
      out.set(userId, { view: consentView(userId, consentAt(at, policies, point.at), point.at, point.revision), etag: consentEtag(at, policiesRevision) });
    }
    return out;
  }

  /** Many users as `getUser` answers each, in one statement. Unknown users are absent. */
  getUsers(userIds: readonly string[], request: PointRequest, now: number): Promise<Map<string, UserView>> {
    return this.reads.run(request, (src) => this.getUsersOn(src, userIds, request, now));
  }

  private async getUsersOn(src: ReadSource, userIds: readonly string[], request: PointRequest, now: number): Promise<Map<string, UserView>> {
    const cache = src.settled.users;
    let mark = 0n;
    const { rows, point } = await readAtPoint<UserReadRow>(src.db, src.settled, request, now, (cap) => {
      mark = cache.mark();
      return { text: usersReadSql, params: [[...new Set(userIds)], cap.revision, cap.recordedBy] };
    });
    const { policies } = await this.policiesAt(src, point);
    const out = new Map<string, UserView>();
    for (const row of rows) {
      cache.set(row.user_id, row.facts, mark);
      const state = consentAt(userFactsAt(row.facts, point.revision, point.recordedBy), policies, point.at);
      out.set(row.user_id, this.userView(row.user_id, row.created_at!, state, point, row.terms ?? null));
    }
    return out;
  }

  /** Many users' terms acceptances, newest first, in one statement; unknown users get none. `request` carries a minRevision. */
  termsAcceptancesOf(userIds: readonly string[], request: PointRequest = NOW): Promise<Map<string, TermsAcceptanceView[]>> {
    return this.reads.run(request, (src) => this.termsAcceptancesOn(src, userIds));
  }

  private async termsAcceptancesOn(src: ReadSource, userIds: readonly string[]): Promise<Map<string, TermsAcceptanceView[]>> {
    const rows = await src.db.query<{ user_id: string; revision: string; at: number; data: Record<string, unknown> }>(
      `SELECT p.user_id, a.revision::text AS revision, (extract(epoch FROM a.occurred_at) * 1000)::float8 AS at, p.data
         FROM audit_event_personal p JOIN audit_events a ON a.revision = p.revision
        WHERE p.user_id = ANY($1::text[]) AND a.type = 'terms.accepted' ORDER BY p.user_id, p.revision DESC`,
      [[...new Set(userIds)]],
    );
    const out = new Map<string, TermsAcceptanceView[]>();
    for (const r of rows) {
      let list = out.get(r.user_id);
      if (list === undefined) out.set(r.user_id, (list = []));
      list.push(acceptanceView({ revision: r.revision, userId: r.user_id, occurredAt: new Date(r.at).toISOString(), data: r.data }));
    }
    return out;
  }

  async getConsent(userId: string, request: PointRequest, now: number): Promise<{ view: ConsentView; etag: string }> {
    const { state, point, etag } = await this.read(userId, request, now, false);
    return { view: consentView(userId, state, point.at, point.revision), etag };
  }

  async getUser(userId: string, request: PointRequest, now: number): Promise<UserView> {
    const { row, state, point } = await this.read(userId, request, now, true);
    return this.userView(row.user_id, row.created_at!, state, point, row.terms ?? null);
  }

  private userView(userId: string, createdAt: number, state: ConsentState, point: Pick<Point, 'revision' | 'at'>, terms: UserReadRow['terms'] | null): UserView {
    return {
      userId,
      plan: state.plan,
      createdAt: new Date(createdAt).toISOString(),
      trainingConsent: consentView(userId, state, point.at, point.revision),
      latestTermsAcceptance:
        terms == null ? null : acceptanceView({ revision: terms.revision, userId, occurredAt: new Date(terms.at).toISOString(), data: terms.data }),
      revision: point.revision,
    };
  }

  /**
   * Begins a write about the user: the chain head locked, and in the same statement the user's
   * facts as they are once the lock is held (the row the upsert returns is the latest version).
   */
  private async begin(tx: Transaction, ctx: WriteContext, userId: string, reserve: number) {
    const { chain, row } = await beginUserWrite<{ facts: FactRow[]; policies_rev: string | null }>(tx, ctx, userId, {
      reserve,
      columns: `${POLICIES_REVISION} AS policies_rev`,
    });
    const facts = toUserFacts(row.facts);
    const { policies, revision: policiesRevision } = await this.policies.at(row.policies_rev, NO_REVISION_CAP, null, tx);
    return { chain, createdAt: row.created_at, facts, policies, policiesRevision };
  }

  private afterWrite(facts: UserFact[], policies: readonly Policy[], events: readonly AuditEvent[], at: number) {
    const added: UserFact[] = [];
    for (const e of events) {
      const seq = Number(e.revision);
      if (e.type === 'user.plan_changed') added.push({ kind: 'plan', at, seq, plan: e.data.plan as Plan });
      if (e.type === 'consent.choice_recorded') {
        added.push({ kind: 'choice', at, seq, choice: e.data.choice as Choice, surface: e.data.surface as Surface });
      }
    }
    const all = [...facts, ...added];
    return { facts: all, state: consentAt(all, policies, at) };
  }

  async setConsent(
    ctx: WriteContext,
    idem: IdempotencyRequest | null,
    userId: string,
    input: { choice: Choice; surface: Surface },
    ifMatch: string | undefined,
  ): Promise<WriteResult> {
    return runWrite(this.db, this.settled, idem, async (tx) => {
      const { chain, facts, policies, policiesRevision } = await this.begin(tx, ctx, userId, 1);
      if (ifMatch !== undefined && !etagMatches(ifMatch, consentEtag(facts, policiesRevision))) {
        throw preconditionFailed('the training consent has changed since it was read (If-Match does not match its ETag)');
      }
      const events = await chain.append({ type: 'consent.choice_recorded', data: { choice: input.choice, surface: input.surface } });
      const now = ctx.now.getTime();
      const after = this.afterWrite(facts, policies, events, now);
      const revision = chain.lastRevision!;
      return {
        status: 200,
        body: consentView(userId, after.state, now, revision),
        headers: { etag: `"${revision}"` },
        userId,
      };
    });
  }

  async setPlan(ctx: WriteContext, idem: IdempotencyRequest | null, userId: string, plan: Plan): Promise<WriteResult> {
    return runWrite(this.db, this.settled, idem, async (tx) => {
      const { chain, createdAt, facts, policies } = await this.begin(tx, ctx, userId, 1);
      const events = await chain.append({ type: 'user.plan_changed', data: { plan } });
      const now = ctx.now.getTime();
      const after = this.afterWrite(facts, policies, events, now);
      const revision = chain.lastRevision!;
      const terms = await tx.query<{ terms: UserReadRow['terms'] }>(`SELECT ${latestTerms(`'${NO_REVISION_CAP}'::bigint`, `'${ANY_TIME}'::timestamptz`)} AS terms`, [userId]);
      const view = this.userView(userId, createdAt, after.state, { revision, at: now }, terms[0].terms);
      return { status: 200, body: view, userId };
    });
  }

  async recordTermsAcceptance(
    ctx: WriteContext,
    idem: IdempotencyRequest | null,
    userId: string,
    input: {
      policyVersion: string;
      surface: Surface;
      trainingChoice?: Choice;
      plan?: Plan;
      presentation: Record<string, unknown>;
    },
    acceptanceId: string,
  ): Promise<WriteResult> {
    return runWrite(this.db, this.settled, idem, async (tx) => {
      const reserve = 1 + (input.plan !== undefined ? 1 : 0) + (input.trainingChoice !== undefined ? 1 : 0);
      const { chain, policies } = await this.begin(tx, ctx, userId, reserve);
      if (!policies.some((p) => p.version === input.policyVersion)) {
        throw unprocessable(`policy version ${input.policyVersion} does not exist`);
      }
      const data = {
        acceptanceId,
        policyVersion: input.policyVersion,
        surface: input.surface,
        trainingChoice: input.trainingChoice ?? null,
        presentation: input.presentation,
      };
      await chain.append(
        { type: 'terms.accepted', data },
        ...(input.plan !== undefined ? [{ type: 'user.plan_changed', data: { plan: input.plan } }] : []),
        ...(input.trainingChoice !== undefined
          ? [{ type: 'consent.choice_recorded', data: { choice: input.trainingChoice, surface: input.surface } }]
          : []),
      );
      const view = acceptanceView({ revision: chain.lastRevision!, userId, occurredAt: ctx.now.toISOString(), data });
      return { status: 201, body: view, userId };
    });
  }

  /** A user's terms acceptances, newest first; `request` carries a minRevision. */
  listTermsAcceptances(userId: string, request: PointRequest = NOW): Promise<{ items: TermsAcceptanceView[] }> {
    return this.reads.run(request, (src) => this.listTermsAcceptancesOn(src, userId));
  }

  private async listTermsAcceptancesOn(src: ReadSource, userId: string): Promise<{ items: TermsAcceptanceView[] }> {
    const rows = await src.db.query<{ revision: string; at: number; data: Record<string, unknown> }>(
      `SELECT a.revision::text AS revision, (extract(epoch FROM a.occurred_at) * 1000)::float8 AS at, p.data
         FROM audit_event_personal p JOIN audit_events a ON a.revision = p.revision
        WHERE p.user_id = $1 AND a.type = 'terms.accepted' ORDER BY p.revision DESC`,
      [userId],
    );
    if (rows.length === 0) {
      const known = await src.db.query('SELECT 1 FROM users WHERE user_id = $1', [userId]);
      if (known.length === 0) throw notFound(`user ${userId} is not known`);
    }
    return {
      items: rows.map((r) => acceptanceView({ revision: r.revision, userId, occurredAt: new Date(r.at).toISOString(), data: r.data })),
    };
  }
}

/** If-Match: `*` or any listed entity tag (weak tags compare by their opaque value). */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
