import { badRequest, unavailable } from '../errors.js';
import type { Database, Queryable } from './client.js';
import { UserFactsCache } from './user-facts.js';

/**
 * The point a read is evaluated at. Facts count when their revision is <= `revision` and, for an
 * `asOf` read, when they were recorded at or before `recordedBy`. `at` is the time the rules are
 * applied at (deadlines, retention, plan and policy in effect).
 */
export interface Point {
  revision: string;
  at: number;
  recordedBy: number | null;
  /** The newest policy revision known when the point was fixed (at or beyond `revision`): keeps policy caches current. */
  newestPolicy: string | null;
}

/**
 * `where` names the part of the request the point came from, for error paths (default `query`).
 * `minRevision` asks for a "now" read at that revision or a later one (docs/decisions/0041).
 */
export type PointRequest =
  | { kind: 'now'; minRevision?: string; where?: string }
  | { kind: 'asOf'; at: number; where?: string }
  | { kind: 'atRevision'; revision: string; where?: string };

/**
 * What a point read's SQL is given. A statement that caps in SQL takes the revision cap as parameter
 * `$2` (`CAP`); one that reads rows as stored, with their facts' revisions, leaves the cap to the
 * code that filters them (`toChatFacts`, `userFactsAt`).
 */
export interface ReadCap {
  revision: string;
  at: number;
  /** ISO time facts must be recorded at or before (ANY_TIME when any). */
  recordedBy: string;
}

/** A read now, with no minRevision: what reads that are not at a point ask for. */
export const NOW: PointRequest = Object.freeze({ kind: 'now' });

/** The revision cap in a point read's SQL. */
export const CAP = '$2::bigint';

export const NO_REVISION_CAP = '9223372036854775807';
/** Stands for "recorded at any time" (drivers do not all pass 'infinity' through). */
export const ANY_TIME = '9999-12-31T23:59:59.999Z';
export const SETTLE_WAIT_MS = 5_000;
/** A settled revision is reused for this long by reads that need nothing newer. */
const SETTLED_FRESH_MS = 5;
/** From this age on, a read that reuses a settled revision also starts settling the next one, without waiting for it. */
const SETTLED_RENEW_MS = 2;

/**
 * A replica has not yet replayed the revision a read needs (its `minRevision` or `atRevision`, or a
 * feed's cursor): the read is sent to another database instead (`ReadRouter`).
 */
export class RevisionNotReached extends Error {
  constructor(
    readonly needed: string,
    readonly reached: string,
  ) {
    super(`revision ${needed} has not been replayed here yet (only ${reached})`);
    this.name = 'RevisionNotReached';
  }
}

/** A "now" read's minRevision, or an atRevision read's revision: what a database must have reached to answer it. */
export function revisionNeeded(request: PointRequest): string | null {
  if (request.kind === 'atRevision') return request.revision;
  if (request.kind === 'now' && request.minRevision !== undefined) return request.minRevision;
  return null;
}

function settleFailed(err: unknown): never {
  if ((err as { code?: string }).code === '55P03') throw unavailable('recent writes have not settled yet; retry');
  throw err;
}

/** A settled revision, and the newest policy revision once it had settled. */
export interface Settled {
  revision: string;
  newestPolicy: string | null;
}

/** Bounds the users a settling names as changed: beyond it, the users' facts cache forgets every user. */
const MAX_CHANGED_USERS = 10_000;

/** How a database's settled revision is found: settled on the primary, read as published on a replica. */
export type Settler = (db: Queryable, known: string) => Promise<Settled & { changedUsers: string[] | null }>;

/**
 * The newest revision taken, once every revision up to it has committed or been abandoned, the
 * newest policy revision read after that (every policy up to the revision is counted in it), and
 * the users with facts at revisions in (`known`, settled] (null for "any": `known` is -1, or too
 * many). `known` is a revision known to have settled (-1 for none): while no later one has been
 * taken, settling costs a sequence read instead of a look at every lock.
 */
export async function settledRevision(db: Queryable, known = '-1'): Promise<Settled & { changedUsers: string[] | null }> {
  const rows = await db.query<SettledRow>(SETTLE_SQL, [SETTLE_WAIT_MS, known, MAX_CHANGED_USERS]).catch(settleFailed);
  return settledOf(rows);
}

type SettledRow = { settled: string; newest_policy: string | null; changed_users: string[] | null };

const settleSql = (also = '') => `SELECT settled::text, newest_policy::text, changed_users${also} FROM consent_settled_changes($1, $2, $3)`;

const SETTLE_SQL = settleSql();

/** The setting a statement that follows a settling in its transaction reads its revision cap from (`SettledRevisions.settleThen`). */
export const SETTLED_CAP_SETTING = 'consent.settled_cap';

