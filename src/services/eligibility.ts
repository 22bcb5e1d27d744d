import type { Database } from '../db/client.js';
import { CAP, capOf, readAtPoint, resolvePoint, type Point, type PointRequest, type ReadCap, type SettledRevisions } from '../db/point.js';
import { consentAt, decideEligibility, isoOrNull, isoTime, type ConsentState, type Decision, type Policy } from '../domain/index.js';
import { type PolicyCache, chatColumns, completeActivity, toChatFacts, userFactsAt, type ChatRow, type FactRow } from './facts.js';

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

/** `asOf` is the point's time, formatted once per response. */
function decisionView(d: Decision, asOf: string, revision: string): DecisionView {
  return {
    chatId: d.chatId,
    userId: d.userId,
    eligible: d.eligible,
    reason: d.reason,
    policyVersion: d.policyVersion,
    consentSince: isoOrNull(d.consentSince),
    retentionUntil: isoOrNull(d.retentionUntil),
    asOf,
    revision,
  };
}

/** Revision cap, recordedBy, evaluation time: parameters $2 to $4 of every statement here. */
const P = [CAP, '$3::timestamptz', '$4::timestamptz'] as const;

const singleSql = `SELECT ${chatColumns(...P)}, u.facts
  FROM chats c LEFT JOIN users u ON u.user_id = c.user_id WHERE c.chat_id = $1`;

const batchSql = `SELECT ${chatColumns(...P)} FROM chats c WHERE c.chat_id = ANY($1::text[])`;

const pageSql = `SELECT ${chatColumns(...P)} FROM chats c
  WHERE c.chat_id > $1 AND NOT c.incognito AND c.registered_revision <= ${P[0]} AND c.registered_at <= ${P[1]}
  ORDER BY c.chat_id LIMIT $5`;

const usersFactsSql = `SELECT u.user_id, u.facts FROM users u WHERE u.user_id = ANY($1::text[])`;

const capParams = (cap: ReadCap) => [cap.revision, cap.recordedBy, isoTime(cap.at)];

/** Decides chats at one point, folding each owner's consent once. */
class Decider {
  private readonly states = new Map<string, ConsentState>();
  constructor(
    private readonly policies: readonly Policy[],
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

  private async decider(point: Point): Promise<Decider> {
    const { policies } =
      this.policies.peek(point.newestPolicy, point.revision, point.recordedBy) ??
      (await this.policies.at(point.newestPolicy, point.revision, point.recordedBy));
    return new Decider(policies, point);
  }

  /** One chat: one statement (the chat and its owner's facts), and a second only when its latest activity is not on its row. */
  async single(chatId: string, request: PointRequest, now: number): Promise<DecisionView> {
    type Row = ChatRow & { facts: FactRow[] | null };
    let params: unknown[] = [];
    const { rows, point } = await readAtPoint<Row>(this.db, this.settled, request, now, (cap) => {
      params = capParams(cap);
      return { text: singleSql, params: [chatId, ...params] };
    });
    await completeActivity(this.db, rows, params);
    const row = rows[0] as Row | undefined;
    const decision = (await this.decider(point)).decide(chatId, row, () => row?.facts ?? undefined);
    return decisionView(decision, isoTime(point.at), point.revision);
  }

  /**
   * Any number of ids (duplicates too) answered at one point, in two statements: the chats as rows,
   * then their owners' facts (filtered to the point like every other read of them); a third reads
   * the latest activity of the chats whose rows cannot tell it at the point.
   */
  async batch(chatIds: readonly string[], request: PointRequest, now: number) {
    const unique = [...new Set(chatIds)];
    let params: unknown[] = [];
    const { rows, point } = await readAtPoint<ChatRow>(this.db, this.settled, request, now, (cap) => {
      params = capParams(cap);
      return { text: batchSql, params: [unique, ...params] };
    });
    const byId = new Map<string, ChatRow>();
    const owners = new Set<string>();
    for (const row of rows) {
      byId.set(row.chat_id, row);
      owners.add(row.user_id);
    }
    const [facts] = await Promise.all([this.factsOf([...owners]), completeActivity(this.db, rows, params)]);
    const decider = await this.decider(point);
    const asOf = isoTime(point.at);
    const results = chatIds.map((id) => {
      const row = byId.get(id);
      return decisionView(decider.decide(id, row, () => (row ? facts.get(row.user_id) : undefined)), asOf, point.revision);
    });
    return { asOf, revision: point.revision, results };
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
    const decider = await this.decider(point);
    const pageSize = options.pageSize ?? 5_000;
    const params = capParams(cap);
    const fetchPage = async (after: string) => {
      const rows = await this.db.query<ChatRow>(pageSql, [after, ...params, pageSize]);
      await completeActivity(this.db, rows, params);
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
        const facts = await this.factsOf(rows.map((r) => r.user_id).filter((u) => !decider.knows(u)));
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

  /** The point a stream will be read at, for its response headers. */
  resolve(request: PointRequest, now: number): Promise<Point> {
    return resolvePoint(this.db, this.settled, request, now);
  }
}
