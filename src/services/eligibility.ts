import type { Database } from '../db/client.js';
import { CAP, capOf, readAtPoint, resolvePoint, type Point, type PointRequest, type ReadCap, type SettledRevisions } from '../db/point.js';
import { consentAt, decideEligibility, type ConsentState, type Decision, type Policy } from '../domain/index.js';
import { POLICIES_REVISION, type PolicyCache, chatColumns, toChatFacts, userFactsAt, type ChatRow, type FactRow } from './facts.js';

export interface DecisionView {
  chatId: string;
  userId: string | null;
  eligible: boolean;
  reason: Decision['reason'];
  policyVersion: string | null;
  consentSince: string | null;
  retentionUntil: string | null;
  asOf: string;
  revision: string;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

function decisionView(d: Decision, point: Point): DecisionView {
  return {
    chatId: d.chatId,
    userId: d.userId,
    eligible: d.eligible,
    reason: d.reason,
    policyVersion: d.policyVersion,
    consentSince: iso(d.consentSince),
    retentionUntil: iso(d.retentionUntil),
    asOf: new Date(point.at).toISOString(),
    revision: point.revision,
  };
}

/** Revision cap, recordedBy, evaluation time: parameters $2 to $4 of every statement here. */
const P = [CAP, '$3::timestamptz', '$4::timestamptz'] as const;

const singleSql = `SELECT ${chatColumns(...P)},
    (SELECT u.facts FROM users u WHERE u.user_id = c.user_id) AS facts,
    ${POLICIES_REVISION} AS policies_rev
  FROM (SELECT 1) one LEFT JOIN chats c ON c.chat_id = $1`;

const batchSql = `SELECT ${chatColumns(...P)}, ${POLICIES_REVISION} AS policies_rev FROM chats c WHERE c.chat_id = ANY($1::text[])`;

const pageSql = `SELECT ${chatColumns(...P)} FROM chats c
  WHERE c.chat_id > $1 AND NOT c.incognito AND c.registered_revision <= ${P[0]} AND c.registered_at <= ${P[1]}
  ORDER BY c.chat_id LIMIT $5`;

const usersFactsSql = `SELECT u.user_id, u.facts FROM users u WHERE u.user_id = ANY($1::text[])`;

const capParams = (cap: ReadCap) => [cap.revision, cap.recordedBy, new Date(cap.at).toISOString()];

/** Decides chats at one point, folding each owner's consent once. */
class Decider {
  private readonly states = new Map<string, ConsentState>();
  constructor(
    private readonly policies: Policy[],
    private readonly point: Point,
  ) {}

  consentOf(userId: string, facts: () => FactRow[] | undefined): ConsentState {
    let state = this.states.get(userId);
    if (state === undefined) {
      state = consentAt(userFactsAt(facts() ?? [], this.point.revision, this.point.recordedBy), this.policies, this.point.at);
      this.states.set(userId, state);
    }
    return state;
  }

  decide(chatId: string, row: ChatRow | undefined, facts: () => FactRow[] | undefined): Decision {
    const chat = row ? toChatFacts(row) : null;
    const consent = chat ? this.consentOf(chat.userId, facts) : null;
    return decideEligibility(chatId, chat, consent, this.point.at);
  }

  /** Bounded memory for the stream: forget folded users once there are many. */
  trim(max: number): void {
    if (this.states.size > max) this.states.clear();
  }

  knows(userId: string): boolean {
    return this.states.has(userId);
  }
}

export interface EligibleChat {
  chatId: string;
  userId: string;
  retentionUntil: string | null;
}

export class EligibilityService {
  constructor(
    private readonly db: Database,
    private readonly policies: PolicyCache,
    private readonly settled: SettledRevisions,
  ) {}

