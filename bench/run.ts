/**
 * `npm run bench`: the consent service against a bare Fastify + postgres.js baseline, on PostgreSQL,
 * in one run. See bench/README.md for what each scenario measures and the env knobs.
 *
 * Steps: fresh database -> Ed25519 JWKS + tokens -> service and baseline as child processes on
 * loopback -> seed users and chats through the service's API -> scenarios a..e (each beside the
 * baseline) -> table, pass/fail summary, bench/results/latest.json -> stop children, drop database.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import postgres from 'postgres';
import { agent, request, streamLines } from './lib/http.js';
import { runLoad, warmUp, type LoadResult } from './lib/load.js';
import { cpuMeter, freePort, machineBusy, memoryOf, sampleRss, startChild, stopChild, waitQuiet, waitReady, type Child } from './lib/proc.js';
import { seed, type SeedResult } from './lib/seed.js';
import { proofScenario } from './scenarios/proof.js';
import { graphqlScenarios } from './scenarios/graphql.js';
import { protectionScenarios } from './scenarios/protection.js';
import { replicaScenarios } from './scenarios/replicas.js';
import { median, mulberry32, percentile, round } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');

// ---------------------------------------------------------------------------------------------
// Configuration

/**
 * Default number of chats. The stream scenario calls for 1,000,000; seeding goes through the
 * service's API (one audited transaction per chat), which on the 2-core reference machine ran at
 * 360-630 chats/s, so 1,000,000 would take 25-45 minutes. The default is what seeds in about
 * five minutes there. Full size: BENCH_CHATS=1000000 npm run bench.
 */
const DEFAULT_CHATS = 200_000;
const FULL_CHATS = 1_000_000;

function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

const config = {
  users: envInt('BENCH_USERS', 10_000),
  chats: envInt('BENCH_CHATS', DEFAULT_CHATS),
  chatsFromDefault: !process.env.BENCH_CHATS,
  /** Every n-th user denies training (their chats are opted_out); the rest grant it. */
  deniedEvery: envInt('BENCH_DENIED_EVERY', 10, 2),
  connections: envInt('BENCH_CONNECTIONS', 32),
  durationS: envInt('BENCH_DURATION', 10),
  warmupS: envInt('BENCH_WARMUP', 5, 0),
  /**
   * Load, not measured, on each side before the first round of a and b. The service's first round
   * after it started measured 20-35 % below its later ones (its CPU per request fell from about
   * 185-215 us to 135-140 us); the baseline's did not.
   */
  firstWarmupS: envInt('BENCH_FIRST_WARMUP', 20, 0),
  /**
   * Rounds of baseline and service for a and b, alternating which goes first; an even number, so
   * that each goes first equally often (the one that runs second tends to measure lower). The
   * median ratio is reported.
   */
  rounds: envInt('BENCH_ROUNDS', 6),
  batchSize: envInt('BENCH_BATCH_SIZE', 10_000),
  /** Streams of every chat by the service and by the baseline's raw cursor, alternating which goes first. */
  streamRounds: envInt('BENCH_STREAM_ROUNDS', 4),
  batchRuns: envInt('BENCH_BATCH_RUNS', 20),
  batchWarmupRuns: envInt('BENCH_BATCH_WARMUP', 3, 0),
  seedConcurrency: envInt('BENCH_SEED_CONCURRENCY', 32),
  /** Seeding stops (loudly) after this long and the run goes on with what was seeded. */
  seedTimeoutS: envInt('BENCH_SEED_TIMEOUT', 3_600),
  poolSize: envInt('BENCH_POOL_SIZE', 16),
  pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  dbName: process.env.BENCH_DB || 'consent_bench',
  scenarios: new Set((process.env.BENCH_SCENARIOS || 'a,b,c,d,e,g,h,i,j').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)),
  keepDb: process.env.BENCH_KEEP_DB === '1' || process.env.BENCH_REUSE_DB === '1',
  /** Use the database a BENCH_KEEP_DB=1 run left, as it is: no creation, no seeding. */
  reuseDb: process.env.BENCH_REUSE_DB === '1',
  cpuProf: process.env.BENCH_CPU_PROF === '1',
  /** Before each scenario, wait up to this long for other load on the machine to pass. */
  quietWaitS: envInt('BENCH_QUIET_WAIT', 120, 0),
};

/** Machine CPU (cores) above which, with the bench idle, something else is running. */
const QUIET_CORES = 0.3;

const TARGETS = {
  a: { minRatio: 1.0, maxP99Ratio: 1.2 },
  b: { minRatio: 0.8 },
  c: { minWritesPerS: 1000 },
  d: { maxMedianRatio: 1.1 },
  e: { minChatsPerS: 100_000, maxMedianRatio: 2, maxFirstByteMs: 10, maxPeakRssMiB: 250 },
};

function checkConfig(): URL {
  const url = new URL(config.pgUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new Error(`BENCH_PG_URL must point at this machine's loopback (127.0.0.1), not ${url.hostname}`);
  }
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(config.dbName)) throw new Error('BENCH_DB must be a plain lower-case identifier');
  for (const s of config.scenarios) if (!'abcdefghijkp'.includes(s) || s.length !== 1) throw new Error(`unknown scenario ${s} in BENCH_SCENARIOS`);
  return url;
}

// ---------------------------------------------------------------------------------------------
// Data: ids, choices, a deterministic shuffle

const userId = (i: number) => `bench-u-${String(i).padStart(6, '0')}`;
const chatId = (i: number) => `bench-c-${String(i).padStart(7, '0')}`;
const ownerOf = (chat: number) => chat % config.users;
const denies = (user: number) => user % config.deniedEvery === config.deniedEvery - 1;


