import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { PGlite } from '@electric-sql/pglite';
import { acquireDirectoryLock } from './directory-lock.js';

export type Row = Record<string, unknown>;

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/** An open transaction. */
export interface Transaction extends Queryable {
  /**
   * A statement whose rows are not needed: it is sent with the transaction's next statement, or
   * with its COMMIT, in the same round trip. Should it fail, the transaction fails with its error
   * and nothing of it is committed.
   */
  defer(text: string, params?: readonly unknown[]): void;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** The embedded instance itself, for its migrator. */
  readonly pglite?: PGlite;
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** What the connection pool is doing (PostgreSQL only). */
  stats?(): PoolStats;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize: number; limits?: Partial<PostgresLimits> }
  | { kind: 'pglite'; dataDir: string | null };

/** How long the PostgreSQL client waits for anything: every wait it has is bounded by one of these. */
export interface PostgresLimits {
  /** A statement's longest run on the server (`statement_timeout`); the client gives up on it a second later. */
  statementTimeoutMs: number;
  /** Connecting, including authentication. */
  connectTimeoutMs: number;
  /** A transaction waiting for a connection no other transaction holds. */
  acquireTimeoutMs: number;
}

export const DEFAULT_POSTGRES_LIMITS: PostgresLimits = { statementTimeoutMs: 10_000, connectTimeoutMs: 1_000, acquireTimeoutMs: 1_000 };

/** What the pool is doing, for /metrics. */
export interface PoolStats {
  connections: number;
  /** Connections with a statement in flight or held by a transaction. */
  busy: number;
  /** Transactions waiting for a connection. */
  waiting: number;
  /** Statements in flight or queued on the connections, and transactions waiting: what load shedding watches. */
  queued: number;
  /** Seconds transactions have spent waiting for a connection, since start. */
  waitedSeconds: number;
  /** Connections given up on (a statement past its deadline) and replaced, since start. */
  replaced: number;
}

/** The client stopped waiting for the database: mapped to 503 UNAVAILABLE like a lost connection. */
export class DatabaseTimeout extends Error {
  readonly code = 'DATABASE_TIMEOUT';
  constructor(what: string) {
    super(what);
    this.name = 'DatabaseTimeout';
  }
}

/** The database could not be reached a moment ago and is being probed: refused without trying (503). */
export class DatabaseDown extends Error {
  readonly code = 'DATABASE_DOWN';
  constructor() {
    super('the database could not be reached a moment ago; retry shortly');
    this.name = 'DatabaseDown';
  }
}

/** Failures to open a connection: the server is not there, or not taking connections. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'CONNECT_TIMEOUT', '57P03',
  // No host of a multi-host URL accepted writes (target_session_attrs=read-write): a failover under way.
  'TARGET_SESSION_ATTRS',
]);
const isConnectFailure = (err: unknown) => CONNECT_FAILURES.has((err as { code?: string } | null)?.code ?? '');
/** Losses of an open connection: one alone may be a single backend ended; several at once, the server going away. */
const CONNECTION_LOSSES = new Set(['CONNECTION_CLOSED', 'ECONNRESET', 'EPIPE', '57P01', '57P02']);
const isConnectionLoss = (err: unknown) => CONNECTION_LOSSES.has((err as { code?: string } | null)?.code ?? '');
/** Connections of two lanes lost within this long: the server is taken to be going away. */
const LOSSES_WINDOW_MS = 500;

/** While the database is down, one request at most this often is let through to see whether it is back. */
const PROBE_EVERY_MS = 100;

/** A postgres.js client of one connection, and what is asked of it now. */
interface Lane {
  sql: postgres.Sql;
  /** Statements sent and not yet answered. */
  inFlight: number;
  /** When each statement in flight was sent, oldest first (a connection answers in order). */
  sentAt: number[];
  /** What each of them is (its SQL's start, or "transaction"), for the log when one is given up on. */
  sentWhat: (string | (() => string))[];
  /** Held by a transaction: other statements go elsewhere while a lane is free. */
  held: boolean;
}

/**
 * postgres.js, as `poolSize` clients of one connection each ("lanes"), every statement prepared
 * (named statements cached per connection). A statement goes to the lane with the fewest
 * statements in flight, pipelined behind them; a transaction takes the least busy lane not held by
 * another, or waits, first come first served, for the first one a transaction lets go of.
 * postgres.js's own pool would send a statement to the next busy connection in turn, behind
 * whatever it is running, and its queues cost more the longer it stays busy (`Queue.remove` scans
 * every slot used since the queue was last empty); with one connection per client they never grow.
 *
 * Every wait is bounded (`PostgresLimits`): the server ends a statement after `statement_timeout`
 * and an idle transaction after as long; a transaction waits at most `acquireTimeoutMs` for a
 * connection; and a lane whose oldest statement is a second past the statement timeout is given
 * up on, its statements rejected and its client replaced, whatever happened to its connection.
 */
