/**
 * `npm run bench:console`: what the console costs a browser on loopback. Starts the service on an
 * in-memory database with a temporary JWKS, opens /console in headless Chromium with a fresh
 * profile (nothing cached), and reports the bytes transferred (compressed, headers included, as
 * the browser counts them) and the time to first contentful paint of the sign-in page, then the
 * time from pressing "Sign in" to the overview's figures and the bytes that took. BENCH_RUNS (5)
 * cold loads; medians.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { chromium } from 'playwright-core';
import { freePort, startChild, stopChild, waitReady } from './lib/proc.js';
import { median, round } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

const tmp = mkdtempSync(join(os.tmpdir(), 'consent-bench-console-'));
const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const jwksFile = join(tmp, 'jwks.json');
writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' }] }));
const token = await new SignJWT({ scope: 'audit:read consent:read training:read' })
  .setProtectedHeader({ alg: 'EdDSA', kid: 'bench' })
  .setSubject('bench')
  .setIssuer('bench')
  .setAudience('consent-service')
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(privateKey);
const port = await freePort();
const service = startChild(
  'service',
  ['--import', 'tsx', 'src/server.ts'],
  { ...process.env, PORT: String(port), DATABASE_URL: 'memory://', AUTH_JWKS_FILE: jwksFile, AUTH_ISSUER: 'bench', LOG_LEVEL: 'warn' },
  port,
  ROOT,
);
const results: { firstBytes: number; fcp: number; files: number; signInMs: number; overviewBytes: number }[] = [];
try {
  await waitReady(service, '/readyz');
  for (let run = 0; run < RUNS; run++) {
    const profile = mkdtempSync(join(tmp, 'profile-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
    const page = context.pages()[0] ?? (await context.newPage());
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    let bytes = 0;
    let files = 0;
    cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
      bytes += e.encodedDataLength;
      files++;
    });
    await page.goto(`http://127.0.0.1:${port}/console`, { waitUntil: 'networkidle' });
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN);
    const firstBytes = bytes;
    const firstFiles = files;
    await page.fill('#token', token);
    const started = performance.now();
    await page.click('main button[type=submit]');
    await page.locator('[data-figure="users-total"]').waitFor();
    const signInMs = performance.now() - started;
    await page.waitForLoadState('networkidle');
    results.push({ firstBytes, fcp, files: firstFiles, signInMs, overviewBytes: bytes - firstBytes });
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
} finally {
  await stopChild(service);
  rmSync(tmp, { recursive: true, force: true });
}
const m = (k: keyof (typeof results)[number]) => median(results.map((r) => r[k]));
process.stdout.write(
  `console on loopback, ${RUNS} cold loads (fresh profile each), medians:\n` +
    `  sign-in page: ${round(m('firstBytes') / 1024, 1)} KiB transferred in ${m('files')} responses, first contentful paint ${round(m('fcp'), 0)} ms after navigation\n` +
    `  sign in to the overview's figures: ${round(m('signInMs'), 0)} ms, ${round(m('overviewBytes') / 1024, 1)} KiB more (its modules and the API's answers)\n`,
);