function shuffled(n: number, seedValue: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const rnd = mulberry32(seedValue);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Output helpers

const log = (line = '') => process.stdout.write(`${line}\n`);

/** A full collection of the bench's own heap, where it runs with --expose-gc (as `npm run bench` does). */
const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.();
const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

interface Context {
  service: Child;
  baseline: Child;
  serviceEnv: NodeJS.ProcessEnv;
  tokens: { training: string; read: string; write: string; admin: string };
  seededUsers: number;
  seededChats: number;
  /** Scenario b's baseline run, reused by c as its reference. */
  lastUserBaseline?: Measured;
}

type Measured = LoadResult & { cpuCores: Record<string, number>; cpuUsPerRequest: Record<string, number> | null };

async function main() {
  const pgUrl = checkConfig();
  const startedAt = new Date();
  const dbUrl = new URL(pgUrl);
  dbUrl.pathname = `/${config.dbName}`;

  log('consent service bench');
  log(`  node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB`);
  if (config.reuseDb) {
    log('  users and chats: as in the reused database (BENCH_REUSE_DB=1)');
  } else {
    log(
      `  users ${fmt(config.users)} (every ${config.deniedEvery}th denies), chats ${fmt(config.chats)}` +
        (config.chatsFromDefault ? ` (default; the full size is ${fmt(FULL_CHATS)}: BENCH_CHATS=${FULL_CHATS} npm run bench)` : ''),
    );
  }
  log(
    `  ${config.connections} connections, ${config.warmupS} s warm-up + ${config.durationS} s per run, ${config.rounds} rounds for a and b after ${config.firstWarmupS} s of warm-up each; pool ${config.poolSize}; ` +
      `batch ${fmt(config.batchSize)} ids x ${config.batchRuns}; scenarios ${[...config.scenarios].join(',')}`,
  );
  if (config.cpuProf) log('  BENCH_CPU_PROF=1: the service runs under --cpu-prof (slower); figures are for profiling, not for the record');

  const admin = postgres(pgUrl.toString(), { max: 1, onnotice: () => {} });
  const tmp = mkdtempSync(join(os.tmpdir(), 'consent-bench-'));
  const children: Child[] = [];
  let dbCreated = false;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping the children and dropping the database\n');
    void cleanup().finally(() => process.exit(130));
  };
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all(children.map((c) => stopChild(c).catch(() => {})));
    agent.destroy();
    if (dbCreated && !config.keepDb) {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${config.dbName} WITH (FORCE)`).catch((err) => {
        process.stderr.write(`could not drop database ${config.dbName}: ${(err as Error).message}\n`);
      });
    } else if (dbCreated) {
      log(`BENCH_KEEP_DB=1: database ${config.dbName} kept`);
    }
    await admin.end({ timeout: 5 }).catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // 1. Database and keys.
    const [{ version }] = await admin`SELECT current_setting('server_version') AS version`;
    if (config.reuseDb) {
      const [exists] = await admin`SELECT 1 AS one FROM pg_database WHERE datname = ${config.dbName}`;
      if (!exists) throw new Error(`BENCH_REUSE_DB=1: there is no database ${config.dbName}; make one with BENCH_KEEP_DB=1 npm run bench`);
      dbCreated = true;
      log(`  PostgreSQL ${version}: reusing database ${config.dbName} as it is (BENCH_REUSE_DB=1; kept afterwards)`);
    } else {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${config.dbName} WITH (FORCE)`);
      await admin.unsafe(`CREATE DATABASE ${config.dbName}`);
      dbCreated = true;
      log(`  PostgreSQL ${version}: database ${config.dbName} created`);
    }

    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-key', alg: 'EdDSA', use: 'sig' };
    const jwksFile = join(tmp, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const issuer = 'https://issuer.bench.invalid';
    const audience = 'consent-service';
    const sign = (sub: string, scope: string) =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'bench-key', typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('6h')
        .sign(privateKey);
    const tokens = {
      training: await sign('bench-pipeline', 'training:read'),
      read: await sign('bench-frontend-reader', 'consent:read'),
      write: await sign('bench-frontend', 'consent:write'),
      admin: await sign('bench-admin', 'admin'),
    };

    // 2. The service and the baseline.
    const serviceEnv: NodeJS.ProcessEnv = {
      ...process.env,
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl.toString(),
      DATABASE_POOL_SIZE: String(config.poolSize),
      DATA_DIR: join(tmp, 'data'),
      AUTH_JWKS_FILE: jwksFile,
      AUTH_ISSUER: issuer,
      AUTH_AUDIENCE: audience,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // One pipeline token sends tens of thousands of requests a second: the limiter runs (its
      // cost is in every figure) but never refuses.
      RATE_LIMIT_MAX: '1000000000',
    };
    delete serviceEnv.AUTH_JWKS_URL;
    const service = await startService(serviceEnv, null);
    children.push(service);
    const basePort = await freePort();
    const baseline = startChild(
      'baseline',
      ['--import', 'tsx', 'bench/baseline-server.ts'],
      { ...process.env, PORT: String(basePort), DATABASE_URL: dbUrl.toString(), DATABASE_POOL_SIZE: String(config.poolSize), NODE_ENV: 'production' },
      basePort,
      ROOT,
    );
    children.push(baseline);
    await waitReady(baseline, '/healthz');
    const idleRss = memoryOf(service.pid);
    log(
      `  service pid ${service.pid} on 127.0.0.1:${service.port} (RSS ${fmt(idleRss?.rssMiB, 0)} MiB when ready); ` +
        `baseline pid ${baseline.pid} on 127.0.0.1:${baseline.port}`,
    );

    // 3. Seed through the API (or take the counts of a reused database).
    let usersSeed: SeedResult;
    let chatsSeed: SeedResult;
    if (config.reuseDb) {
      const probe = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
      const [counts] = await probe`SELECT (SELECT count(*) FROM users WHERE user_id LIKE 'bench-u-%')::int AS users,
        (SELECT count(*) FROM chats WHERE chat_id LIKE 'bench-c-%')::int AS chats`;
      await probe.end({ timeout: 5 });
      if (counts.users !== config.users && process.env.BENCH_USERS) {
        throw new Error(`BENCH_REUSE_DB=1: the database has ${counts.users} users, not BENCH_USERS=${config.users}`);
      }
      config.users = counts.users;
      config.chats = counts.chats;
      const none = (label: string, n: number): SeedResult => ({ label, requested: n, done: n, seconds: 0, perSecond: 0, stoppedEarly: false, retries: 0 });
      usersSeed = none('users', counts.users);
      chatsSeed = none('chats', counts.chats);
      log(`  reused: ${fmt(counts.users)} users, ${fmt(counts.chats)} chats (no seeding)`);
    } else {
      log('');
      log('seeding through the service API');
      const deadline = Date.now() + config.seedTimeoutS * 1000;
      const writeHeaders = { authorization: `Bearer ${tokens.write}` };
      usersSeed = await seed('users', service.port, writeHeaders, config.users, config.seedConcurrency, (i) => ({
        method: 'POST',
        path: `/v1/users/${userId(i)}/terms-acceptances`,
        body: JSON.stringify({
          policyVersion: '2025-09-28',
          surface: 'web',
          trainingChoice: denies(i) ? 'denied' : 'granted',
          plan: 'pro',
          presentation: { trainingToggleDefault: true, trainingToggleShown: true, locale: 'en-US' },
        }),
        expect: [201],
      }), deadline);
      if (usersSeed.stoppedEarly) throw new Error(`seeding users did not finish within BENCH_SEED_TIMEOUT=${config.seedTimeoutS} s`);
      log(`  users: ${fmt(usersSeed.done)} in ${usersSeed.seconds} s (${fmt(usersSeed.perSecond)}/s) via POST /v1/users/{id}/terms-acceptances`);
      chatsSeed = await seed('chats', service.port, writeHeaders, config.chats, config.seedConcurrency, (i) => ({
        method: 'PUT',
        path: `/v1/chats/${chatId(i)}`,
        body: JSON.stringify({ userId: userId(ownerOf(i)) }),
        expect: [200, 201],
      }), deadline);
      log(`  chats: ${fmt(chatsSeed.done)} in ${chatsSeed.seconds} s (${fmt(chatsSeed.perSecond)}/s) via PUT /v1/chats/{id}`);
      if (chatsSeed.stoppedEarly) {
        log(`  !! seeding stopped at BENCH_SEED_TIMEOUT=${config.seedTimeoutS} s: the scenarios run over ${fmt(chatsSeed.done)} chats, not ${fmt(config.chats)}`);
      }
      if (config.chatsFromDefault) {
        log(
          `  (default size; full ${fmt(FULL_CHATS)}-chat run: BENCH_CHATS=${FULL_CHATS} npm run bench, ` +
            `about ${Math.ceil(FULL_CHATS / Math.max(1, chatsSeed.perSecond) / 60)} min of seeding at this rate)`,
        );
      }
    }

    const bench = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
    const vacuumStarted = performance.now();
    await bench.unsafe('VACUUM ANALYZE');
    await bench.unsafe('CHECKPOINT');
    const [sizes] = await bench`SELECT pg_database_size(current_database())::bigint AS db,
      (SELECT count(*) FROM audit_events)::int AS events`;
    await bench.end({ timeout: 5 });
    log(
      `  VACUUM ANALYZE + CHECKPOINT in ${round((performance.now() - vacuumStarted) / 1000, 1)} s; ` +
        `database ${fmt(Number(sizes.db) / 2 ** 20)} MiB, ${fmt(sizes.events)} audit events`,
    );

    const ctx: Context = { service, baseline, serviceEnv, tokens, seededUsers: usersSeed.done, seededChats: chatsSeed.done };
    await sanityChecks(ctx);

    // 4. Scenarios. Reads first, then the write scenario (it appends to the log).
    const results: Record<string, unknown> = {};
    const summary: SummaryRow[] = [];
    const order = ['a', 'b', 'd', 'e', 'g', 'h', 'i', 'j', 'p', 'k', 'c', 'f'].filter((s) => config.scenarios.has(s));
    const noise: Record<string, { busyCores: number; waitedS: number }> = {};
    for (const s of order) {
      log('');
      if (config.cpuProf) ctx.service = await restartForProfile(ctx, children, s);
      const quiet = await waitQuiet(QUIET_CORES, config.quietWaitS);
      noise[s] = quiet;
      if (quiet.busyCores >= QUIET_CORES) {
        log(`!! the machine is busy with something else (${quiet.busyCores} cores with the bench idle, after waiting ${quiet.waitedS} s): figures below are disturbed`);
      } else if (quiet.waitedS > 1.5) {
        log(`(waited ${quiet.waitedS} s for other load on the machine to pass)`);
      }
      const r = await SCENARIOS[s](ctx);
      for (const row of r.rows) row.disturbed = quiet.busyCores >= QUIET_CORES;
      if (config.cpuProf) {
        await stopChild(ctx.service);
        log(`  cpu profile: bench/results/prof/${s}/`);
      }
      results[s] = r.detail;
      summary.push(...r.rows);
    }

    // 5. Summary.
    summary.sort((x, y) => x.scenario.localeCompare(y.scenario));
    log('');
    log('results (service vs baseline; latencies are client-side, loopback)');
    log(
      table(
        ['scenario', 'service req/s', 'p50 ms', 'p99 ms', 'baseline req/s', 'p50 ms', 'p99 ms', 'ratio', 'p99 ratio'],
        summary
          .filter((r) => r.table)
          .map((r) => [
            r.label,
            fmt(r.table!.service.rate, r.table!.service.rate < 100 ? 1 : 0),
            fmt(r.table!.service.p50, 2),
            fmt(r.table!.service.p99, 2),
            fmt(r.table!.baseline?.rate ?? null, (r.table!.baseline?.rate ?? 1000) < 100 ? 1 : 0),
            fmt(r.table!.baseline?.p50 ?? null, 2),
            fmt(r.table!.baseline?.p99 ?? null, 2),
            r.table!.ratio === null ? '-' : `${fmt(r.table!.ratio, 2)}x`,
            r.table!.p99Ratio === null ? '-' : `${fmt(r.table!.p99Ratio, 2)}x`,
          ]),
      ),
    );
    log('');
    log('targets');
    log(
      table(
        ['scenario', 'target', 'measured', 'result'],
        summary.map((r) => [r.label, r.target, r.measured, `${r.pass ? 'PASS' : 'FAIL'}${r.disturbed ? ' (disturbed)' : ''}`]),
      ),
    );
    const passed = summary.filter((r) => r.pass).length;
    log(`${passed}/${summary.length} targets met`);
    if (summary.some((r) => r.disturbed)) {
      log('!! "disturbed": other load was running on the machine before that scenario; its figures and result are not reliable');
    }
    if (summary.some((r) => r.scenario === 'd')) {
      log('(d: one request in flight, so its req/s is 1000 / median ms and its ratio is baseline median / service median)');
    }

    mkdirSync(RESULTS_DIR, { recursive: true });
    const out = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), postgres: version },
      config: { ...config, scenarios: [...config.scenarios], chatsSeeded: chatsSeed.done, usersSeeded: usersSeed.done, cpuProf: config.cpuProf },
      targets: TARGETS,
      serviceRssWhenReadyMiB: idleRss && round(idleRss.rssMiB, 1),
      seeding: { users: usersSeed, chats: chatsSeed, databaseMiB: round(Number(sizes.db) / 2 ** 20, 1), auditEvents: sizes.events },
      scenarios: results,
      /** Machine CPU busy (cores) with the bench idle, just before each scenario: other load. */
      idleMachineCpuBeforeScenario: noise,
      summary: summary.map(({ table: _t, ...rest }) => rest),
    };
    const file = join(RESULTS_DIR, 'latest.json');
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    log(`results written to ${file}`);
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Children