export function connectPostgres(
  url: string,
  poolSize: number,
  limits: Partial<PostgresLimits> = {},
  /** Told when a connection is given up on: for the log. */
  onGiveUp?: (what: string) => void,
): Database {
  const { statementTimeoutMs, connectTimeoutMs, acquireTimeoutMs } = { ...DEFAULT_POSTGRES_LIMITS, ...limits };
  const deadlineMs = statementTimeoutMs + 1_000;
  const lanes: Lane[] = Array.from({ length: Math.max(1, poolSize) }, () => ({
    sql: client(url, statementTimeoutMs, connectTimeoutMs),
    inFlight: 0,
    sentAt: [],
    sentWhat: [],
    held: false,
  }));
  let replaced = 0;
  let waitedMs = 0;
  /**
   * Set while the database cannot be reached (a connection could not be opened): requests are
   * refused at once instead of queueing behind reconnection attempts, except one probe at a time,
   * every PROBE_EVERY_MS; the first statement that succeeds clears it.
   */
  let down: { probing: boolean; lastProbe: number } | null = null;
  const replace = (lane: Lane) => {
    const old = lane.sql;
    lane.sql = client(url, statementTimeoutMs, connectTimeoutMs);
    lane.inFlight = 0;
    lane.sentAt = [];
    lane.sentWhat = [];
    replaced++;
    // Rejects everything still waiting on the old connection (CONNECTION_DESTROYED).
    void old.end({ timeout: 0 }).catch(() => {});
  };
  /** Whether a request may go to the database now; a request let through while it is down is a probe. */
  const admit = (): boolean => {
    if (down === null) return true;
    const now = Date.now();
    // A probe is given up on after as long as a statement may take, whatever became of it.
    if (now - down.lastProbe < (down.probing ? deadlineMs : PROBE_EVERY_MS)) return false;
    down.probing = true;
    down.lastProbe = now;
    return true;
  };
  const succeeded = () => {
    down = null;
  };
  /** The last lane whose connection was lost, and when. */
  let lastLoss: { lane: Lane; at: number } | null = null;
  const failed = (err: unknown, lane: Lane | null) => {
    if (down !== null) {
      down.probing = false;
      return;
    }
    let goingAway = isConnectFailure(err);
    if (!goingAway && lane !== null && isConnectionLoss(err)) {
      const now = Date.now();
      goingAway = lastLoss !== null && lastLoss.lane !== lane && now - lastLoss.at < LOSSES_WINDOW_MS;
      lastLoss = { lane, at: now };
    }
    if (!goingAway) return;
    down = { probing: false, lastProbe: Date.now() };
    // What was sent before would wait through one reconnection attempt after another, or for a
    // server that is shutting down to let go of it: refused now.
    for (const l of lanes) if (l.sentAt.length > 0) replace(l);
  };
  const leastBusy = (): Lane => {
    let best: Lane | null = null;
    for (const lane of lanes) {
      if (lane.held) continue;
      if (best === null || lane.inFlight < best.inFlight) best = lane;
      if (lane.inFlight === 0) break;
    }
    // Every lane in a transaction: queue behind the one with least to do.
    if (best === null) for (const lane of lanes) if (best === null || lane.inFlight < best.inFlight) best = lane;
    return best!;
  };
  /** Transactions waiting for a lane, first come first served. */
  const waiting: ((lane: Lane) => void)[] = [];
  const hold = (): Promise<Lane> | Lane => {
    const lane = leastBusy();
    if (!lane.held) {
      lane.held = true;
      return lane;
    }
    const since = performance.now();
    return new Promise((resolve, reject) => {
      const take = (l: Lane) => {
        clearTimeout(timer);
        waitedMs += performance.now() - since;
        resolve(l);
      };
      const timer = setTimeout(() => {
        const at = waiting.indexOf(take);
        if (at >= 0) waiting.splice(at, 1);
        waitedMs += performance.now() - since;
        reject(new DatabaseTimeout(`no database connection was free within ${acquireTimeoutMs} ms`));
      }, acquireTimeoutMs);
      waiting.push(take);
    });
  };
  const letGo = (lane: Lane) => {
    const next = waiting.shift();
    if (next !== undefined) next(lane);
    else lane.held = false;
  };
  const sent = (lane: Lane, what: string | (() => string)) => {
    lane.inFlight++;
    lane.sentAt.push(Date.now());
    lane.sentWhat.push(what);
  };
  const answered = (lane: Lane, sql: postgres.Sql) => {
    // An answer from a client since replaced was counted out when it was replaced.
    if (lane.sql !== sql) return;
    lane.inFlight--;
    lane.sentAt.shift();
    lane.sentWhat.shift();
  };
  // The deadline is checked by one timer for every lane, not one per statement: a statement costs
  // a push and a shift.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const lane of lanes) {
      if (lane.sentAt.length === 0 || now - lane.sentAt[0] < deadlineMs) continue;
      const what = lane.sentWhat[0];
      onGiveUp?.(`${typeof what === 'function' ? what() : what} (${lane.sentAt.length} in flight) had no answer after ${now - lane.sentAt[0]} ms: its connection is replaced`);
      replace(lane);
    }
  }, Math.min(250, deadlineMs)).unref();
  return {
    kind: 'postgres',
    query<T>(text: string, params: readonly unknown[] = []) {
      if (!admit()) return Promise.reject(new DatabaseDown());
      const lane = leastBusy();
      const { sql } = lane;
      sent(lane, text);
      const query = sql.unsafe(text, params as never[], { prepare: true });
      // postgres.js queries are promises of their rows: handed on as they are, without another await.
      query.then(
        () => {
          answered(lane, sql);
          if (down !== null) succeeded();
        },
        (err) => {
          answered(lane, sql);
          failed(err, lane);
        },
      );
      return query as unknown as Promise<T[]>;
    },
    async transaction(fn) {
      if (!admit()) throw new DatabaseDown();
      let lane: Lane;
      try {
        lane = await hold();
      } catch (err) {
        failed(err, null);
        throw err;
      }
      const { sql } = lane;
      const progress = { stage: 'waiting for its connection' };
      sent(lane, () => `a transaction (${progress.stage})`);
      try {
        const result = await pipelinedTransaction(sql, fn, progress);
        if (down !== null) succeeded();
        return result;
      } catch (err) {
        failed(err, lane);
        throw err;
      } finally {
        answered(lane, sql);
        letGo(lane);
      }
    },
    stats: () => ({
      connections: lanes.length,
      busy: lanes.reduce((n, l) => n + (l.held || l.inFlight > 0 ? 1 : 0), 0),
      waiting: waiting.length,
      queued: lanes.reduce((n, l) => n + l.inFlight, 0) + waiting.length,
      waitedSeconds: waitedMs / 1000,
      replaced,
    }),
    close: async () => {
      clearInterval(sweep);
      await Promise.all(lanes.map((lane) => lane.sql.end({ timeout: 5 })));
    },
  };
}

