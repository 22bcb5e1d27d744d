import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Database, Queryable } from './client.js';

/** `drizzle/` at the project root, whether this file runs from src/ (tsx) or dist/ (built). */
export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'drizzle');

const MIGRATION_LOCK = 1668247156;

export function expectedMigrationCount(): number {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

/**
 * Applies pending migrations. On PostgreSQL a session advisory lock on a connection of its own
 * keeps two instances starting together from applying the same migration twice.
 */
export async function migrateDatabase(db: Database, url?: string): Promise<void> {
  if (db.kind === 'postgres') {
    if (!url) throw new Error('migrating PostgreSQL needs its URL');
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`;
      await migratePostgres(drizzlePostgres(sql), { migrationsFolder: MIGRATIONS_FOLDER });
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`;
    } finally {
      await sql.end({ timeout: 5 });
    }
    return;
  }
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  if (!db.pglite) throw new Error('no embedded database to migrate');
  await migrate(drizzle(db.pglite), { migrationsFolder: MIGRATIONS_FOLDER });
}

/** Whether every migration in the journal has been applied. */
export async function migrationsApplied(db: Queryable): Promise<boolean> {
  const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
  return rows[0].n >= expectedMigrationCount();
}