  /** The facts of these users (each asked once), by user; the decider filters them to its point. */
  private async factsOf(userIds: readonly string[]): Promise<Map<string, FactRow[]>> {
    const unique = [...new Set(userIds)];
    const facts = new Map<string, FactRow[]>();
    if (unique.length === 0) return facts;
    for (const f of await this.db.query<{ user_id: string; facts: FactRow[] }>(usersFactsSql, [unique])) facts.set(f.user_id, f.facts);
    return facts;
  }

  private async decider(newestPolicy: string | null, point: Point): Promise<Decider> {
    const { policies } = await this.policies.at(newestPolicy, point.revision, point.recordedBy);
    return new Decider(policies, point);
  }

  async single(chatId: string, request: PointRequest, now: number): Promise<DecisionView> {
    type Row = ChatRow & { facts: FactRow[] | null; policies_rev: string | null };
    const { rows, point } = await readAtPoint<Row>(this.db, this.settled, request, now, (cap) => ({ text: singleSql, params: [chatId, ...capParams(cap)] }));
    const row = rows[0];
    const decider = await this.decider(row.policies_rev, point);
    const decision = decider.decide(chatId, row.chat_id === null ? undefined : row, () => row.facts ?? undefined);
    return decisionView(decision, point);
  }

  /**
   * Any number of ids (duplicates too) answered at one point, in two statements: the chats as rows,
   * then their owners' facts (filtered to the point like every other read of them).
   */
  async batch(chatIds: readonly string[], request: PointRequest, now: number) {
    type Row = ChatRow & { policies_rev: string | null };
    const unique = [...new Set(chatIds)];
    const { rows, point } = await readAtPoint<Row>(this.db, this.settled, request, now, (cap) => ({ text: batchSql, params: [unique, ...capParams(cap)] }));
    const byId = new Map(rows.map((c) => [c.chat_id, c]));
    const facts = await this.factsOf(rows.map((c) => c.user_id));
    const decider = await this.decider(rows[0]?.policies_rev ?? null, point);
    const results = chatIds.map((id) => {
      const row = byId.get(id);
      return decisionView(decider.decide(id, row, () => (row ? facts.get(row.user_id) : undefined)), point);
    });
    return { asOf: new Date(point.at).toISOString(), revision: point.revision, results };
  }

  /**
   * Every chat eligible at the point, in chatId byte order, page by page. Each page is read with
   * the same revision cap, so pages read at different moments still describe one point.
   */
  async *eligibleChats(
    point: Point,
    options: { after: string; limit: number | null; pageSize?: number },
  ): AsyncGenerator<EligibleChat[], void, undefined> {
    const cap = capOf(point);
    const decider = await this.decider(null, point);
    const pageSize = options.pageSize ?? 5_000;
    const fetchPage = (after: string) => this.db.query<ChatRow>(pageSql, [after, ...capParams(cap), pageSize]);
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let next: Promise<ChatRow[]> | null = fetchPage(options.after);
    try {
      while (next !== null && remaining > 0) {
        const rows: ChatRow[] = await next;
        // The next page is read while this one is decided and written out.
        next = rows.length === pageSize ? fetchPage(rows[rows.length - 1].chat_id) : null;
        if (rows.length === 0) return;
        decider.trim(100_000);
        const facts = await this.factsOf(rows.map((r) => r.user_id).filter((u) => !decider.knows(u)));
        const page: EligibleChat[] = [];
        for (const row of rows) {
          if (remaining === 0) break;
          const d = decider.decide(row.chat_id, row, () => facts.get(row.user_id));
          if (d.eligible) {
            page.push({ chatId: d.chatId, userId: d.userId!, retentionUntil: iso(d.retentionUntil) });
            remaining--;
          }
        }
        if (page.length > 0) yield page;
      }
    } finally {
      // A reader that stopped early leaves a page in flight: let it finish quietly.
      next?.catch(() => {});
    }
  }

  /** The point a stream will be read at, for its response headers. */
  resolve(request: PointRequest, now: number): Promise<Point> {
    return resolvePoint(this.db, this.settled, request, now);
  }
}
