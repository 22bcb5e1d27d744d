/**
 * `npm run soak`: minutes of mixed load against the service on PostgreSQL, as frontends and
 * pipelines would send it together: eligibility reads (single and batches of 1,000), consent
 * reads and writes, chat registrations and activity reports, the change feed, and a stream of
 * every eligible chat every few seconds. It reports the errors (there must be none), latency
 * percentiles per operation, and the service's RSS over time (it must stay flat), as a table and
 * as an SVG plot in bench/results/ (soak.md, soak.svg, soak.json).
 *
 * Knobs: SOAK_DURATION_S (120), SOAK_USERS (2,000), SOAK_CHATS (20,000), SOAK_CONNECTIONS (32),
 * SOAK_PG_URL (postgres://postgres@127.0.0.1:5432/postgres), SOAK_DB (consent_soak, dropped first
 * and afterwards).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import postgres from 'postgres';
import { agent, request, streamLines } from './lib/http.js';
import { freePort, memoryOf, startChild, stopChild, waitReady, type Child } from './lib/proc.js';
import { seed } from './lib/seed.js';
import { percentile } from './lib/stats.js';
import { rssPlot } from './lib/plot.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');
const int = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const config = {
  durationS: int('SOAK_DURATION_S', 120),
  users: int('SOAK_USERS', 2_000),
  chats: int('SOAK_CHATS', 20_000),
  connections: int('SOAK_CONNECTIONS', 32),
  pgUrl: process.env.SOAK_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  db: process.env.SOAK_DB ?? 'consent_soak',
};
/** How often the service's RSS is sampled, and how often a full stream of eligible chats starts. */
const RSS_EVERY_MS = 1_000;
const STREAM_EVERY_MS = 10_000;
const BATCH_SIZE = 1_000;

const userId = (i: number) => `soak-u-${String(i).padStart(6, '0')}`;
const chatId = (i: number) => `soak-c-${String(i).padStart(7, '0')}`;
const log = (line = '') => process.stdout.write(`${line}\n`);

/** Weighted operations of the closed-loop workers: what a chat product and its pipelines send. */
interface Op {
  name: string;
  weight: number;
  request(i: number, tokens: Tokens): { method: string; path: string; body?: string; token: string; expect: number[] };
}
interface Tokens {
  pipeline: string;
  reader: string;
  writer: string;
}

const OPS: Op[] = [
  { name: 'eligibility GET', weight: 35, request: (i, t) => ({ method: 'GET', path: `/v1/chats/${chatId(i % config.chats)}/training-eligibility`, token: t.pipeline, expect: [200] }) },
  { name: 'consent GET', weight: 20, request: (i, t) => ({ method: 'GET', path: `/v1/users/${userId(i % config.users)}/training-consent`, token: t.reader, expect: [200] }) },
  {
    name: 'consent PUT',
    weight: 10,
    request: (i, t) => ({
      method: 'PUT',
      path: `/v1/users/${userId(i % config.users)}/training-consent`,
      body: JSON.stringify({ choice: i % 10 === 9 ? 'denied' : 'granted', surface: 'web' }),
      token: t.writer,
      expect: [200],
    }),
  },
  { name: 'activity POST', weight: 15, request: (i, t) => ({ method: 'POST', path: `/v1/chats/${chatId(i % config.chats)}/activity`, body: '{}', token: t.writer, expect: [204] }) },
  {
    name: 'chat PUT (new)',
    weight: 5,
    request: (i, t) => ({ method: 'PUT', path: `/v1/chats/soak-new-${process.pid}-${i}`, body: JSON.stringify({ userId: userId(i % config.users) }), token: t.writer, expect: [201] }),
  },
  {
    name: 'batch of 1,000',
    weight: 2,
    request: (i, t) => ({
      method: 'POST',
      path: '/v1/training-eligibility/batch',
      body: JSON.stringify({ chatIds: Array.from({ length: BATCH_SIZE }, (_, k) => chatId((i * 7919 + k) % config.chats)) }),
      token: t.pipeline,
      expect: [200],
    }),
  },
  { name: 'change feed page', weight: 5, request: (i, t) => ({ method: 'GET', path: `/v1/audit/events?after=${i % 1000}&limit=100`, token: t.pipeline, expect: [200] }) },
];

interface Record {
  ms: number[];
  errors: number;
  statuses: Map<number, number>;
}

