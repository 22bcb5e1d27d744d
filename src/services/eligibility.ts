import type { Database } from '../db/client.js';
import { CoalescedReader } from '../db/coalesced.js';
import { ANY_TIME, CAP, capOf, readyPoint, resolvePoint, SETTLED_CAP, SETTLED_CAP_SETTING, type Point, type PointRequest, type SettledRevisions } from '../db/point.js';
import { ReadRouter, type ReadSource } from '../db/read-router.js';
import { decideEligibility, isoOrNull, isoTime, type ChatFacts, type Decision, type Policy } from '../domain/index.js';
import { DECISION_HEAD, decisionJson, LINE_END, NULL_BYTES, ownerLineSegment, ownerSegment, pointJson, pointTails, writeDecision } from './decision-json.js';
import { foldOwner, heldFold, type Owner } from './folded.js';
import { JsonBytes } from './json-bytes.js';
import { type PolicyCache, CHAT_COLUMNS, completeActivity, completeStreamActivity, pointChatColumns, pointChatFacts, streamChatColumns, streamChatFacts, toChatFacts, type ChatRow, type FactRow, type PointChatRow, type StreamChatRow } from './facts.js';

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

const batchSql = `SELECT ${CHAT_COLUMNS} FROM chats c WHERE c.chat_id = ANY($1::text[])`;

/** A batch's chats, read at its point ($2 revision cap, $3 recordedBy, $4 its time: `pointChatColumns`). */
const batchAtPointSql = `SELECT ${pointChatColumns} FROM chats c WHERE c.chat_id = ANY($1::text[])`;

/** Owners' facts, for the owners the users' facts cache does not hold. */
const ownersFactsSql = `SELECT u.user_id, u.facts FROM users u WHERE u.user_id = ANY($1::text[])`;

/**
 * A page of the chats a stream may send at a point: registered by it ($2 cap, $3 recordedBy) and
 * not deleted by it, so that a row need not carry its registration and deletion; the decision
 * still reads every rule. `incognito`: whether incognito chats are read (with the column telling
 * which they are). $5 is the point's time (`streamChatColumns`).
 */
const streamPageSql = (incognito: boolean) => `SELECT ${streamChatColumns(incognito)} FROM chats c
  WHERE c.chat_id > $1 ${incognito ? '' : 'AND NOT c.incognito'} AND c.registered_revision <= ${CAP} AND c.registered_at <= $3::timestamptz
    AND (c.deleted_revision IS NULL OR c.deleted_revision > ${CAP} OR c.deleted_at > $3::timestamptz)
  ORDER BY c.chat_id LIMIT $4`;

/** What a stream sends, and how its pages are read. */
interface StreamKind {
  /** A page ($1 after, $2 cap, $3 recordedBy, $4 rows, $5 time). */
  pageSql: string;
  /** The first page, sent right behind the settling of its point: the cap is the settled revision (`SETTLED_CAP`). */
  firstPageSql: string;
  keep: (d: Decision, at: number) => boolean;
}

const streamKind = (incognito: boolean, keep: StreamKind['keep']): StreamKind => ({
  pageSql: streamPageSql(incognito),
  firstPageSql: streamPageSql(incognito).replaceAll(CAP, SETTLED_CAP),
  keep,
});

/**
 * A stream's pages grow from a small first one, so that its first line leaves at once, to
 * `STREAM_PAGE_ROWS`, a size at which a page's statement costs little beside its rows.
 */
const STREAM_FIRST_PAGE_ROWS = 64;
export const STREAM_PAGE_ROWS = 5_000;

/** Owners a stream keeps folded: past this many, it forgets them and folds them again as they come. */
const STREAM_OWNERS_MAX = 100_000;

/** An NDJSON page of a stream, as UTF-8, and the number of lines in it. */
export interface StreamPage {
  bytes: Buffer;
  lines: number;
}

/** What a stream's line takes, about: a page's buffer starts this big per row (and grows when it must). */
const LINE_BYTES = 112;