/** Compiles the service once per run, so that the figures are those of the production build. */
function buildService(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
}

let built = false;

async function startService(env: NodeJS.ProcessEnv, profileDir: string | null): Promise<Child> {
  if (!built) {
    buildService();
    built = true;
  }
  const port = await freePort();
  // The service runs as it does in production: compiled, `node dist/server.js` (see buildService).
  const args = [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), 'dist/server.js'];
  const child = startChild('service', args, { ...env, PORT: String(port) }, port, ROOT);
  await waitReady(child, '/readyz', 120_000);
  return child;
}

async function restartForProfile(ctx: Context, children: Child[], scenario: string): Promise<Child> {
  await stopChild(ctx.service);
  const dir = join(RESULTS_DIR, 'prof', scenario);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const child = await startService(ctx.serviceEnv, dir);
  children.push(child);
  return child;
}

// ---------------------------------------------------------------------------------------------
// Checks that the data and routes are what the scenarios assume, before anything is measured.

async function sanityChecks(ctx: Context) {
  const auth = { authorization: `Bearer ${ctx.tokens.training}` };
  const grantedChat = [...Array(Math.min(ctx.seededChats, 50)).keys()].find((i) => !denies(ownerOf(i)));
  const deniedChat = [...Array(Math.min(ctx.seededChats, 50)).keys()].find((i) => denies(ownerOf(i)));
  const expectReason = async (i: number | undefined, reason: string) => {
    if (i === undefined) return;
    const res = await request(ctx.service.port, `/v1/chats/${chatId(i)}/training-eligibility`, { headers: auth });
    const body = JSON.parse(res.body) as { reason?: string };
    if (res.status !== 200 || body.reason !== reason) {
      throw new Error(`sanity check: chat ${chatId(i)} should be ${reason}, got ${res.status} ${res.body.slice(0, 300)}`);
    }
  };
  await expectReason(grantedChat, 'user_choice');
  await expectReason(deniedChat, 'opted_out');
  const base = await request(ctx.baseline.port, `/chats/${chatId(0)}`);
  if (base.status !== 200) throw new Error(`sanity check: baseline /chats answered ${base.status}`);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Figures {
  rate: number;
  p50: number;
  p99: number;
}

interface SummaryRow {
  scenario: string;
  label: string;
  target: string;
  measured: string;
  pass: boolean;
  /** Other load was on the machine when the scenario started. */
  disturbed?: boolean;
  table?: { service: Figures; baseline: Figures | null; ratio: number | null; p99Ratio: number | null };
}

interface ScenarioResult {
  detail: unknown;
  rows: SummaryRow[];
}

const figures = (r: LoadResult): Figures => ({ rate: r.reqPerS, p50: r.p50Ms, p99: r.p99Ms });

function describeLoad(name: string, r: LoadResult, cpu: Record<string, number>) {
  const bad = r.non2xx + r.errors + r.timeouts;
  log(
    `  ${name.padEnd(9)} ${fmt(r.reqPerS).padStart(7)} req/s  p50 ${fmt(r.p50Ms, 2)} ms  p90 ${fmt(r.p90Ms, 2)} ms  p99 ${fmt(r.p99Ms, 2)} ms  max ${fmt(r.maxMs, 1)} ms` +
      `  (${fmt(r.ok)} ok${bad ? `, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts` : ''})`,
  );
  log(`            cpu (cores): ${Object.entries(cpu).filter(([k]) => !k.endsWith('Kernel')).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const perReq = cpuPerRequest(r, cpu);
  if (perReq) log(`            cpu per request: ${Object.entries(perReq).map(([k, v]) => `${k} ${v} µs`).join(', ')}`);
  if (bad) log(`            !! status codes: ${JSON.stringify(r.statusCodes)}`);
}

/**
 * CPU microseconds per 2xx response: of the server process under test (service or baseline), and
 * of everything else on the machine but the bench (PostgreSQL, plus whatever else was running).
 */
function cpuPerRequest(r: LoadResult, cpu: Record<string, number>): Record<string, number> | null {
  if (r.reqPerS <= 0) return null;
  const name = r.title.startsWith('baseline') ? 'baseline' : 'service';
  const us = (cores: number) => Math.round((cores / r.reqPerS) * 1e6);
  return { [name]: us(cpu[name]), [`${name} in the kernel`]: us(cpu[`${name}Kernel`]), other: us(cpu.other) };
}

async function measure(ctx: Context, name: string, spec: Parameters<typeof runLoad>[0]): Promise<Measured> {
  const meter = cpuMeter({ service: ctx.service.pid, baseline: ctx.baseline.pid });
  const r = await runLoad(spec);
  const cpu = meter.stop();
  describeLoad(name, r, cpu);
  return { ...r, cpuCores: cpu, cpuUsPerRequest: cpuPerRequest(r, cpu) };
}

/** A request path rotating over `n` ids in a fixed shuffled order, shared by all connections. */
function rotation(n: number, seedValue: number, path: (i: number) => string) {
  const order = shuffled(n, seedValue);
  let k = 0;
  return () => path(order[k++ % n]);
}

const loadDefaults = () => ({ connections: config.connections, durationS: config.durationS, warmupS: config.warmupS });

interface Round {
  baseline: Measured;
  service: Measured;
  ratio: number;
  p99Ratio: number;
}

/**
 * `config.rounds` rounds of the baseline and the service, alternating which goes first: one run of
 * each is at the mercy of what the machine (and PostgreSQL's buffers) happened to be doing. The
 * round with the median req/s ratio is reported, with every round's ratio.
 */
async function rounds(
  ctx: Context,
  baselineSpec: Parameters<typeof runLoad>[0],
  serviceSpec: Parameters<typeof runLoad>[0],
): Promise<{ median: Round; all: Round[]; p99Ratio: number }> {
  const all: Round[] = [];
  if (config.firstWarmupS > 0) {
    log(`  warming both up: ${config.firstWarmupS} s each, not measured`);
    await warmUp(baselineSpec, config.firstWarmupS);
    await warmUp(serviceSpec, config.firstWarmupS);
  }
  for (let i = 0; i < config.rounds; i++) {
    if (config.rounds > 1) log(`  round ${i + 1} of ${config.rounds}`);
    let baseline: Measured;
    let service: Measured;
    if (i % 2 === 0) {
      baseline = await measure(ctx, 'baseline', baselineSpec);
      service = await measure(ctx, 'service', serviceSpec);
    } else {
      service = await measure(ctx, 'service', serviceSpec);
      baseline = await measure(ctx, 'baseline', baselineSpec);
    }
    all.push({ baseline, service, ratio: service.reqPerS / baseline.reqPerS, p99Ratio: service.p99Ms / baseline.p99Ms });
  }
  // For an even number of rounds, the mean of the middle two.
  const ratio = median(all.map((r) => r.ratio));
  // The round reported beside the median ratio: the one closest to it.
  const closest = [...all].sort((x, y) => Math.abs(x.ratio - ratio) - Math.abs(y.ratio - ratio))[0];
  return { median: { ...closest, ratio }, all, p99Ratio: median(all.map((r) => r.p99Ratio)) };
}

const roundsNote = (all: Round[], pick: (r: Round) => number) =>
  all.length > 1 ? `; rounds ${all.map((r) => fmt(pick(r), 2)).join(', ')}` : '';

const SCENARIOS: Record<string, (ctx: Context) => Promise<ScenarioResult>> = {
  async f(ctx) {
    log('f. Merkle log: checkpoints and proofs at 10,000 and 1,000,000 events (bench/scenarios/proof.ts)');
    const detail = await proofScenario({ port: ctx.service.port, dbUrl: String(ctx.serviceEnv.DATABASE_URL), adminToken: ctx.tokens.admin, log });
    return { detail, rows: [] };
  },
  async a(ctx) {
    log(`a. single eligibility: GET /v1/chats/{chatId}/training-eligibility (training:read JWT), ${fmt(ctx.seededChats)} distinct chatIds, shuffled`);
    log('   vs baseline GET /chats/:id (one PK SELECT on chats, no auth)');
    const baseNext = rotation(ctx.seededChats, 1, (i) => `/chats/${chatId(i)}`);
    const svcNext = rotation(ctx.seededChats, 1, (i) => `/v1/chats/${chatId(i)}/training-eligibility`);
    const { median, all, p99Ratio } = await rounds(
      ctx,
      { ...loadDefaults(), title: 'baseline chat PK select', port: ctx.baseline.port, next: (req) => ({ ...req, path: baseNext() }) },
      {
        ...loadDefaults(),
        title: 'single eligibility',
        port: ctx.service.port,
        headers: { authorization: `Bearer ${ctx.tokens.training}` },
        next: (req) => ({ ...req, path: svcNext() }),
      },
    );
    const { service, baseline, ratio } = median;
    const clean = all.every((r) => r.service.non2xx + r.service.errors === 0);
    return {
      detail: { service, baseline, ratio: round(ratio, 3), p99Ratio: round(p99Ratio, 3), rounds: all.map((r) => ({ ratio: round(r.ratio, 3), p99Ratio: round(r.p99Ratio, 3), service: r.service.reqPerS, baseline: r.baseline.reqPerS })) },
      rows: [
        {
          scenario: 'a1',
          label: 'a. eligibility req/s',
          target: `>= ${TARGETS.a.minRatio}x baseline`,
          measured: `${fmt(ratio, 2)}x (${fmt(service.reqPerS)} vs ${fmt(baseline.reqPerS)} req/s${roundsNote(all, (r) => r.ratio)})`,
          pass: clean && ratio >= TARGETS.a.minRatio,
          table: { service: figures(service), baseline: figures(baseline), ratio, p99Ratio: median.p99Ratio },
        },
        {
          scenario: 'a2',
          label: 'a. eligibility p99',
          target: `<= ${TARGETS.a.maxP99Ratio}x baseline p99`,
          measured: `${fmt(p99Ratio, 2)}x (median round: ${fmt(median.service.p99Ms, 2)} vs ${fmt(median.baseline.p99Ms, 2)} ms${roundsNote(all, (r) => r.p99Ratio)})`,
          pass: clean && p99Ratio <= TARGETS.a.maxP99Ratio,
        },
      ],
    };
  },

  async b(ctx) {
    log(`b. consent read: GET /v1/users/{id}/training-consent (consent:read JWT), ${fmt(ctx.seededUsers)} distinct users, shuffled`);
    log('   vs baseline GET /users/:id (one PK SELECT on users, no auth)');
    const baseNext = rotation(ctx.seededUsers, 2, (i) => `/users/${userId(i)}`);
    const svcNext = rotation(ctx.seededUsers, 2, (i) => `/v1/users/${userId(i)}/training-consent`);
    const { median, all } = await rounds(
      ctx,
      { ...loadDefaults(), title: 'baseline user PK select', port: ctx.baseline.port, next: (req) => ({ ...req, path: baseNext() }) },
      {
        ...loadDefaults(),
        title: 'consent read',
        port: ctx.service.port,
        headers: { authorization: `Bearer ${ctx.tokens.read}` },
        next: (req) => ({ ...req, path: svcNext() }),
      },
    );
    const { service, baseline, ratio } = median;
    ctx.lastUserBaseline = baseline;
    return {
      detail: { service, baseline, ratio: round(ratio, 3), p99Ratio: round(median.p99Ratio, 3), rounds: all.map((r) => ({ ratio: round(r.ratio, 3), service: r.service.reqPerS, baseline: r.baseline.reqPerS })) },
      rows: [
        {
          scenario: 'b',
          label: 'b. consent read req/s',
          target: `>= ${TARGETS.b.minRatio}x baseline`,
          measured: `${fmt(ratio, 2)}x (${fmt(service.reqPerS)} vs ${fmt(baseline.reqPerS)} req/s${roundsNote(all, (r) => r.ratio)})`,
          pass: all.every((r) => r.service.non2xx + r.service.errors === 0) && ratio >= TARGETS.b.minRatio,
          table: { service: figures(service), baseline: figures(baseline), ratio, p99Ratio: median.p99Ratio },
        },
      ],
    };
  },

  async c(ctx) {
    log(`c. consent write: PUT /v1/users/{id}/training-consent (consent:write JWT), each request another of ${fmt(ctx.seededUsers)} users`);
    log('   (each user is written its seeded choice again, so eligibility does not change); vs baseline GET /users/:id for reference');
    let baseline = ctx.lastUserBaseline ?? null;
    if (baseline === null) {
      const baseNext = rotation(ctx.seededUsers, 2, (i) => `/users/${userId(i)}`);
      baseline = await measure(ctx, 'baseline', {
        ...loadDefaults(),
        title: 'baseline user PK select',
        port: ctx.baseline.port,
        next: (req) => ({ ...req, path: baseNext() }),
      });
    } else {
      log(`  baseline  (from b) ${fmt(baseline.reqPerS)} req/s  p50 ${fmt(baseline.p50Ms, 2)} ms  p99 ${fmt(baseline.p99Ms, 2)} ms`);
    }
    const order = shuffled(ctx.seededUsers, 3);
    let k = 0;
    const service = await measure(ctx, 'service', {
      ...loadDefaults(),
      title: 'consent write',
      port: ctx.service.port,
      method: 'PUT',
      headers: { authorization: `Bearer ${ctx.tokens.write}`, 'content-type': 'application/json' },
      next: (req) => {
        const u = order[k++ % order.length];
        return { ...req, method: 'PUT', path: `/v1/users/${userId(u)}/training-consent`, body: JSON.stringify({ choice: denies(u) ? 'denied' : 'granted', surface: 'web' }) };
      },
    });
    const ratio = service.reqPerS / baseline.reqPerS;
    return {
      detail: { service, baselineRead: baseline, ratioToBaselineRead: round(ratio, 3), users: ctx.seededUsers },
      rows: [
        {
          scenario: 'c',
          label: 'c. consent write/s',
          target: `>= ${fmt(TARGETS.c.minWritesPerS)} writes/s`,
          measured: `${fmt(service.reqPerS)} writes/s (${fmt(ratio, 2)}x baseline read)`,
          pass: service.non2xx + service.errors === 0 && service.reqPerS >= TARGETS.c.minWritesPerS,
          table: { service: figures(service), baseline: figures(baseline), ratio, p99Ratio: service.p99Ms / baseline.p99Ms },
        },
      ],
    };
  },

  async d(ctx) {
    const size = Math.min(config.batchSize, ctx.seededChats);
    log(`d. batch: POST /v1/training-eligibility/batch of ${fmt(size)} distinct chatIds, ${config.batchRuns} sequential runs (+${config.batchWarmupRuns} warm-up)`);
    log(`   vs baseline POST /batch: SELECT ... FROM chats WHERE chat_id = ANY($1) returning ${fmt(size)} rows; client-side latency, runs interleaved`);
    if (size < config.batchSize) log(`   (only ${fmt(ctx.seededChats)} chats seeded: batch reduced to ${fmt(size)})`);
    const order = shuffled(ctx.seededChats, 4);
    const idsFor = (run: number) => {
      const ids: string[] = new Array(size);
      const start = (run * size) % ctx.seededChats;
      for (let j = 0; j < size; j++) ids[j] = chatId(order[(start + j) % ctx.seededChats]);
      return ids;
    };
    const svcMs: number[] = [];
    const baseMs: number[] = [];
    const baseServerMs: number[] = [];
    const svcAuth = { authorization: `Bearer ${ctx.tokens.training}` };
    let eligibleSeen = 0;
    const meter = cpuMeter({ service: ctx.service.pid, baseline: ctx.baseline.pid });
    for (let run = 0; run < config.batchWarmupRuns + config.batchRuns; run++) {
      const ids = idsFor(run);
      const svcBody = JSON.stringify({ chatIds: ids });
      const baseBody = JSON.stringify({ chatIds: ids });
      // Alternate which goes first, so neither always meets a cache the other just warmed.
      const pair = run % 2 === 0 ? ['service', 'baseline'] : ['baseline', 'service'];
      for (const who of pair) {
        const t0 = performance.now();
        const res =
          who === 'service'
            ? await request(ctx.service.port, '/v1/training-eligibility/batch', { method: 'POST', headers: svcAuth, body: svcBody, timeoutMs: 120_000 })
            : await request(ctx.baseline.port, '/batch', { method: 'POST', body: baseBody, timeoutMs: 120_000 });
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${who} batch answered ${res.status}: ${res.body.slice(0, 300)}`);
        const body = JSON.parse(res.body) as { results?: { eligible: boolean }[]; count?: number; serverMs?: number };
        if (who === 'service') {
          if (body.results?.length !== size) throw new Error(`service batch returned ${body.results?.length} results for ${size} ids`);
          if (run >= config.batchWarmupRuns) {
            svcMs.push(ms);
            eligibleSeen += body.results.filter((r) => r.eligible).length;
          }
        } else {
          if (body.count !== size) throw new Error(`baseline batch returned ${body.count} rows for ${size} ids`);
          if (run >= config.batchWarmupRuns) {
            baseMs.push(ms);
            baseServerMs.push(body.serverMs ?? Number.NaN);
          }
        }
      }
    }
    const cpu = meter.stop();
    const svcMedian = median(svcMs);
    const baseMedian = median(baseMs);
    const ratio = svcMedian / baseMedian;
    log(`  service   median ${fmt(svcMedian, 1)} ms  p90 ${fmt(percentile(svcMs, 90), 1)} ms  min ${fmt(Math.min(...svcMs), 1)} ms  (${fmt(eligibleSeen / svcMs.length, 0)} eligible per batch)`);
    log(`  baseline  median ${fmt(baseMedian, 1)} ms  p90 ${fmt(percentile(baseMs, 90), 1)} ms  min ${fmt(Math.min(...baseMs), 1)} ms  (its own SELECT: median ${fmt(median(baseServerMs), 1)} ms)`);
    log(`            cpu (cores): ${Object.entries(cpu).filter(([k]) => !k.endsWith('Kernel')).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const r = (xs: number[]) => xs.map((x) => round(x, 2));
    return {
      detail: {
        batchSize: size,
        runs: config.batchRuns,
        service: { medianMs: round(svcMedian, 2), p90Ms: round(percentile(svcMs, 90), 2), runsMs: r(svcMs) },
        baseline: { medianMs: round(baseMedian, 2), p90Ms: round(percentile(baseMs, 90), 2), runsMs: r(baseMs), serverMedianMs: round(median(baseServerMs), 2) },
        ratio: round(ratio, 3),
        cpuCores: cpu,
      },
      rows: [
        {
          scenario: 'd',
          label: `d. batch ${size >= 1000 ? `${size / 1000}k` : size} median`,
          target: `<= ${TARGETS.d.maxMedianRatio}x baseline`,
          measured: `${fmt(ratio, 2)}x (${fmt(svcMedian, 1)} vs ${fmt(baseMedian, 1)} ms)`,
          pass: ratio <= TARGETS.d.maxMedianRatio,
          table: {
            service: { rate: 1000 / svcMedian, p50: svcMedian, p99: percentile(svcMs, 99) },
            baseline: { rate: 1000 / baseMedian, p50: baseMedian, p99: percentile(baseMs, 99) },
            ratio: baseMedian / svcMedian,
            p99Ratio: percentile(svcMs, 99) / percentile(baseMs, 99),
          },
        },
      ],
    };
  },

  async e(ctx) {
    const expected = [...Array(ctx.seededChats).keys()].reduce((n, i) => n + (denies(ownerOf(i)) ? 0 : 1), 0);
    log(`e. stream: GET /v1/training-eligibility/eligible-chats over ${fmt(ctx.seededChats)} chats (${fmt(expected)} eligible), ${config.streamRounds} rounds`);
    log('   vs baseline GET /stream: a server-side cursor over the chats that are not incognito, written as the same NDJSON lines');
    const before = memoryOf(ctx.service.pid);
    const rss = sampleRss(ctx.service.pid, 50);
    const meter = cpuMeter({ service: ctx.service.pid, baseline: ctx.baseline.pid });
    type Run = { seconds: number; firstByteMs: number; lines: number; bytes: number; firstLine: string; lastLine: string; revision?: string };
    const runOnce = async (who: 'service' | 'baseline' | 'floor'): Promise<Run> => {
      // What the last stream left behind is done first: the other server's collection of it (on two
      // cores it shares the CPU with the next stream's first page) and the bench's own garbage, so
      // that neither is timed as this stream's first byte.
      for (let i = 0; i < 12 && (await machineBusy(250)) >= QUIET_CORES; i++);
      collectGarbage();
      const t0 = performance.now();
      let firstByteMs = Number.NaN;
      if (who === 'floor') {
        // The bare limit for a first byte: Fastify and one primary-key SELECT, after the same wait.
        const res = await streamLines(ctx.baseline.port, `/chats/${chatId(0)}`, {}, undefined, undefined, () => {
          firstByteMs = performance.now() - t0;
        });
        if (res.status !== 200) throw new Error(`the baseline's chat answered ${res.status}`);
        return { seconds: (performance.now() - t0) / 1000, firstByteMs, lines: 0, bytes: res.bytes, firstLine: '', lastLine: '' };
      }
      const res =
        who === 'service'
          ? await streamLines(ctx.service.port, '/v1/training-eligibility/eligible-chats', { authorization: `Bearer ${ctx.tokens.training}` }, undefined, undefined, () => {
              firstByteMs = performance.now() - t0;
            })
          : await streamLines(ctx.baseline.port, '/stream', {}, undefined, undefined, () => {
              firstByteMs = performance.now() - t0;
            });
      const seconds = (performance.now() - t0) / 1000;
      if (res.status !== 200) throw new Error(`${who} stream answered ${res.status}`);
      return { seconds, firstByteMs, lines: res.lines, bytes: res.bytes, firstLine: res.firstLine, lastLine: res.lastLine, revision: res.headers['consent-revision'] as string | undefined };
    };
    const svc: Run[] = [];
    const base: Run[] = [];
    const floor: Run[] = [];
    const ratios: number[] = [];
    // One untimed stream each first, as the load scenarios warm up: the service's first stream
    // after it started runs its code cold (a first byte 5-6 times its later ones).
    for (const who of ['baseline', 'service'] as const) await runOnce(who);
    for (let round = 0; round < config.streamRounds; round++) {
      const pair: ('service' | 'baseline')[] = round % 2 === 0 ? ['baseline', 'service'] : ['service', 'baseline'];
      const got: Partial<Record<'service' | 'baseline', Run>> = {};
      for (const who of pair) got[who] = await runOnce(who);
      floor.push(await runOnce('floor'));
      svc.push(got.service!);
      base.push(got.baseline!);
      ratios.push(got.service!.seconds / got.baseline!.seconds);
      log(
        `  round ${round + 1}: service ${fmt(got.service!.lines / got.service!.seconds)} lines/s (first byte ${fmt(got.service!.firstByteMs, 1)} ms), ` +
          `baseline ${fmt(got.baseline!.lines / got.baseline!.seconds)} lines/s (first byte ${fmt(got.baseline!.firstByteMs, 1)} ms, ${fmt(got.baseline!.lines)} lines): ${fmt(ratios.at(-1)!, 2)}x the time; ` +
          `bare one-query GET's first byte ${fmt(floor.at(-1)!.firstByteMs, 1)} ms`,
      );
    }
    // Untimed: one more stream, every line parsed: chatIds strictly ascending in byte order, each an
    // eligible chat, as many as expected (so none missing and none twice).
    let previous: Buffer | null = null;
    let verified = 0;
    let wrong = '';
    await streamLines(ctx.service.port, '/v1/training-eligibility/eligible-chats', { authorization: `Bearer ${ctx.tokens.training}` }, undefined, undefined, undefined, (line) => {
      const { chatId: id } = JSON.parse(line) as { chatId: string };
      const bytes = Buffer.from(id);
      if (previous !== null && Buffer.compare(previous, bytes) >= 0) wrong ||= `${id} after ${previous.toString()}`;
      const n = Number(id.slice('bench-c-'.length));
      if (!(n >= 0 && n < ctx.seededChats) || denies(ownerOf(n))) wrong ||= `${id} is not an eligible chat`;
      previous = bytes;
      verified++;
    });
    if (verified !== expected) wrong ||= `${verified} lines, not ${expected}`;
    log(wrong === '' ? `  verified: ${fmt(verified)} lines, chatIds strictly ascending in byte order, every one eligible, none missing` : `  !! stream check failed: ${wrong}`);
    const cpu = meter.stop();
    const { peakRssMiB, samples } = rss.stop();
    const after = memoryOf(ctx.service.pid);
    const last = svc.at(-1)!;
    const seconds = median(svc.map((r) => r.seconds));
    const perS = last.lines / seconds;
    const ratio = median(ratios);
    const firstByte = median(svc.map((r) => r.firstByteMs));
    const floorFirstByte = median(floor.map((r) => r.firstByteMs));
    log(
      `  service ${fmt(last.lines)} lines (${fmt(last.bytes / 2 ** 20, 1)} MiB), median ${fmt(seconds, 2)} s = ${fmt(perS)} chats/s` +
        (svc.every((r) => r.lines === expected) ? ' (count as expected)' : ` !! expected ${fmt(expected)}`),
    );
    log(
      `  baseline median ${fmt(median(base.map((r) => r.seconds)), 2)} s = ${fmt(base[0].lines / median(base.map((r) => r.seconds)))} lines/s, ` +
        `first byte ${fmt(median(base.map((r) => r.firstByteMs)), 1)} ms; median ratio ${fmt(ratio, 2)}x the time; service's first byte ${fmt(firstByte, 1)} ms ` +
        `(the bare one-query GET's, after the same wait: ${fmt(floorFirstByte, 1)} ms)`,
    );
    log(
      `  service RSS: ${fmt(before?.rssMiB, 0)} MiB before, peak ${fmt(peakRssMiB, 0)} MiB during (${samples} samples), ` +
        `VmHWM ${fmt(after?.hwmMiB, 0)} MiB (peak since the service started: seeding and earlier scenarios included)`,
    );
    log(`            cpu (cores): ${Object.entries(cpu).filter(([k]) => !k.endsWith('Kernel')).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    log(`  first line ${last.firstLine}`);
    log(`  last line  ${last.lastLine}`);
    const countOk = svc.every((r) => r.lines === expected) && wrong === '';
    return {
      detail: {
        chats: ctx.seededChats,
        expectedEligible: expected,
        lines: last.lines,
        bytes: last.bytes,
        rounds: svc.map((r, i) => ({ serviceS: round(r.seconds, 3), baselineS: round(base[i].seconds, 3), ratio: round(ratios[i], 3), firstByteMs: round(r.firstByteMs, 2), baselineFirstByteMs: round(base[i].firstByteMs, 2), bareGetFirstByteMs: round(floor[i].firstByteMs, 2) })),
        seconds: round(seconds, 3),
        chatsPerS: Math.round(perS),
        baselineLinesPerS: Math.round(base[0].lines / median(base.map((r) => r.seconds))),
        ratio: round(ratio, 3),
        firstByteMs: round(firstByte, 2),
        baselineFirstByteMs: round(median(base.map((r) => r.firstByteMs)), 2),
        bareGetFirstByteMs: round(floorFirstByte, 2),
        rssMiB: { before: before && round(before.rssMiB, 1), peakDuring: round(peakRssMiB, 1), vmHwmAfter: after && round(after.hwmMiB, 1), samples },
        consentRevision: last.revision,
        cpuCores: cpu,
      },
      rows: [
        {
          scenario: 'e1',
          label: 'e. stream time vs raw cursor',
          target: `<= ${TARGETS.e.maxMedianRatio}x, >= ${fmt(TARGETS.e.minChatsPerS)} chats/s`,
          measured: `${fmt(ratio, 2)}x (${fmt(perS)} chats/s, ${fmt(last.lines)} in ${fmt(seconds, 1)} s)${countOk ? '' : ' WRONG COUNT'}`,
          pass: countOk && perS >= TARGETS.e.minChatsPerS && ratio <= TARGETS.e.maxMedianRatio,
        },
        {
          scenario: 'e2',
          label: 'e. stream first byte',
          target: `<= ${TARGETS.e.maxFirstByteMs} ms`,
          measured: `${fmt(firstByte, 1)} ms (median; a bare one-query GET's: ${fmt(floorFirstByte, 1)} ms)`,
          pass: firstByte <= TARGETS.e.maxFirstByteMs,
        },
        {
          scenario: 'e3',
          label: 'e. stream peak RSS',
          target: `< ${TARGETS.e.maxPeakRssMiB} MB`,
          measured: `${fmt(peakRssMiB, 0)} MiB`,
          pass: peakRssMiB < TARGETS.e.maxPeakRssMiB,
        },
      ],
    };
  },
};

// GraphQL beside REST (bench/scenarios/graphql.ts).
Object.assign(SCENARIOS, graphqlScenarios({ log, userId, chatId, denies, config }));
// What the protection plugins cost the hot reads (bench/scenarios/protection.ts).
Object.assign(SCENARIOS, protectionScenarios({ log, userId, chatId, config, startService: (env) => startService(env, null), stopChild }));
// Read replicas and failover, on clusters of their own (bench/scenarios/replicas.ts); not in the default set: BENCH_SCENARIOS=k.
Object.assign(SCENARIOS, replicaScenarios({ log, userId, chatId, denies, config, startService: (env) => startService(env, null) }));

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