/** Settles as `SETTLE_SQL`, and keeps the revision for the rest of the transaction as `SETTLED_CAP_SETTING`. */
const SETTLE_AND_KEEP_SQL = settleSql(`, set_config('${SETTLED_CAP_SETTING}', settled::text, true) AS kept`);

/** `CAP` in a statement sent right behind a settling (`SettledRevisions.settleThen`): the settled revision, as kept under the setting named by $2. */
export const SETTLED_CAP = 'current_setting($2::text)::bigint';

function settledOf(rows: SettledRow[]): Settled & { changedUsers: string[] | null } {
  return { revision: String(rows[0].settled), newestPolicy: rows[0].newest_policy, changedUsers: rows[0].changed_users };
}

/**
 * A replica's settled revision: the one the primary published last, as replayed here (migration
 * 0015), with the same newest policy revision and changed users as `settledRevision`. A replica
 * never settles a revision of its own: it cannot see the primary's writers.
 */
export async function replicatedRevision(db: Queryable, known = '-1'): Promise<Settled & { changedUsers: string[] | null }> {
  const rows = await db.query<{ settled: string; newest_policy: string | null; changed_users: string[] | null }>(
    'SELECT settled::text, newest_policy::text, changed_users FROM consent_replicated_changes($1, $2)',
    [known, MAX_CHANGED_USERS],
  );
  return { revision: String(rows[0].settled), newestPolicy: rows[0].newest_policy, changedUsers: rows[0].changed_users };
}

/**
 * Settled revisions, shared by the reads of one process. Settling looks at every lock in the
 * server, so concurrent reads share one settling, and a result stays usable for a few
 * milliseconds. A read never gets a revision older than a write this process has committed, so a
 * client reads its own writes; once settled, a revision stays settled, so reusing one is safe.
 */
export class SettledRevisions {
  private value = -1n;
  /** What reads are handed: built once per settling, not on every read. */
  private settled: Settled = { revision: '-1', newestPolicy: null };
  private at = 0;
  private committed = 0n;
  private pending: Promise<bigint> | null = null;

  /**
   * `users` keeps users' facts for the reads capped at these revisions: each settling tells it
   * which users' facts changed before the revision is handed out. A replica's revisions are the
   * ones the primary published (`replicatedRevision`): they are not `authoritative`, since a
   * revision beyond them may exist all the same.
   */
  constructor(
    private readonly db: Queryable,
    public users = new UserFactsCache(),
    private readonly options: { settle?: Settler; authoritative?: boolean } = {},
  ) {
    this.authoritative = options.authoritative ?? true;
  }

  /** Whether a revision beyond the newest settled one does not exist yet (the primary), or may only not have been replayed (a replica). */
  readonly authoritative: boolean;

  /** Told the revision of each audited write this process commits (live subscriptions wake on it). */
  onAudited: ((revision: string) => void) | null = null;

  /** A write of this process committed at `revision`: later reads must include it. */
  noteCommitted(revision: string): void {
    const r = BigInt(revision);
    if (r > this.committed) this.committed = r;
  }

  /** The newest revision settled so far and when it was settled (epoch ms); null before the first settling. */
  known(): { revision: bigint; at: number } | null {
    return this.value < 0n ? null : { revision: this.value, at: this.at };
  }

  /** A settled revision that may be reused now, without waiting; null when one must be settled. */
  peek(): Settled | null {
    const age = Date.now() - this.at;
    if (this.value < this.committed || age > SETTLED_FRESH_MS) return null;
    // Under steady reads the next revision is settled before this one is too old to reuse, so
    // reads do not queue behind a settling. Its failure is for a read that waits on it to see.
    if (age >= SETTLED_RENEW_MS && this.pending === null) this.settle().catch(() => {});
    return this.current();
  }

  /**
   * A settled revision, with the newest policy revision known once it had settled (or later:
   * policies are only added, so a newer one counts every policy the older one did). `fresh` asks
   * for one settled after this call began.
   */
  async get(fresh = false): Promise<Settled> {
    const need = this.committed;
    const ready = fresh ? null : this.peek();
    if (ready !== null) return ready;
    for (;;) {
      // A settling that began before this call may predate a write it must include: wait for one
      // that began after.
      const started = Date.now();
      const value = await this.settle();
      if (value >= need && (!fresh || this.at >= started)) return this.current();
    }
  }