/**
 * Reconnection waits grow from 25 ms to at most a quarter of a second. While the database is down
 * the pool refuses requests itself (one probe at a time), so these waits only pace that probe: a
 * database back up is used again within a fraction of a second.
 */
const reconnectBackoffS = (attempts: number) => Math.min(0.025 * 2 ** attempts, 0.25);

function client(url: string, statementTimeoutMs: number, connectTimeoutMs: number): postgres.Sql {
  return postgres(url, {
    max: 1,
    prepare: true,
    onnotice: () => {},
    connect_timeout: connectTimeoutMs / 1000,
    backoff: reconnectBackoffS,
    connection: {
      application_name: 'consent-service',
      statement_timeout: statementTimeoutMs,
      // A transaction its client abandoned (a process gone, a network cut) lets go of its locks.
      idle_in_transaction_session_timeout: statementTimeoutMs,
    },
    types: {
      // Times are mostly handed over as ISO strings already: sent as they are, instead of being
      // parsed into a Date and formatted again for every parameter of every statement.
      date: {
        to: 1184,
        from: [1082, 1114, 1184],
        serialize: (x: unknown) => (typeof x === 'string' ? x : (x instanceof Date ? x : new Date(x as number)).toISOString()),
        parse: (x: string) => new Date(x),
      },
    },
  });
}

/**
 * A transaction on a reserved connection, its statements pipelined: BEGIN travels with the first
 * statement, deferred statements with the next one or with the COMMIT. On loopback a round trip
 * costs about as much as a simple query, and a write that appends its events (deferred) and
 * commits needs two of them.
 */