/** Decides chats at one point, folding each owner's consent once. */
class Decider {
  private readonly owners = new Map<string, Owner>();
  readonly asOf: string;
  /** `,` and the point's JSON, as bytes: what each decision a batch writes ends with (`pointTails`). */
  private readonly tails: { last: Uint8Array; next: Uint8Array };
  constructor(
    private readonly policies: readonly Policy[],
    private readonly point: Point,
  ) {
    this.asOf = isoTime(point.at);
    this.tails = pointTails(pointJson(this.asOf, point.revision));
  }

  /**
   * The owner's consent at the point: the fold its facts hold (`heldFold`), which costs no lookup,
   * or else folded from them once for this decider.
   */
  private ownerOf(userId: string, facts: readonly FactRow[] | undefined): Owner {
    if (facts !== undefined) {
      const held = heldFold(facts, this.policies, this.point);
      if (held !== undefined) return held;
    }
    let owner = this.owners.get(userId);
    if (owner === undefined) {
      owner = foldOwner(userId, facts, this.policies, this.point);
      this.owners.set(userId, owner);
    }
    return owner;
  }

  /** The decision as answered: times formatted, the point attached. `chat`: the chat as known at the point, null when it is not. */
  view(chatId: string, chat: ChatFacts | null, facts: readonly FactRow[] | undefined): DecisionView {
    const owner = chat ? this.ownerOf(chat.userId, facts) : null;
    const d = decideEligibility(chatId, chat, owner === null ? null : owner.state, this.point.at);
    return {
      chatId: d.chatId,
      userId: d.userId,
      eligible: d.eligible,
      reason: d.reason,
      policyVersion: d.policyVersion,
      // decideEligibility passes the owner's consentSince on (or null): its formatted copy is reused.
      consentSince: d.consentSince === null ? null : owner!.since,
      retentionUntil: isoOrNull(d.retentionUntil),
      asOf: this.asOf,
      revision: this.point.revision,
    };
  }

  /**
   * Writes a stream's line for a chat it sends (`keep` says which), and tells whether it did; the
   * row is one of a stream's pages, registered and not deleted at the point. Written as bytes, with
   * what the owner's lines share encoded once (`ownerLineSegment`).
   */
  writeLine(out: JsonBytes, row: StreamChatRow, owner: Owner, keep: (d: Decision, at: number) => boolean): boolean {
    const d = decideEligibility(row.chat_id, streamChatFacts(row, this.point), owner.state, this.point.at);
    if (!keep(d, this.point.at)) return false;
    out.bytes(DECISION_HEAD);
    out.string(row.chat_id);
    out.bytes((owner.lineSegment ??= ownerLineSegment(owner.json)));
    if (d.retentionUntil === null) out.bytes(NULL_BYTES);
    else out.time(d.retentionUntil);
    out.bytes(LINE_END);
    return true;
  }

  /**
   * The decision written as JSON bytes (`decision-json.ts`), from the decision table's answer with
   * what the owner and the point repeat formatted once, after its head (the `DECISION_HEAD` the
   * caller wrote, or the previous decision's tail); the reason is counted in `reasons`. `last`:
   * no decision follows it.
   */
  write(out: JsonBytes, chatId: string, chat: ChatFacts | null, facts: readonly FactRow[] | undefined, reasons: Map<Decision['reason'], number>, last: boolean): void {
    const owner = chat ? this.ownerOf(chat.userId, facts) : null;
    const d = decideEligibility(chatId, chat, owner ? owner.state : null, this.point.at);
    reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
    const segment = owner === null ? NOT_FOUND_SEGMENT : segmentOf(owner, d);
    writeDecision(out, chatId, segment, d.retentionUntil, last ? this.tails.last : this.tails.next);
  }

  /** Bounded memory for the stream: forget folded users once there are many. */
  trim(max: number): void {
    if (this.owners.size > max) this.owners.clear();
  }

  /** The owner's consent at the point when it was folded already. */
  known(userId: string): Owner | undefined {
    return this.owners.get(userId);
  }

  /** The owner's consent at the point, from its facts, when it was not folded yet. */
  fold(userId: string, facts: readonly FactRow[] | undefined): Owner {
    const owner = this.ownerOf(userId, facts);
    // Kept for `known`: a stream meets an owner again in later pages.
    this.owners.set(userId, owner);
    return owner;
  }
}

