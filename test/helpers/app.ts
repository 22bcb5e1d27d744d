import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import postgres from 'postgres';
import supertest from 'supertest';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { connectPostgres, openPglite, type Database } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { AUDIENCE, ISSUER, TestKeys } from './tokens.js';

export interface TestApp {
  app: FastifyInstance;
  http: supertest.Agent;
  db: Database;
  keys: TestKeys;
  kind: 'pglite' | 'postgres';
  /** Connection URL of this file's PostgreSQL database (postgres leg only). */
  url: string | null;
  bearer(scope: string, sub?: string): Promise<string>;
  close(): Promise<void>;
}

function urlFor(admin: string, database: string): string {
  const url = new URL(admin);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * The service on a database of this test file's own: a fresh embedded instance, or a clone of the
 * migrated template on PostgreSQL. Requests go through a real HTTP server (supertest listens on
 * an ephemeral port) with tokens signed by a key the service trusts through AUTH_JWKS_FILE.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: { wrapDb?: (db: Database) => Database; logStream?: Writable } = {},
): Promise<TestApp> {
  const kind = inject('databaseKind');
  const keys = await TestKeys.create();
  let db: Database;
  let url: string | null = null;
  let drop = async () => {};
  if (kind === 'postgres') {
    const admin = inject('pgAdminUrl');
    const name = `consent_test_${randomBytes(4).toString('hex')}_${inject('pgTemplate').split('_').pop()}`;
    const sql = postgres(admin, { max: 1, onnotice: () => {} });
    await sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`);
    url = urlFor(admin, name);
    db = connectPostgres(url, 16);
    drop = async () => {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await sql.end();
    };
  } else {
    db = await openPglite(null);
    await migrateDatabase(db);
  }
  const config = loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUTH_JWKS_FILE: keys.jwksFile,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    DATA_DIR: '/nonexistent-test-data-dir',
    // Tests share the machine with each other: a busy moment must not shed their requests (the
    // load-shedding tests set this themselves).
    MAX_EVENT_LOOP_DELAY_MS: '0',
    SIGNING_KEYS_FILE: keys.signingKeysFile,
    // No scheduled checkpoints unless a test asks for them: checkpoints are made on demand.
    CHECKPOINT_INTERVAL_S: '0',
    ...(url ? { DATABASE_URL: url } : { DATABASE_URL: 'memory://' }),
    ...env,
  });
  const app = await buildApp(config, { db: options.wrapDb ? options.wrapDb(db) : db, logStream: options.logStream });
  await app.ready();
  return {
    app,
    http: supertest.agent(app.server),
    db,
    keys,
    kind,
    url,
    bearer: (scope, sub) => keys.bearer(scope, sub),
    async close() {
      await app.close();
      await db.close();
      await drop();
    },
  };
}

/** The service in this process on a database of the caller's (a private cluster), opened and migrated as `npm start` does. */
export interface ServiceOn {
  app: FastifyInstance;
  http: supertest.Agent;
  keys: TestKeys;
  bearer(scope: string, sub?: string): Promise<string>;
  /** A sample of a metric from /metrics (the first line that starts with `name{labels}` or `name `), or null. */
  metric(line: string): Promise<number | null>;
  close(): Promise<void>;
}

export async function startServiceOn(databaseUrl: string, env: Record<string, string> = {}, keys?: TestKeys): Promise<ServiceOn> {
  const k = keys ?? (await TestKeys.create());
  const config = loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUTH_JWKS_FILE: k.jwksFile,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    DATA_DIR: '/nonexistent-test-data-dir',
    RATE_LIMIT_MAX: '0',
    DATABASE_URL: databaseUrl,
    ...env,
  });
  const app = await buildApp(config);
  await app.ready();
  const http = supertest.agent(app.server);
  return {
    app,
    http,
    keys: k,
    bearer: (scope, sub) => k.bearer(scope, sub),
    async metric(line) {
      const text = (await http.get('/metrics')).text;
      const found = text.split('\n').find((l) => l.startsWith(line));
      return found === undefined ? null : Number(found.slice(found.lastIndexOf(' ') + 1));
    },
    close: () => app.close(),
  };
}
