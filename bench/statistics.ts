/**
 * `npm run bench:statistics`: the latency of the consent statistics (GET /v1/consent-statistics,
 * what the console overview reads) on PostgreSQL at 100,000 users and 1,000,000 chats.
 *
 * The database is seeded WITH SQL, NOT THROUGH THE API (bench/lib/seed-sql.ts): the rows the
 * API's writes would have written at the seeded times, checked on a sample through the API before
 * anything is measured. Then the service runs as a child process (`node --import tsx src/server.ts`)
 * and the statistics are read sequentially, now, at a revision and as of a time, over REST and GraphQL.
 *
 * Knobs: BENCH_USERS (100000), BENCH_CHATS (1000000), BENCH_RUNS (20), BENCH_DB
 * (consent_bench_statistics), BENCH_KEEP_DB=1 keeps the database, BENCH_REUSE_DB=1 measures a kept one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import postgres from 'postgres';
import { verifyChains, type AuditEvent } from '../src/audit/hash.js';
import { connectPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { request } from './lib/http.js';
import { freePort, startChild, stopChild, waitReady } from './lib/proc.js';
import { chatIdOf, seedWithSql, userIdOf, type SeededUser } from './lib/seed-sql.js';
import { median, percentile, round } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const int = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]!.replace(/_/g, '')) : fallback);
const config = {
  users: int('BENCH_USERS', 100_000),
  chats: int('BENCH_CHATS', 1_000_000),
  runs: int('BENCH_RUNS', 20),
  pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  dbName: process.env.BENCH_DB || 'consent_bench_statistics',
  keepDb: process.env.BENCH_KEEP_DB === '1' || process.env.BENCH_REUSE_DB === '1',
  reuseDb: process.env.BENCH_REUSE_DB === '1',
};
const log = (line = '') => process.stdout.write(`${line}\n`);
const SAMPLE = 25;

async function main() {
  const adminUrl = new URL(config.pgUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(adminUrl.hostname)) throw new Error('BENCH_PG_URL must point at this machine');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(config.dbName)) throw new Error('BENCH_DB must be a plain lower-case identifier');
  const dbUrl = new URL(config.pgUrl);
  dbUrl.pathname = `/${config.dbName}`;
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  let seeded: SeededUser[] | null = null;

  log(`consent statistics bench: ${config.users.toLocaleString('en-US')} users, ${config.chats.toLocaleString('en-US')} chats, PostgreSQL`);
  if (!config.reuseDb) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${config.dbName} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${config.dbName}`);
    const db = connectPostgres(dbUrl.toString(), 1);
    await migrateDatabase(db, dbUrl.toString());
    await db.close();
    log('seeding WITH SQL, not through the API (bench/lib/seed-sql.ts) ...');
    const started = performance.now();
    const sql = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
    const result = await seedWithSql(sql, config.users, config.chats, (line) => process.stderr.write(`${line}\r`));
    await sql.unsafe('VACUUM ANALYZE');
    await sql.unsafe('CHECKPOINT');
    await sql.end();
    seeded = result.seeded;
    log(`  ${result.events.toLocaleString('en-US')} audit events in ${round((performance.now() - started) / 1000, 1)} s (last revision ${result.lastRevision})`);
  }

  const tmp = mkdtempSync(join(os.tmpdir(), 'consent-bench-statistics-'));
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwksFile = join(tmp, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' }] }));
  const token = await new SignJWT({ scope: 'audit:read consent:read training:read' })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'bench' })
    .setSubject('bench-auditor')
    .setIssuer('bench')
    .setAudience('consent-service')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  const headers = { authorization: `Bearer ${token}` };
  const port = await freePort();
  const service = startChild(
    'service',
    ['--import', 'tsx', 'src/server.ts'],
    { ...process.env, PORT: String(port), DATABASE_URL: dbUrl.toString(), AUTH_JWKS_FILE: jwksFile, AUTH_ISSUER: 'bench', LOG_LEVEL: 'warn' },
    port,
    ROOT,
  );
  try {
    await waitReady(service, '/readyz');
    if (seeded !== null) await checkSample(port, headers, seeded);

    const get = async (path: string) => {
      const res = await request(port, path, { headers, timeoutMs: 120_000 });
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.body.slice(0, 300)}`);
      return JSON.parse(res.body);
    };
    const first = await get('/v1/consent-statistics');
    log(`  users ${first.users.total}, need a decision ${first.users.decisionRequired}, grants in force ${first.grantsInForce.total}, ` +
      `terms acceptances ${first.termsAcceptances.total}, days ${new Set(first.choicesPerDay.map((d: { day: string }) => d.day)).size}, revision ${first.revision}`);
    if (first.users.total !== config.users && seeded !== null) throw new Error(`expected ${config.users} users, the statistics count ${first.users.total}`);

    const midRevision = String(BigInt(first.revision) / 2n);
    const graphqlBody = JSON.stringify({
      query: '{ consentStatistics { revision users { total decisionRequired byPlanAndBasis { plan basis effective count } } grantsInForce { total byEvidence { evidence count } } choicesPerDay { day surface choice count } termsAcceptances { total omittedGroups groups { surface uiVariant trainingToggleShown trainingToggleDefault granted denied withoutChoice } } } }',
    });
    const cases: [string, () => Promise<unknown>][] = [
      ['REST now', () => get('/v1/consent-statistics')],
      [`REST atRevision=${midRevision}`, () => get(`/v1/consent-statistics?atRevision=${midRevision}`)],
      ['REST asOf=2025-09-21T00:00:00Z', () => get('/v1/consent-statistics?asOf=2025-09-21T00:00:00.000Z')],
      [
        'GraphQL now',
        async () => {
          const res = await request(port, '/graphql', { method: 'POST', headers, body: graphqlBody, timeoutMs: 120_000 });
          if (res.status !== 200 || JSON.parse(res.body).errors) throw new Error(`GraphQL answered ${res.status}: ${res.body.slice(0, 300)}`);
        },
      ],
    ];
    log('');
    log(`| read | runs | median ms | p95 ms | min ms | max ms |`);
    log(`|---|---|---|---|---|---|`);
    for (const [label, run] of cases) {
      for (let i = 0; i < 2; i++) await run();
      const times: number[] = [];
      for (let i = 0; i < config.runs; i++) {
        const started = performance.now();
        await run();
        times.push(performance.now() - started);
      }
      log(`| ${label} | ${config.runs} | ${round(median(times), 0)} | ${round(percentile(times, 95), 0)} | ${round(Math.min(...times), 0)} | ${round(Math.max(...times), 0)} |`);
    }
  } finally {
    await stopChild(service);
    rmSync(tmp, { recursive: true, force: true });
    if (!config.keepDb) await admin.unsafe(`DROP DATABASE IF EXISTS ${config.dbName} WITH (FORCE)`);
    await admin.end();
  }
}

/** Through the API, for a sample of seeded users: their chains verify, their consent and a chat's decision are what was seeded. */
async function checkSample(port: number, headers: Record<string, string>, seeded: SeededUser[]): Promise<void> {
  const step = Math.max(1, Math.floor(seeded.length / SAMPLE));
  let checked = 0;
  for (let u = 0; u < seeded.length; u += step) {
    const events: AuditEvent[] = [];
    let after = '0';
    for (;;) {
      const res = await request(port, `/v1/users/${userIdOf(u)}/audit-events?after=${after}&limit=1000`, { headers });
      const page = JSON.parse(res.body) as { items: AuditEvent[]; nextCursor: string | null };
      events.push(...page.items);
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    const breaks = verifyChains(events);
    if (breaks.length > 0) throw new Error(`seeded chain of ${userIdOf(u)} does not verify: ${JSON.stringify(breaks[0])}`);
    const consent = JSON.parse((await request(port, `/v1/users/${userIdOf(u)}/training-consent`, { headers })).body);
    const want = seeded[u];
    const commercial = !['free', 'pro', 'max'].includes(want.plan);
    const expected = commercial ? 'denied' : (want.choice ?? 'granted');
    if (consent.plan !== want.plan || consent.choice !== want.choice || consent.effective !== expected) {
      throw new Error(`seeded consent of ${userIdOf(u)} reads ${JSON.stringify(consent)}, expected plan ${want.plan}, choice ${want.choice}`);
    }
    const decision = JSON.parse((await request(port, `/v1/chats/${chatIdOf(u)}/training-eligibility`, { headers })).body);
    if (decision.userId !== userIdOf(u) || (expected === 'denied' && decision.eligible)) {
      throw new Error(`seeded chat ${chatIdOf(u)} reads ${JSON.stringify(decision)}`);
    }
    checked++;
  }
  log(`  checked through the API: ${checked} sampled users' chains verify, their consent and a chat's decision are as seeded`);
}

await main();