/** What the decision of a chat not found at the point shares with every other. */
const NOT_FOUND_SEGMENT = ownerSegment('null', false, 'chat_not_found', 'null', 'null');

/**
 * The bytes the owner's decisions with this one's reason share, kept on the owner for its next
 * chat with that reason (an owner's policy version and consentSince are the same in all of them).
 */
function segmentOf(owner: Owner, d: Decision): Uint8Array {
  if (owner.segmentReason !== d.reason) {
    owner.segment = ownerSegment(
      owner.json,
      d.eligible,
      d.reason,
      d.policyVersion === null ? 'null' : owner.policyJson,
      d.consentSince === null ? 'null' : owner.sinceJson,
    );
    owner.segmentReason = d.reason;
  }
  return owner.segment!;
}

/** The eligible-chats stream: eligible chats. Incognito chats never are, and are not read. */
const ELIGIBLE_CHATS = streamKind(false, (d) => d.eligible);

/** The retention stream: chats kept for a time that has run out (deleted ones are filtered out before). */
const EXPIRED_CHATS = streamKind(true, (d, at) => d.retentionUntil !== null && d.retentionUntil <= at);

/** Where a stream reads: the database its point was fixed on, for every page (another may not have replayed it). */
export interface StreamPoint {
  point: Point;
  source: ReadSource;
  /** Its first page (`firstPageRows` of its options), when it was read with the point's settling. */
  first?: StreamChatRow[];
}

/** Decisions at one point, in request order. */
export interface DecisionViews {
  asOf: string;
  revision: string;
  results: DecisionView[];
}

/**
 * The same written as JSON bytes: the decisions as a JSON array's elements, in parts (in request
 * order, each its decisions separated by commas; `batchBytes` joins them), and how many of each reason.
 */
export interface DecisionsJson {
  asOf: string;
  revision: string;
  parts: Buffer[];
  reasons: ReadonlyMap<Decision['reason'], number>;
}

/** What a decision's JSON takes, about: the buffer of a part starts this big per chat (and grows when it must). */
const DECISION_BYTES = 320;

type DecisionBatch = DecisionViews | DecisionsJson;

/** A batch is read in parts of this many ids at most, on as many connections, and decided part by part as each arrives. */
export const BATCH_PART_IDS = 2_500;

export class EligibilityService {
  /** Single checks' chats, read by id, coalesced per database. */
  private readonly chatReaders = new WeakMap<ReadSource['db'], CoalescedReader<ChatRow>>();

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

