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
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize: number }
  | { kind: 'pglite'; dataDir: string | null };

/** A postgres.js client of one connection, and what is asked of it now. */
interface Lane {
  sql: postgres.Sql;
  /** Statements sent and not yet answered. */
  inFlight: number;
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
 */
export function connectPostgres(url: string, poolSize: number): Database {
  const lanes: Lane[] = Array.from({ length: Math.max(1, poolSize) }, () => ({ sql: client(url), inFlight: 0, held: false }));
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
    return new Promise((resolve) => waiting.push(resolve));
  };
  const letGo = (lane: Lane) => {
    const next = waiting.shift();
    if (next !== undefined) next(lane);
    else lane.held = false;
  };
  return {
    kind: 'postgres',
    query<T>(text: string, params: readonly unknown[] = []) {
      const lane = leastBusy();
      lane.inFlight++;
      const done = () => {
        lane.inFlight--;
      };
      const query = lane.sql.unsafe(text, params as never[], { prepare: true });
      // postgres.js queries are promises of their rows: handed on as they are, without another await.
      query.then(done, done);
      return query as unknown as Promise<T[]>;
    },
    async transaction(fn) {
      const lane = await hold();
      lane.inFlight++;
      try {
        return await pipelinedTransaction(lane.sql, fn);
      } finally {
        lane.inFlight--;
        letGo(lane);
      }
    },
    close: async () => {
      await Promise.all(lanes.map((lane) => lane.sql.end({ timeout: 5 })));
    },
  };
}

function client(url: string): postgres.Sql {
  return postgres(url, {
    max: 1,
    prepare: true,
    onnotice: () => {},
    connection: { application_name: 'consent-service' },
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
async function pipelinedTransaction<T>(sql: postgres.Sql, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const conn = await sql.reserve();
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
      // After a failed statement, PostgreSQL answers COMMIT by rolling back.
      const done = await inOrder(conn.unsafe('COMMIT').execute());
      if (done.command !== 'COMMIT') throw new Error(`the transaction was not committed (${done.command})`);
    }
    return result;
  } catch (err) {
    // Once fn has returned the COMMIT was sent: the transaction has ended, one way or the other.
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

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  return target.kind === 'postgres' ? connectPostgres(target.url, target.poolSize) : openPglite(target.dataDir);
}