async function pipelinedTransaction<T>(sql: postgres.Sql, fn: (tx: Transaction) => Promise<T>, progress = { stage: '' }): Promise<T> {
  const conn = await sql.reserve();
  progress.stage = 'running';
  let begun = false;
  /** fn has returned: what it deferred is sent, with the COMMIT, and nothing more may be. */
  let returned = false;
  /** Sent and not yet awaited: BEGIN and deferred statements. */
  let unawaited: Promise<unknown>[] = [];
  const deferred: [string, readonly unknown[]][] = [];
  const send = (text: string, params: readonly unknown[]) => {
    if (!begun) {
      begun = true;
      unawaited.push(conn.unsafe('BEGIN').execute());
    }
    return conn.unsafe(text, params as never[], { prepare: true }).execute();
  };
  const sendDeferred = () => {
    for (const [text, params] of deferred.splice(0)) unawaited.push(send(text, params));
  };
  /** Awaits what was sent before `last` and then `last`: the first failure, in the order sent, is thrown. */
  const inOrder = async <R>(last: Promise<R>): Promise<R> => {
    const before = unawaited;
    unawaited = [];
    const settled = await Promise.allSettled([...before, last]);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return (settled.at(-1) as PromiseFulfilledResult<R>).value;
  };
  const tx: Transaction = {
    async query<R>(text: string, params: readonly unknown[] = []) {
      sendDeferred();
      return (await inOrder(send(text, params))) as unknown as R[];
    },
    defer(text: string, params: readonly unknown[] = []) {
      if (returned) throw new Error('the transaction has ended');
      deferred.push([text, params]);
    },
  };
  try {
    const result = await fn(tx);
    returned = true;
    sendDeferred();
    if (begun) {
      progress.stage = 'committing';
      // After a failed statement, PostgreSQL answers COMMIT by rolling back.
      const done = await inOrder(conn.unsafe('COMMIT').execute());
      if (done.command !== 'COMMIT') throw new Error(`the transaction was not committed (${done.command})`);
    }
    return result;
  } catch (err) {
    // Once fn has returned the COMMIT was sent: the transaction has ended, one way or the other.
    progress.stage = 'rolling back';
    if (begun && !returned) await conn.unsafe('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    conn.release();
  }
}

/** The embedded database's transaction, with deferred statements run before the next one or before it commits. */
function deferring(q: Queryable): Transaction & { flush(): Promise<void> } {
  const deferred: [string, readonly unknown[]][] = [];
  const flush = async () => {
    for (const [text, params] of deferred.splice(0)) await q.query(text, params);
  };
  return {
    async query<R>(text: string, params: readonly unknown[] = []) {
      await flush();
      return q.query<R>(text, params);
    },
    defer(text: string, params: readonly unknown[] = []) {
      deferred.push([text, params]);
    },
    flush,
  };
}

/**
 * The embedded PostgreSQL. One connection: a transaction holds it until it ends and other
 * statements queue behind it. `dataDir` null keeps everything in memory.
 */
export async function openPglite(dataDir: string | null): Promise<Database> {
  let release = () => {};
  let pg: PGlite;
  if (dataDir === null) {
    pg = await PGlite.create();
  } else {
    mkdirSync(dataDir, { recursive: true });
    release = acquireDirectoryLock(dataDir);
    const dir = join(dataDir, 'pgdata');
    try {
      pg = await PGlite.create(dir);
    } catch (err) {
      release();
      throw err;
    }
  }
  const asQueryable = (q: Pick<PGlite, 'query'>): Queryable => ({
    async query<T>(text: string, params: readonly unknown[] = []) {
      return (await q.query(text, params as unknown[])).rows as T[];
    },
  });
  const root = asQueryable(pg);
  return {
    kind: 'pglite',
    pglite: pg,
    query: root.query,
    transaction: <T>(fn: (tx: Transaction) => Promise<T>) =>
      pg.transaction(async (pgTx) => {
        const tx = deferring(asQueryable(pgTx));
        const result = await fn(tx);
        await tx.flush();
        return result;
      }),
    close: async () => {
      await pg.close();
      release();
    },
  };
}

export async function openDatabase(target: DatabaseTarget, onGiveUp?: (what: string) => void): Promise<Database> {
  return target.kind === 'postgres' ? connectPostgres(target.url, target.poolSize, target.limits, onGiveUp) : openPglite(target.dataDir);
}
