import type { Database } from '../db/client.js';
import { CAP, capOf, readAtPoint, resolvePoint, type Point, type PointRequest, type SettledRevisions } from '../db/point.js';
import { ReadRouter, type ReadSource } from '../db/read-router.js';
import { consentAt, decideEligibility, isoOrNull, isoTime, type ConsentState, type Decision, type Policy } from '../domain/index.js';
import { type PolicyCache, CHAT_COLUMNS, completeActivity, toChatFacts, userFactsAt, type ChatRow, type FactRow } from './facts.js';

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

const singleSql = `SELECT ${CHAT_COLUMNS} FROM chats c WHERE c.chat_id = $1`;

const batchSql = `SELECT ${CHAT_COLUMNS} FROM chats c WHERE c.chat_id = ANY($1::text[])`;

/** Owners' facts, for the owners the users' facts cache does not hold. */
const ownersFactsSql = `SELECT u.user_id, u.facts FROM users u WHERE u.user_id = ANY($1::text[])`;

/** A page of the chats that may be eligible at a point: registered by it ($2 cap, $3 recordedBy), not incognito. */
const pageSql = `SELECT ${CHAT_COLUMNS} FROM chats c
  WHERE c.chat_id > $1 AND NOT c.incognito AND c.registered_revision <= ${CAP} AND c.registered_at <= $3::timestamptz
  ORDER BY c.chat_id LIMIT $4`;

/** A page of the chats registered at a point, incognito ones too: what retention covers. */
const retentionPageSql = `SELECT ${CHAT_COLUMNS} FROM chats c
  WHERE c.chat_id > $1 AND c.registered_revision <= ${CAP} AND c.registered_at <= $3::timestamptz
  ORDER BY c.chat_id LIMIT $4`;

/** An owner's consent at the point, with its `consentSince` formatted once for all of the owner's chats. */
interface Owner {
  state: ConsentState;
  since: string | null;
}

/** Decides chats at one point, folding each owner's consent once. */
class Decider {
  private readonly owners = new Map<string, Owner>();
  readonly asOf: string;
  constructor(
    private readonly policies: readonly Policy[],
    private readonly point: Point,
  ) {
    this.asOf = isoTime(point.at);
  }

  private ownerOf(userId: string, facts: () => FactRow[] | undefined): Owner {
    let owner = this.owners.get(userId);
    if (owner === undefined) {
      const state = consentAt(userFactsAt(facts() ?? [], this.point.revision, this.point.recordedBy), this.policies, this.point.at);
      owner = { state, since: isoOrNull(state.consentSince) };
      this.owners.set(userId, owner);
    }
    return owner;
  }

  decide(chatId: string, row: ChatRow | undefined, facts: () => FactRow[] | undefined): Decision {
    const chat = row ? toChatFacts(row, this.point) : null;
    const consent = chat ? this.ownerOf(chat.userId, facts).state : null;
    return decideEligibility(chatId, chat, consent, this.point.at);
  }

  /** The decision as answered: times formatted, the point attached. */
  view(chatId: string, row: ChatRow | undefined, facts: () => FactRow[] | undefined): DecisionView {
    const d = this.decide(chatId, row, facts);
    return {
      chatId: d.chatId,
      userId: d.userId,
      eligible: d.eligible,
      reason: d.reason,
      policyVersion: d.policyVersion,
      // decideEligibility passes the owner's consentSince on (or null): its formatted copy is reused.
      consentSince: d.consentSince === null ? null : this.owners.get(d.userId!)!.since,
      retentionUntil: isoOrNull(d.retentionUntil),
      asOf: this.asOf,
      revision: this.point.revision,
    };
  }

  /** Bounded memory for the stream: forget folded users once there are many. */
  trim(max: number): void {
    if (this.owners.size > max) this.owners.clear();
  }

  knows(userId: string): boolean {
    return this.owners.has(userId);
  }
}

export interface EligibleChat {
  chatId: string;
  userId: string;
  retentionUntil: string | null;
}

