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

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** The embedded instance itself, for its migrator. */
  readonly pglite?: PGlite;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
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
 * A transaction on a reserved connection whose BEGIN travels with its first statement, in one
 * write and one round trip: on loopback a write costs about as much as a simple query, and a
 * short write transaction has only four of them.
 */
async function pipelinedTransaction<T>(sql: postgres.Sql, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const conn = await sql.reserve();
  let begun: Promise<unknown> | null = null;
  const tx: Queryable = {
    async query<R>(text: string, params: readonly unknown[] = []) {
      const query = conn.unsafe(text, params as never[], { prepare: true });
      if (begun === null) {
        begun = conn.unsafe('BEGIN').execute();
        query.execute();
        await begun;
      }
      return (await query) as unknown as R[];
    },
  };
  try {
    const result = await fn(tx);
    if (begun !== null) await conn.unsafe('COMMIT');
    return result;
  } catch (err) {
    if (begun !== null) await conn.unsafe('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    conn.release();
  }
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
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => pg.transaction((tx) => fn(asQueryable(tx))),
    close: async () => {
      await pg.close();
      release();
    },
  };
}

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  return target.kind === 'postgres' ? connectPostgres(target.url, target.poolSize) : openPglite(target.dataDir);
}