async function main() {
  log('consent service soak');
  log(`  ${config.durationS} s of mixed load, ${config.connections} connections, ${config.users} users, ${config.chats} chats, node ${process.version}, ${os.cpus().length} CPUs`);
  const admin = postgres(config.pgUrl, { max: 1, onnotice: () => {} });
  const tmp = mkdtempSync(join(os.tmpdir(), 'consent-soak-'));
  let service: Child | null = null;
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${config.db} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${config.db}`);
    const dbUrl = new URL(config.pgUrl);
    dbUrl.pathname = `/${config.db}`;

    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwksFile = join(tmp, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'soak', alg: 'EdDSA', use: 'sig' }] }));
    const sign = (sub: string, scope: string) =>
      new SignJWT({ scope }).setProtectedHeader({ alg: 'EdDSA', kid: 'soak' }).setSubject(sub).setIssuer('https://issuer.soak.invalid').setAudience('consent-service').setIssuedAt().setExpirationTime('6h').sign(privateKey);
    const tokens: Tokens = { pipeline: await sign('soak-pipeline', 'training:read'), reader: await sign('soak-reader', 'consent:read'), writer: await sign('soak-frontend', 'consent:write') };

    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
    const port = await freePort();
    service = startChild(
      'service',
      ['dist/server.js'],
      {
        PATH: process.env.PATH,
        DATABASE_URL: dbUrl.toString(),
        DATABASE_POOL_SIZE: '16',
        AUTH_JWKS_FILE: jwksFile,
        AUTH_ISSUER: 'https://issuer.soak.invalid',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        // The soak measures the service under its own limits, not against them: one caller sends it all.
        RATE_LIMIT_MAX: '1000000000',
      },
      port,
      ROOT,
    );
    await waitReady(service, '/readyz', 120_000);

    const deadline = Date.now() + 3_600_000;
    const seeded = await seed('users', port, { authorization: `Bearer ${tokens.writer}` }, config.users, 32, (i) => ({
      method: 'POST',
      path: `/v1/users/${userId(i)}/terms-acceptances`,
      body: JSON.stringify({ policyVersion: '2025-09-28', surface: 'web', plan: 'pro', trainingChoice: i % 10 === 9 ? 'denied' : 'granted', presentation: { trainingToggleDefault: true, trainingToggleShown: true } }),
      expect: [201],
    }), deadline);
    const chats = await seed('chats', port, { authorization: `Bearer ${tokens.writer}` }, config.chats, 32, (i) => ({
      method: 'PUT',
      path: `/v1/chats/${chatId(i)}`,
      body: JSON.stringify({ userId: userId(i % config.users) }),
      expect: [201],
    }), deadline);
    log(`  seeded ${seeded.done} users (${seeded.perSecond}/s) and ${chats.done} chats (${chats.perSecond}/s)`);

    // The load: closed-loop workers drawing operations by weight, a stream every few seconds, RSS every second.
    const records = new Map<string, Record>(OPS.map((op) => [op.name, { ms: [], errors: 0, statuses: new Map() }]));
    records.set('eligible-chats stream', { ms: [], errors: 0, statuses: new Map() });
    const total = OPS.reduce((n, op) => n + op.weight, 0);
    const pick = (r: number) => {
      let x = r * total;
      for (const op of OPS) if ((x -= op.weight) < 0) return op;
      return OPS[0];
    };
    const started = Date.now();
    const end = started + config.durationS * 1000;
    const rss: { t: number; mib: number }[] = [];
    const sampler = setInterval(() => {
      const m = memoryOf(service!.pid);
      if (m) rss.push({ t: (Date.now() - started) / 1000, mib: m.rssMiB });
    }, RSS_EVERY_MS);
    let seq = 0;
    const failures: string[] = [];
    const note = (name: string, status: number, ms: number, ok: boolean, detail: string) => {
      const rec = records.get(name)!;
      rec.ms.push(ms);
      rec.statuses.set(status, (rec.statuses.get(status) ?? 0) + 1);
      if (!ok) {
        rec.errors++;
        if (failures.length < 20) failures.push(`${name}: ${status} ${detail.slice(0, 200)}`);
      }
    };
    const worker = async (w: number) => {
      let rand = w * 2654435761;
      while (Date.now() < end) {
        rand = (rand * 1103515245 + 12345) >>> 0;
        const op = pick(rand / 2 ** 32);
        const i = seq++;
        const req = op.request(i, tokens);
        const t0 = performance.now();
        try {
          const res = await request(port, req.path, { method: req.method, headers: { authorization: `Bearer ${req.token}` }, body: req.body, timeoutMs: 30_000 });
          note(op.name, res.status, performance.now() - t0, req.expect.includes(res.status), res.body);
        } catch (err) {
          note(op.name, 0, performance.now() - t0, false, (err as Error).message);
        }
      }
    };
    const streams = (async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        try {
          const res = await streamLines(port, '/v1/training-eligibility/eligible-chats', { authorization: `Bearer ${tokens.pipeline}` });
          note('eligible-chats stream', res.status, performance.now() - t0, res.status === 200 && res.lines > 0, `${res.lines} lines`);
        } catch (err) {
          note('eligible-chats stream', 0, performance.now() - t0, false, (err as Error).message);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(STREAM_EVERY_MS, end - Date.now()))));
      }
    })();
    await Promise.all([...Array.from({ length: config.connections }, (_, w) => worker(w)), streams]);
    clearInterval(sampler);

    // The report.
    const rows = [...records].map(([name, r]) => ({
      operation: name,
      requests: r.ms.length,
      errors: r.errors,
      perSecond: Math.round(r.ms.length / config.durationS),
      p50: round(percentile(r.ms, 50)),
      p95: round(percentile(r.ms, 95)),
      p99: round(percentile(r.ms, 99)),
      max: round(Math.max(0, ...r.ms)),
    }));
    const errors = rows.reduce((n, r) => n + r.errors, 0);
    const flat = rssTrend(rss);
    const table = [
      '| operation | requests | req/s | errors | p50 ms | p95 ms | p99 ms | max ms |',
      '|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.operation} | ${r.requests} | ${r.perSecond} | ${r.errors} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.max} |`),
    ].join('\n');
    const rssLine =
      `RSS: ${flat.first} MiB at the start of the load, ${flat.min}–${flat.max} MiB during it, ${flat.last} MiB at its end; ` +
      `over the second half, ${flat.slopePerMin >= 0 ? '+' : ''}${flat.slopePerMin} MiB/min (${flat.flat ? 'flat' : 'NOT flat'})`;
    log('');
    log(table);
    log('');
    log(rssLine);
    log(`errors: ${errors}${errors ? ` (first ones: ${failures.join(' | ')})` : ''}`);
    mkdirSync(RESULTS, { recursive: true });
    const title = `Soak: ${config.durationS} s, ${config.connections} connections, ${config.users} users, ${config.chats} chats`;
    writeFileSync(join(RESULTS, 'soak.json'), JSON.stringify({ config, when: new Date().toISOString(), rows, rss, flat, errors, failures }, null, 2));
    writeFileSync(join(RESULTS, 'soak.svg'), rssPlot(title, rss, rows));
    writeFileSync(join(RESULTS, 'soak.md'), `# ${title}\n\n${table}\n\n${rssLine}\n\nErrors: ${errors}\n\n![RSS over time](soak.svg)\n`);
    log(`written: bench/results/soak.md, soak.svg, soak.json`);
    process.exitCode = errors === 0 && flat.flat ? 0 : 1;
  } finally {
    if (service) await stopChild(service).catch(() => {});
    agent.destroy();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${config.db} WITH (FORCE)`).catch(() => {});
    await admin.end({ timeout: 5 }).catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

/**
 * Whether RSS stayed flat: the least-squares slope over the second half of the run (the first
 * half includes the heap growing to its working size), flat when under 2 % of the median per
 * minute.
 */
function rssTrend(samples: { t: number; mib: number }[]) {
  const mibs = samples.map((s) => s.mib);
  const half = samples.slice(Math.floor(samples.length / 2));
  const n = half.length;
  const mt = half.reduce((a, s) => a + s.t, 0) / Math.max(1, n);
  const mm = half.reduce((a, s) => a + s.mib, 0) / Math.max(1, n);
  const cov = half.reduce((a, s) => a + (s.t - mt) * (s.mib - mm), 0);
  const v = half.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const slopePerMin = v === 0 ? 0 : (cov / v) * 60;
  const median = percentile(mibs, 50);
  return {
    first: round(mibs[0] ?? 0),
    last: round(mibs.at(-1) ?? 0),
    min: round(Math.min(...mibs)),
    max: round(Math.max(...mibs)),
    slopePerMin: round(slopePerMin),
    flat: Math.abs(slopePerMin) <= 0.02 * median,
  };
}

main().catch((err) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
