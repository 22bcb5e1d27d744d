/**
 * Scenario c (the consent write) on two builds of the service, alternated on the same fresh
 * seeding, to measure what a change costs writes on a shared, noisy machine:
 *
 *   BENCH_COMPARE=/path/to/before,/path/to/after node --import tsx bench/compare-writes.ts
 *
 * Each directory is a checkout with its dependencies installed; each is compiled once (`tsc`). For
 * every round and side: a fresh database (BENCH_DB, default consent_bench_proof), the service of that
 * side started on it, 10,000 users seeded through its API (terms acceptance with a plan and a
 * choice), 5 s of unmeasured writes, then BENCH_DURATION (15) s of writes with 32 connections, each
 * request another user. Reported per round: writes/s, and CPU per write of the service process and
 * of the PostgreSQL backends serving it (from /proc, so less sensitive than throughput to other load
 * on the machine). Rounds alternate which side goes first (BENCH_ROUNDS, default 4).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import postgres from 'postgres';
import { agent } from './lib/http.js';
import { runLoad, warmUp } from './lib/load.js';
import { cpuSecondsOf, freePort, machineBusy, startChild, stopChild, waitReady } from './lib/proc.js';
import { seed } from './lib/seed.js';
import { median, round } from './lib/stats.js';

const dirs = (process.env.BENCH_COMPARE ?? '').split(',').filter(Boolean).map((d) => resolve(d));
if (dirs.length !== 2) throw new Error('BENCH_COMPARE must name two directories: before,after');
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const durationS = Number(process.env.BENCH_DURATION ?? 15);
const users = 10_000;
const pgUrl = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = process.env.BENCH_DB || 'consent_bench_proof';
const log = (line = '') => process.stdout.write(`${line}\n`);

const userId = (i: number) => `bench-u-${String(i).padStart(6, '0')}`;

async function main() {
  for (const dir of dirs) execFileSync(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  const tmp = mkdtempSync(join(os.tmpdir(), 'consent-compare-'));
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  writeFileSync(join(tmp, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'EdDSA' }] }));
  const token = await new SignJWT({ scope: 'consent:write' })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k' })
    .setSubject('bench-frontend')
    .setIssuer('bench')
    .setAudience('consent-service')
    .setExpirationTime('6h')
    .sign(privateKey);
  const admin = postgres(pgUrl, { max: 1, onnotice: () => {} });
  const dbUrl = new URL(pgUrl);
  dbUrl.pathname = `/${dbName}`;
  const rows: { round: number; side: string; writesPerS: number; serviceUs: number; postgresUs: number; busyBefore: number }[] = [];
  log(`compare-writes: ${dirs.join(' vs ')}; ${rounds} rounds, ${durationS} s each, ${os.cpus().length} CPUs`);
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const side of order) {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.unsafe(`CREATE DATABASE ${dbName}`);
        const port = await freePort();
        const env = {
          ...process.env,
          PORT: String(port),
          DATABASE_URL: dbUrl.toString(),
          DATABASE_POOL_SIZE: '16',
          DATA_DIR: join(tmp, `data-${side}`),
          AUTH_JWKS_FILE: join(tmp, 'jwks.json'),
          AUTH_ISSUER: 'bench',
          AUTH_AUDIENCE: 'consent-service',
          LOG_LEVEL: 'warn',
          NODE_ENV: 'production',
        };
        const child = startChild('service', ['dist/server.js'], env, port, dirs[side]);
        try {
          await waitReady(child, '/readyz', 120_000);
          const headers = { authorization: `Bearer ${token}` };
          await seed('users', port, headers, users, 32, (i) => ({
            method: 'POST',
            path: `/v1/users/${userId(i)}/terms-acceptances`,
            body: JSON.stringify({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: i % 10 === 9 ? 'denied' : 'granted', plan: 'pro', presentation: { trainingToggleDefault: true, trainingToggleShown: true, locale: 'en-US' } }),
            expect: [201],
          }), Date.now() + 600_000);
          const db = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
          await db.unsafe('VACUUM ANALYZE');
          await db.unsafe('CHECKPOINT');
          let k = 0;
          const spec = {
            title: 'consent write',
            port,
            connections: 32,
            durationS,
            warmupS: 0,
            method: 'PUT',
            headers: { ...headers, 'content-type': 'application/json' },
            next: (req: Parameters<Parameters<typeof runLoad>[0]['next']>[0]) => {
              const u = (k++ * 7919) % users;
              return { ...req, method: 'PUT', path: `/v1/users/${userId(u)}/training-consent`, body: JSON.stringify({ choice: u % 10 === 9 ? 'denied' : 'granted', surface: 'web' }) };
            },
          };
          await warmUp(spec, 5);
          const backends = (await db`SELECT pid FROM pg_stat_activity WHERE datname = ${dbName} AND application_name = 'consent-service'`).map((x) => Number(x.pid));
          const busyBefore = await machineBusy(1_000);
          const cpu0 = { service: cpuSecondsOf(child.pid), pg: backends.reduce((s, p) => s + cpuSecondsOf(p), 0) };
          const res = await runLoad(spec);
          const cpu1 = { service: cpuSecondsOf(child.pid), pg: backends.reduce((s, p) => s + cpuSecondsOf(p), 0) };
          await db.end({ timeout: 5 });
          if (res.non2xx + res.errors > 0) throw new Error(`side ${side}: ${res.non2xx} non-2xx, ${res.errors} errors`);
          const row = {
            round: r + 1,
            side: side === 0 ? 'before' : 'after',
            writesPerS: Math.round(res.reqPerS),
            serviceUs: Math.round(((cpu1.service - cpu0.service) / res.ok) * 1e6),
            postgresUs: Math.round(((cpu1.pg - cpu0.pg) / res.ok) * 1e6),
            busyBefore: round(busyBefore, 2),
          };
          rows.push(row);
          log(`round ${row.round} ${row.side.padEnd(6)} ${String(row.writesPerS).padStart(5)} writes/s  service ${row.serviceUs} us/write  postgres ${row.postgresUs} us/write  (machine busy ${row.busyBefore} cores before)`);
        } finally {
          await stopChild(child);
        }
      }
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end({ timeout: 5 });
    agent.destroy();
  }
  log('');
  for (let r = 1; r <= rounds; r++) {
    const b = rows.find((x) => x.round === r && x.side === 'before')!;
    const a = rows.find((x) => x.round === r && x.side === 'after')!;
    log(`round ${r}: after/before writes/s ${round(a.writesPerS / b.writesPerS, 3)}, CPU per write service ${round(a.serviceUs / b.serviceUs, 3)}, postgres ${round(a.postgresUs / b.postgresUs, 3)}`);
  }
  const med = (side: string, f: (x: (typeof rows)[number]) => number) => median(rows.filter((x) => x.side === side).map(f));
  log(
    `median: before ${med('before', (x) => x.writesPerS)} writes/s, after ${med('after', (x) => x.writesPerS)}; ` +
      `CPU per write before ${med('before', (x) => x.serviceUs)} + ${med('before', (x) => x.postgresUs)} us, after ${med('after', (x) => x.serviceUs)} + ${med('after', (x) => x.postgresUs)} us (service + postgres)`,
  );
}

main().catch((err) => {
  process.stderr.write(`compare-writes failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
