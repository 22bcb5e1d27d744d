import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { PGlite } from '@electric-sql/pglite';
import { acquireDirectoryLock } from './directory-lock.js';
import { SETTLE_SQL } from './point.js';

export type Row = Record<string, unknown>;

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Settles the revisions taken so far (`consent_settled_revision`), then runs a point read whose
   * revision cap, parameter $2, is null and so takes the settled revision: the read's snapshot is
   * taken after every writer that could still commit a revision up to it has ended.
   */
  settledQuery<T = Row>(text: string, params: readonly unknown[]): Promise<{ settled: string; rows: T[] }>;
  /** The embedded instance itself, for its migrator. */
  readonly pglite?: PGlite;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize: number }
  | { kind: 'pglite'; dataDir: string | null };

/** postgres.js: one pool, every statement prepared (named statements cached per connection). */
export function connectPostgres(url: string, poolSize: number): Database {
  const sql = postgres(url, {
    max: poolSize,
    prepare: true,
    onnotice: () => {},
    connection: { application_name: 'consent-service' },
  });
  const asQueryable = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
    async query<T>(text: string, params: readonly unknown[] = []) {
      return (await s.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
    },
  });
  const root = asQueryable(sql);
  return {
    kind: 'postgres',
    query: root.query,
    // Both statements leave in one write on one connection: the settled revision travels from the
    // first to the second in a session setting, and the read costs one round trip.
    async settledQuery<T>(text: string, params: readonly unknown[]) {
      const conn = await sql.reserve();
      try {
        const settle = conn.unsafe(SETTLE_SQL, [], { prepare: true });
        const read = conn.unsafe(text, params as never[], { prepare: true });
        settle.execute();
        read.execute();
        const [settled, rows] = await Promise.all([settle, read]);
        return { settled: String(settled[0].r), rows: rows as unknown as T[] };
      } finally {
        conn.release();
      }
    },
    transaction: (fn) => pipelinedTransaction(sql, fn),
    close: () => sql.end({ timeout: 5 }),
  };
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
    async settledQuery<T>(text: string, params: readonly unknown[]) {
      const [{ r }] = await root.query<{ r: string }>(SETTLE_SQL);
      const capped = [...params];
      capped[1] = r;
      return { settled: String(r), rows: await root.query<T>(text, capped) };
    },
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
