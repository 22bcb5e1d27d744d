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
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => sql.begin((tx) => fn(asQueryable(tx))) as Promise<T>,
    close: () => sql.end({ timeout: 5 }),
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