/** Where a stream reads: the database its point was fixed on, for every page (another may not have replayed it). */
export interface StreamPoint {
  point: Point;
  source: ReadSource;
}

export class EligibilityService {
  /** Reads go where `reads` sends them (a replica, or this primary); the service writes nothing. */
  constructor(
    db: Database,
    private readonly policies: PolicyCache,
    settled: SettledRevisions,
    private readonly reads: ReadRouter = new ReadRouter({ name: 'primary', db, settled }),
  ) {}

  /**
   * The facts of these owners, added to `into` by user: from the users' facts cache, and for the
   * owners it does not hold from one statement, which fills the cache. Complete for any point up
   * to the newest settled revision; the decider filters them to its point. A promise only when
   * there was something to read.
   */
  private ownersFacts(src: ReadSource, userIds: Iterable<string>, into: Map<string, FactRow[]>): Promise<void> | undefined {
    const cache = src.settled.users;
    const missing = new Set<string>();
    for (const u of userIds) {
      if (into.has(u) || missing.has(u)) continue;
      const cached = cache.get(u);
      if (cached !== undefined) into.set(u, cached);
      else missing.add(u);
    }
    if (missing.size === 0) return undefined;
    const mark = cache.mark();
    return src.db.query<{ user_id: string; facts: FactRow[] }>(ownersFactsSql, [[...missing]]).then((found) => {
      for (const f of found) {
        into.set(f.user_id, f.facts);
        cache.set(f.user_id, f.facts, mark);
      }
    });
  }

  private decider(src: ReadSource, point: Point): Decider | Promise<Decider> {
    const ready = this.policies.peek(point.newestPolicy, point.revision, point.recordedBy);
    if (ready !== null) return new Decider(ready.policies, point);
    return this.policies.at(point.newestPolicy, point.revision, point.recordedBy, src.db).then(({ policies }) => new Decider(policies, point));
  }

  /**
   * One chat: one statement, the chat's row. Its owner's facts come from the users' facts cache
   * or a second statement, beside a third only when its latest activity is not on its row.
   */
  single(chatId: string, request: PointRequest, now: number): Promise<DecisionView> {
    return this.reads.run(request, (src) => this.singleOn(src, chatId, request, now));
  }

  private async singleOn(src: ReadSource, chatId: string, request: PointRequest, now: number): Promise<DecisionView> {
    const { rows, point } = await readAtPoint<ChatRow>(src.db, src.settled, request, now, () => ({ text: singleSql, params: [chatId] }));
    const row = rows[0] as ChatRow | undefined;
    const facts = new Map<string, FactRow[]>();
    if (row !== undefined) {
      const reading = this.ownersFacts(src, [row.user_id], facts);
      const activity = completeActivity(src.db, rows, point);
      if (reading !== undefined || activity !== undefined) await Promise.all([reading, activity]);
    }
    return (await this.decider(src, point)).view(chatId, row, () => (row ? facts.get(row.user_id) : undefined));
  }

  /**
   * Any number of ids (duplicates too) answered at one point: one statement reads the chats; the
   * facts of owners the users' facts cache does not hold are read in a second one, beside a third
   * that reads the latest activity of the chats whose rows cannot tell it at the point. Both
   * later statements start after the point's revision settled, so they see every fact up to it;
   * what they see beyond it is not counted.
   */
  batch(chatIds: readonly string[], request: PointRequest, now: number) {
    return this.reads.run(request, (src) => this.batchOn(src, chatIds, request, now));
  }

  private async batchOn(src: ReadSource, chatIds: readonly string[], request: PointRequest, now: number) {
    const unique = [...new Set(chatIds)];
    const { rows, point } = await readAtPoint<ChatRow>(src.db, src.settled, request, now, () => ({ text: batchSql, params: [unique] }));
    const byId = new Map<string, ChatRow>();
    for (const row of rows) byId.set(row.chat_id, row);
    const facts = new Map<string, FactRow[]>();
    await Promise.all([this.ownersFacts(src, rows.map((r) => r.user_id), facts), completeActivity(src.db, rows, point)]);
    const decider = await this.decider(src, point);
    const results = chatIds.map((id) => {
      const row = byId.get(id);
      return decider.view(id, row, () => (row ? facts.get(row.user_id) : undefined));
    });
    return { asOf: decider.asOf, revision: point.revision, results };
  }