  /** The settling in flight, or a new one. */
  private settle(): Promise<bigint> {
    const started = Date.now();
    this.pending ??= (this.options.settle ?? settledRevision)(this.db, this.value.toString())
      .then((r) => {
        if (BigInt(r.revision) < this.value) this.wentBack();
        return this.absorb(r, started);
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  /** What a settling that began at `started` found: kept, and its users' changes heard of, before its revision is handed out. */
  private absorb(r: Settled & { changedUsers: string[] | null }, started: number): bigint {
    const value = BigInt(r.revision);
    // Before the revision is handed out: a read at it must not find a user's facts from before a change up to it.
    this.users.changed(value > this.value ? value : this.value, r.changedUsers);
    let { newestPolicy } = this.settled;
    if (r.newestPolicy !== null && (newestPolicy === null || BigInt(r.newestPolicy) > BigInt(newestPolicy))) newestPolicy = r.newestPolicy;
    if (value > this.value) this.value = value;
    this.settled = { revision: this.value.toString(), newestPolicy };
    if (started > this.at) this.at = started;
    return value;
  }

  /**
   * Settles a revision and reads at it in the same round trip: the settling keeps its revision for
   * the rest of a transaction (`SETTLED_CAP_SETTING`), and the statement sent right behind it in
   * that transaction caps its read with it (`SETTLED_CAP` in place of `CAP`, $2 being the setting's
   * name). A statement's snapshot is taken when it starts, after the settling ended: it holds every
   * fact up to the revision, as a read that waited for the settling would. What the settling
   * found is kept as any settling's is, before the rows are handed out.
   *
   * Only on a database that settles revisions itself (the primary); elsewhere null, and the read
   * goes the usual way. Used where a read's first answer waits on both (a stream's first page);
   * the answer is the settled revision (with the newest policy revision known) and the rows.
   */
  settleThen<T>(text: string, params: readonly unknown[]): Promise<{ settled: Settled; rows: T[] }> | null {
    const db = this.db as Partial<Database>;
    if (this.options.settle !== undefined || !this.authoritative || typeof db.transaction !== 'function') return null;
    const started = Date.now();
    const known = this.value.toString();
    return new Promise((resolve, reject) => {
      db.transaction!(async (tx) => {
        const settling = tx.query<SettledRow>(SETTLE_AND_KEEP_SQL, [SETTLE_WAIT_MS, known, MAX_CHANGED_USERS]);
        const reading = tx.query<T>(text, params);
        // After a failed settling the read fails too (the transaction is aborted): the settling's error is the one told.
        reading.catch(() => {});
        const found = settledOf(await settling.catch(settleFailed));
        const rows = await reading;
        // A settling that ran beside this one may have handed out a newer revision already: this
        // one is older, not a database gone back. The rows are capped at this one.
        this.absorb(found, started);
        resolve({ settled: { revision: found.revision, newestPolicy: this.settled.newestPolicy }, rows });
        // The COMMIT of a read is not waited for.
      }).catch(reject);
    });
  }

  private current(): Settled {
    return this.settled;
  }

  /**
   * A replica answered with a revision older than one it answered before: another database now
   * answers at its address (restored, or rebuilt from an older backup). What was known of the old
   * one is forgotten: its users' facts, and the revision reads were capped at.
   */
  private wentBack(): void {
    this.users = new UserFactsCache(this.users.max);
    this.value = -1n;
    this.settled = { revision: '-1', newestPolicy: null };
  }
}

/** The SQL parameters of a point. */
export function capOf(point: Point): ReadCap {
  return {
    revision: point.revision,
    at: point.at,
    recordedBy: point.recordedBy === null ? ANY_TIME : new Date(point.recordedBy).toISOString(),
  };
}

/**
 * Reads at a point (docs/decisions/0001). For "now" and `asOf`, the read is capped at a settled
 * revision: every writer that could still commit a revision up to it had ended before the read's
 * statement began, so its snapshot holds every fact up to that revision. `atRevision` checks that
 * the revision exists and has settled, and finds its time first.
 */
export async function readAtPoint<T>(
  db: Queryable,
  settled: SettledRevisions,
  request: PointRequest,
  now: number,
  query: (cap: ReadCap) => { text: string; params: unknown[] },
): Promise<{ rows: T[]; point: Point }> {
  const point = readyPoint(settled, request, now) ?? (await resolvePoint(db, settled, request, now));
  const { text, params } = query(capOf(point));
  return { rows: await db.query<T>(text, params), point };
}

/**
 * Waits until `revision` has settled and returns the time the rules apply at for it: the latest
 * recording time among the facts up to it, so that the same revision always gives the same answer.
 */
export async function settleRevision(
  db: Queryable,
  settled: SettledRevisions,
  revision: string,
  where = 'query',
): Promise<{ revision: string; at: number; newestPolicy: string | null }> {
  let newest = await settled.get();
  if (BigInt(revision) > BigInt(newest.revision)) newest = await settled.get(true);
  if (BigInt(revision) > BigInt(newest.revision)) {
    if (!settled.authoritative) throw new RevisionNotReached(revision, newest.revision);
    throw badRequest(`atRevision ${revision} is beyond the newest revision ${newest.revision}`, [
      { path: `${where}.atRevision`, message: `must be at most ${newest.revision}` },
    ]);
  }
  const rows = await db.query<{ at: number | null }>(
    `SELECT (extract(epoch FROM greatest(
       (SELECT occurred_at FROM audit_events WHERE revision <= $1 ORDER BY revision DESC LIMIT 1),
       (SELECT recorded_at FROM chat_activity WHERE revision <= $1 ORDER BY revision DESC LIMIT 1))) * 1000)::float8 AS at`,
    [revision],
  );
  return { revision, at: rows[0].at ?? 0, newestPolicy: newest.newestPolicy };
}

/** Parses the `asOf` / `atRevision` / `minRevision` parameters of a read. */
export function pointRequest(query: { asOf?: string; atRevision?: string; minRevision?: string }, where = 'query'): PointRequest {
  if (query.minRevision !== undefined) {
    if (query.asOf !== undefined || query.atRevision !== undefined) {
      throw badRequest('minRevision asks for a read now: it cannot be used with asOf or atRevision', [
        { path: `${where}.minRevision`, message: 'use either minRevision, or asOf or atRevision' },
      ]);
    }
    return { kind: 'now', minRevision: BigInt(query.minRevision).toString(), where };
  }
  if (query.asOf !== undefined && query.atRevision !== undefined) {
    throw badRequest('asOf and atRevision cannot be used together', [
      { path: `${where}.asOf`, message: 'use either asOf or atRevision' },
    ]);
  }
  if (query.asOf !== undefined) return { kind: 'asOf', at: Date.parse(query.asOf), where };
  if (query.atRevision !== undefined) return { kind: 'atRevision', revision: BigInt(query.atRevision).toString(), where };
  return { kind: 'now' };
}

function notInFuture(request: { at: number; where?: string }, now: number): void {
  if (request.at > now) {
    throw badRequest('asOf is in the future', [{ path: `${request.where ?? 'query'}.asOf`, message: 'must not be in the future' }]);
  }
}

/** The point of a "now" or `asOf` read, when a settled revision can be reused without waiting. */
export function readyPoint(settled: SettledRevisions, request: PointRequest, now: number): Point | null {
  if (request.kind === 'atRevision') return null;
  const ready = settled.peek();
  if (ready === null) return null;
  if (request.kind === 'now') {
    if (request.minRevision !== undefined && BigInt(ready.revision) < BigInt(request.minRevision)) return null;
    return { revision: ready.revision, at: now, recordedBy: null, newestPolicy: ready.newestPolicy };
  }
  notInFuture(request, now);
  return { revision: ready.revision, at: request.at, recordedBy: request.at, newestPolicy: ready.newestPolicy };
}

/** The point a read is evaluated at, fixed before it reads. */
export async function resolvePoint(db: Queryable, settled: SettledRevisions, request: PointRequest, now: number): Promise<Point> {
  const ready = readyPoint(settled, request, now);
  if (ready !== null) return ready;
  if (request.kind === 'atRevision') {
    const { revision, at, newestPolicy } = await settleRevision(db, settled, request.revision, request.where);
    return { revision, at, recordedBy: null, newestPolicy };
  }
  if (request.kind === 'asOf') notInFuture(request, now);
  const { revision, newestPolicy } =
    request.kind === 'now' && request.minRevision !== undefined ? await reachRevision(settled, request.minRevision, request.where) : await settled.get();
  return request.kind === 'asOf'
    ? { revision, at: request.at, recordedBy: request.at, newestPolicy }
    : { revision, at: now, recordedBy: null, newestPolicy };
}

/**
 * A settled revision at `minRevision` or beyond, settling a new one when the newest known is older.
 * On the primary, a revision a write returned has been taken before any settling that begins
 * after it, so one that is still beyond was never returned: 400, as for atRevision. A replica
 * that has not replayed it says so (`RevisionNotReached`), and the read goes elsewhere.
 */
export async function reachRevision(settled: SettledRevisions, minRevision: string, where = 'query'): Promise<Settled> {
  const needed = BigInt(minRevision);
  let newest = await settled.get();
  if (BigInt(newest.revision) >= needed) return newest;
  newest = await settled.get(true);
  if (BigInt(newest.revision) >= needed) return newest;
  if (!settled.authoritative) throw new RevisionNotReached(minRevision, newest.revision);
  throw badRequest(`minRevision ${minRevision} is beyond the newest revision ${newest.revision}`, [
    { path: `${where}.minRevision`, message: `must be at most ${newest.revision}` },
  ]);
}