  /**
   * Each row's owner's facts, in the order of `rows`: from the users' facts cache, and for the
   * owners it does not hold from one statement, which fills the cache (undefined for an owner with
   * no user row). One lookup a row, where a batch's owners are mostly each in one row.
   */
  private rowsFacts(src: ReadSource, rows: readonly { user_id: string }[]): (FactRow[] | undefined)[] | Promise<(FactRow[] | undefined)[]> {
    const cache = src.settled.users;
    const out: (FactRow[] | undefined)[] = new Array(rows.length);
    let missing: Set<string> | null = null;
    for (let i = 0; i < rows.length; i++) {
      const facts = cache.get(rows[i].user_id);
      out[i] = facts;
      if (facts === undefined) (missing ??= new Set()).add(rows[i].user_id);
    }
    if (missing === null) return out;
    const mark = cache.mark();
    return src.db.query<{ user_id: string; facts: FactRow[] }>(ownersFactsSql, [[...missing]]).then((found) => {
      const byUser = new Map<string, FactRow[]>();
      for (const f of found) {
        byUser.set(f.user_id, f.facts);
        cache.set(f.user_id, f.facts, mark);
      }
      for (let i = 0; i < rows.length; i++) out[i] ??= byUser.get(rows[i].user_id);
      return out;
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

  private chatReader(src: ReadSource): CoalescedReader<ChatRow> {
    let reader = this.chatReaders.get(src.db);
    if (reader === undefined) {
      reader = new CoalescedReader<ChatRow>(src.db, batchSql, (row) => row.chat_id);
      this.chatReaders.set(src.db, reader);
    }
    return reader;
  }

  /** Statements that read single checks' chats, and the chats they read: how much coalescing saves. */
  coalescing(): { statements: number; keys: number } {
    let statements = 0;
    let keys = 0;
    for (const src of this.reads.sources()) {
      const reader = this.chatReaders.get(src.db);
      if (reader !== undefined) {
        statements += reader.statements;
        keys += reader.keys;
      }
    }
    return { statements, keys };
  }

  private async singleOn(src: ReadSource, chatId: string, request: PointRequest, now: number): Promise<DecisionView> {
    // The point is fixed before the chat is read: the statement that reads it starts after it settled.
    const point = readyPoint(src.settled, request, now) ?? (await resolvePoint(src.db, src.settled, request, now));
    const row = await this.chatReader(src).get(chatId);
    const facts = new Map<string, FactRow[]>();
    if (row !== undefined) {
      const reading = this.ownersFacts(src, [row.user_id], facts);
      const activity = completeActivity(src.db, [row], point);
      if (reading !== undefined || activity !== undefined) await Promise.all([reading, activity]);
    }
    const decider = this.decider(src, point);
    return (decider instanceof Decider ? decider : await decider).view(chatId, row ? toChatFacts(row, point) : null, row ? facts.get(row.user_id) : undefined);
  }

  /**
   * Any number of ids (duplicates too) answered at one point. The point is fixed first; the chats
   * are then read in parts of `BATCH_PART_IDS`, each by its own statement on its own connection,
   * and each part is decided as it arrives: its owners' facts from the users' facts cache or one
   * statement, beside one that reads the latest activity of the chats whose rows cannot tell it
   * at the point. Every statement starts after the point's revision settled, so it sees every
   * fact up to it; what it sees beyond it is not counted.
   */
  batch(chatIds: readonly string[], request: PointRequest, now: number): Promise<DecisionViews> {
    return this.reads.run(request, (src) => this.batchOn(src, chatIds, request, now, 'views')) as Promise<DecisionViews>;
  }

  /** The same batch written as JSON: the decisions as a JSON array's elements, and how many of each reason. */
  batchJson(chatIds: readonly string[], request: PointRequest, now: number): Promise<DecisionsJson> {
    return this.reads.run(request, (src) => this.batchOn(src, chatIds, request, now, 'json')) as Promise<DecisionsJson>;
  }

  private async batchOn(src: ReadSource, chatIds: readonly string[], request: PointRequest, now: number, form: 'views' | 'json'): Promise<DecisionBatch> {
    const point = readyPoint(src.settled, request, now) ?? (await resolvePoint(src.db, src.settled, request, now));
    const unique = [...new Set(chatIds)];
    const deciding = this.decider(src, point);
    const parts = Math.ceil(unique.length / BATCH_PART_IDS);
    const size = Math.ceil(unique.length / parts);
    const cap = capOf(point);
    const at = isoTime(point.at);
    /** A part's chats by id, each with its owner's facts (in the order of `rows`), their latest activity at the point, and the decider. */
    const readPart = async (ids: string[]) => {
      const rows = await src.db.query<PointChatRow>(batchAtPointSql, [ids, cap.revision, cap.recordedBy, at]);
      const facts = this.rowsFacts(src, rows);
      const activity = completeStreamActivity(src.db, rows, point);
      const [owners] = await Promise.all([facts, activity]);
      const byId = new Map<string, number>();
      for (let i = 0; i < rows.length; i++) byId.set(rows[i].chat_id, i);
      return { rows, byId, owners, decider: deciding instanceof Decider ? deciding : await deciding };
    };
    const partsOf = <T>(decide: (ids: string[], read: Awaited<ReturnType<typeof readPart>>) => T): Promise<T[]> => {
      const reads: Promise<T>[] = [];
      for (let i = 0; i < unique.length; i += size) {
        const ids = unique.slice(i, i + size);
        reads.push(readPart(ids).then((read) => decide(ids, read)));
      }
      return Promise.all(reads);
    };
    if (form === 'json' && unique.length === chatIds.length) {
      // Without duplicates, the parts are the request's order: each part is written as JSON bytes
      // as soon as it is read, while PostgreSQL still reads the others, and no decision object or
      // string outlives its bytes.
      const reasons = new Map<Decision['reason'], number>();
      const parts = await partsOf((ids, { rows, byId, owners, decider }) => {
        const out = new JsonBytes(ids.length * DECISION_BYTES);
        out.bytes(DECISION_HEAD);
        const end = ids.length - 1;
        for (let i = 0; i <= end; i++) {
          const r = byId.get(ids[i]);
          if (r === undefined) decider.write(out, ids[i], null, undefined, reasons, i === end);
          else decider.write(out, ids[i], pointChatFacts(rows[r], point), owners[r], reasons, i === end);
        }
        return out.written();
      });
      const decider = deciding instanceof Decider ? deciding : await deciding;
      return { asOf: decider.asOf, revision: point.revision, parts, reasons };
    }
    if (form === 'views' && unique.length === chatIds.length) {
      // Without duplicates, the parts are the request's order: each part's decisions in its ids' order.
      const parts = await partsOf((ids, { rows, byId, owners, decider }) =>
        ids.map((id) => {
          const r = byId.get(id);
          return r === undefined ? decider.view(id, null, undefined) : decider.view(id, pointChatFacts(rows[r], point), owners[r]);
        }),
      );
      const decider = deciding instanceof Decider ? deciding : await deciding;
      return { asOf: decider.asOf, revision: point.revision, results: parts.length === 1 ? parts[0] : parts.flat() };
    }
    const decided = new Map<string, DecisionView>();
    await partsOf((_ids, { rows, owners, decider }) => {
      for (let i = 0; i < rows.length; i++) decided.set(rows[i].chat_id, decider.view(rows[i].chat_id, pointChatFacts(rows[i], point), owners[i]));
    });
    const decider = deciding instanceof Decider ? deciding : await deciding;
    const results = chatIds.map((id) => decided.get(id) ?? decider.view(id, null, undefined));
    if (form === 'views') return { asOf: decider.asOf, revision: point.revision, results };
    const reasons = new Map<Decision['reason'], number>();
    for (const r of results) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    return { asOf: decider.asOf, revision: point.revision, parts: [Buffer.from(results.map(decisionJson).join(','))], reasons };
  }

  /**
   * Every chat eligible at the point, in chatId byte order, as NDJSON pages. Each page is read
   * with the same revision cap, so pages read at different moments still describe one point.
   */
  eligibleChats(at: StreamPoint, options: StreamOptions): AsyncGenerator<StreamPage, void, undefined> {
    return this.stream(at, options, ELIGIBLE_CHATS);
  }

  /** The point the eligible-chats stream will be read at, for its response headers (`resolveStream`). */
  resolveEligibleChats(request: PointRequest, now: number, options: StreamOptions): Promise<StreamPoint> {
    return this.resolveStream(request, now, options, ELIGIBLE_CHATS);
  }

  /** The point the retention stream will be read at, for its response headers (`resolveStream`). */
  resolveExpiredChats(request: PointRequest, now: number, options: StreamOptions): Promise<StreamPoint> {
    return this.resolveStream(request, now, options, EXPIRED_CHATS);
  }

  /**
   * The point a stream will be read at and the database it will be read from. A stream "now"
   * that must settle a revision first reads its first page in the same round trip, right behind
   * the settling (`SettledRevisions.settleThen`): its first line waits for one answer, not two.
   */
  private resolveStream(request: PointRequest, now: number, options: StreamOptions, kind: StreamKind): Promise<StreamPoint> {
    return this.reads.run(request, async (source) => {
      if (request.kind === 'now' && request.minRevision === undefined && readyPoint(source.settled, request, now) === null) {
        const both = source.settled.settleThen<StreamChatRow>(kind.firstPageSql, [options.after, SETTLED_CAP_SETTING, ANY_TIME, firstPageRows(options), isoTime(now)]);
        if (both !== null) {
          const { settled, rows } = await both;
          return { point: { revision: settled.revision, at: now, recordedBy: null, newestPolicy: settled.newestPolicy }, source, first: rows };
        }
      }
      return { point: await resolvePoint(source.db, source.settled, request, now), source };
    });
  }

  /**
   * Every chat whose retention has run out at the point (not deleted, `retentionUntil` not null and
   * at or before it), in chatId byte order, as `eligibleChats` reads: what the chat store must purge.
   */
  expiredChats(at: StreamPoint, options: StreamOptions): AsyncGenerator<StreamPage, void, undefined> {
    return this.stream(at, options, EXPIRED_CHATS);
  }

  /**
   * The chats of `pageSql` that `keep` keeps, page by page: the next page is read while this one
   * is decided and written out, and memory stays bounded by a page and the owners kept folded.
   */
  private async *stream(
    { point, source: src, first }: StreamPoint,
    options: StreamOptions,
    { pageSql, keep }: StreamKind,
  ): AsyncGenerator<StreamPage, void, undefined> {
    const cap = capOf(point);
    const deciding = this.decider(src, point);
    const at = isoTime(point.at);
    const complete = async (page: StreamChatRow[]) => {
      await completeStreamActivity(src.db, page, point);
      return page;
    };
    const fetchPage = async (after: string, rows: number) => complete(await src.db.query<StreamChatRow>(pageSql, [after, cap.revision, cap.recordedBy, rows, at]));
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let size = firstPageRows(options);
    let next: Promise<StreamChatRow[]> | null = first !== undefined ? complete(first) : fetchPage(options.after, size);
    const owners: (Owner | undefined)[] = [];
    try {
      const decider = deciding instanceof Decider ? deciding : await deciding;
      while (next !== null && remaining > 0) {
        const rows: StreamChatRow[] = await next;
        const full = rows.length === size;
        size = Math.min(size * 8, options.pageSize ?? STREAM_PAGE_ROWS);
        // The next page is read while this one is decided and written out. postgres.js sends a
        // short statement from a setImmediate callback: past the first page (whose line should
        // leave at once), the statement is let go before this page is decided, not after.
        next = full ? fetchPage(rows[rows.length - 1].chat_id, size) : null;
        if (rows.length === 0) return;
        if (next !== null && rows.length > STREAM_FIRST_PAGE_ROWS) await statementsSent();
        decider.trim(STREAM_OWNERS_MAX);
        // Each row's owner, looked up once; those not folded yet are folded from their facts.
        owners.length = rows.length;
        let unknown: string[] | null = null;
        for (let i = 0; i < rows.length; i++) {
          const owner = decider.known(rows[i].user_id);
          owners[i] = owner;
          if (owner === undefined) (unknown ??= []).push(rows[i].user_id);
        }
        if (unknown !== null) {
          const facts = new Map<string, FactRow[]>();
          await this.ownersFacts(src, unknown, facts);
          for (let i = 0; i < rows.length; i++) owners[i] ??= decider.fold(rows[i].user_id, facts.get(rows[i].user_id));
        }
        const out = new JsonBytes(rows.length * LINE_BYTES);
        let lines = 0;
        for (let i = 0; i < rows.length && remaining > 0; i++) {
          if (decider.writeLine(out, rows[i], owners[i]!, keep)) {
            lines++;
            remaining--;
          }
        }
        owners.fill(undefined);
        if (lines > 0) yield { bytes: out.written(), lines };
      }
    } finally {
      // A reader that stopped early leaves a page in flight: let it finish quietly.
      next?.catch(() => {});
    }
  }
}

/**
 * Resolves once the statements queued before it have been written to their sockets: postgres.js
 * writes a short one from a setImmediate callback queued when it is sent, and an immediate queued
 * from an immediate runs after every one queued before.
 */
const statementsSent = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

/** The rows of a stream's first page. */
const firstPageRows = (options: StreamOptions) => Math.min(STREAM_FIRST_PAGE_ROWS, options.pageSize ?? STREAM_PAGE_ROWS);

/** Where a stream starts (after this chatId) and how many lines it sends at most (null: all). */
export interface StreamOptions {
  after: string;
  limit: number | null;
  pageSize?: number;
}