  /**
   * Every chat eligible at the point, in chatId byte order, page by page. Each page is read with
   * the same revision cap, so pages read at different moments still describe one point.
   */
  async *eligibleChats(
    { point, source: src }: StreamPoint,
    options: { after: string; limit: number | null; pageSize?: number },
  ): AsyncGenerator<EligibleChat[], void, undefined> {
    const cap = capOf(point);
    const decider = await this.decider(src, point);
    const pageSize = options.pageSize ?? 5_000;
    const fetchPage = async (after: string) => {
      const rows = await src.db.query<ChatRow>(pageSql, [after, cap.revision, cap.recordedBy, pageSize]);
      await completeActivity(src.db, rows, point);
      return rows;
    };
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let next: Promise<ChatRow[]> | null = fetchPage(options.after);
    try {
      while (next !== null && remaining > 0) {
        const rows: ChatRow[] = await next;
        // The next page is read while this one is decided and written out.
        next = rows.length === pageSize ? fetchPage(rows[rows.length - 1].chat_id) : null;
        if (rows.length === 0) return;
        decider.trim(100_000);
        const facts = new Map<string, FactRow[]>();
        await this.ownersFacts(
          src,
          rows.map((r) => r.user_id).filter((u) => !decider.knows(u)),
          facts,
        );
        const page: EligibleChat[] = [];
        for (const row of rows) {
          if (remaining === 0) break;
          const d = decider.decide(row.chat_id, row, () => facts.get(row.user_id));
          if (d.eligible) {
            page.push({ chatId: d.chatId, userId: d.userId!, retentionUntil: isoOrNull(d.retentionUntil) });
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

  /** The point a stream will be read at, for its response headers, and the database it will be read from. */
  resolve(request: PointRequest, now: number): Promise<StreamPoint> {
    return this.reads.run(request, async (source) => ({ point: await resolvePoint(source.db, source.settled, request, now), source }));
  }

  /**
   * Every chat whose retention has run out at the point (not deleted, `retentionUntil` not null and
   * at or before it), in chatId byte order, page by page, as `eligibleChats` reads: what the chat
   * store must purge.
   */
  async *expiredChats(
    { point, source: src }: StreamPoint,
    options: { after: string; limit: number | null; pageSize?: number },
  ): AsyncGenerator<EligibleChat[], void, undefined> {
    const cap = capOf(point);
    const decider = await this.decider(src, point);
    const pageSize = options.pageSize ?? 5_000;
    const fetchPage = async (after: string) => {
      const rows = await src.db.query<ChatRow>(retentionPageSql, [after, cap.revision, cap.recordedBy, pageSize]);
      await completeActivity(src.db, rows, point);
      return rows;
    };
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let next: Promise<ChatRow[]> | null = fetchPage(options.after);
    try {
      while (next !== null && remaining > 0) {
        const rows: ChatRow[] = await next;
        next = rows.length === pageSize ? fetchPage(rows[rows.length - 1].chat_id) : null;
        if (rows.length === 0) return;
        decider.trim(100_000);
        const facts = new Map<string, FactRow[]>();
        await this.ownersFacts(
          src,
          rows.map((r) => r.user_id).filter((u) => !decider.knows(u)),
          facts,
        );
        const page: EligibleChat[] = [];
        for (const row of rows) {
          if (remaining === 0) break;
          const d = decider.decide(row.chat_id, row, () => facts.get(row.user_id));
          if (d.reason !== 'chat_deleted' && d.retentionUntil !== null && d.retentionUntil <= point.at) {
            page.push({ chatId: d.chatId, userId: d.userId!, retentionUntil: isoTime(d.retentionUntil) });
            remaining--;
          }
        }
        if (page.length > 0) yield page;
      }
    } finally {
      next?.catch(() => {});
    }
  }
}
