import type { TestProject } from 'vitest/node';
import postgres from 'postgres';
import { connectPostgres } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseKind: 'pglite' | 'postgres';
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

export const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * On PostgreSQL, one template database is migrated once per run; every test file clones it into a
 * database of its own. The embedded leg needs nothing here: each file opens its own instance.
 */
export default async function setup(project: TestProject) {
  const kind = process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'pglite';
  project.provide('databaseKind', kind);
  project.provide('pgAdminUrl', ADMIN_URL);
  if (kind !== 'postgres') {
    project.provide('pgTemplate', '');
    return;
  }
  const template = `consent_test_template_${process.pid}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${template}`);
  await admin.unsafe(`CREATE DATABASE ${template}`);
  const db = connectPostgres(urlFor(template), 1);
  await migrateDatabase(db, urlFor(template));
  await db.close();
  project.provide('pgTemplate', template);
  return async () => {
    const leftovers = await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE ${`consent_test_%_${process.pid}%`}`;
    for (const { datname } of leftovers) await admin.unsafe(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.unsafe(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  };
}
