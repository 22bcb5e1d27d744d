import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { publicKeys } from '../../src/auth/keys.js';
import type { LoggedEvent } from '../../src/audit/hash.js';
import { verifyDatabase } from '../../src/proof/database-log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** Embedded databases started in this process block its event loop for seconds: no overload to shed. */
const NO_SHEDDING = { MAX_EVENT_LOOP_DELAY_MS: '0' };

/*
 * SPEC §6 "Verification": the log is tampered with as a superuser would, its triggers disabled,
 * and the verifier must name where it first breaks.
 */

const run = promisify(execFile);
let t: TestApp | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

interface Logged {
  app: TestApp;
  events: LoggedEvent[];
  jwks: { keys: JWK[] };
  jwksFile: string;
}

/** Three users' interleaved chains, an erased fourth, and checkpoints before, between and after. */
async function loggedApp(): Promise<Logged> {
  const app = await startTestApp(NO_SHEDDING);
  t = app;
  const admin = await app.bearer('admin');
  const write = (user: string, choice: string) =>
    app.http.put(`/v1/users/${user}/training-consent`).set('authorization', admin).send({ choice, surface: 'web' }).expect(200);
  const checkpoint = () => app.http.post('/v1/audit/checkpoints').set('authorization', admin).expect(201);
  for (const u of ['t-ann', 't-bob', 't-cid', 't-gone']) await app.http.put(`/v1/users/${u}/plan`).set('authorization', admin).send({ plan: 'pro' }).expect(200);
  await checkpoint();
  for (let i = 0; i < 4; i++) for (const u of ['t-ann', 't-bob', 't-cid']) await write(u, i % 2 ? 'granted' : 'denied');
  await app.http.delete('/v1/users/t-gone').set('authorization', admin).expect(200);
  await checkpoint();
  await write('t-ann', 'granted');
  await write('t-cid', 'granted');
  await checkpoint();
  const events = (await app.http.get('/v1/audit/events?limit=1000').set('authorization', admin).expect(200)).body.items as LoggedEvent[];
  const jwks = publicKeys(JSON.parse(readFileSync(app.keys.signingKeysFile, 'utf8')));
  const dir = mkdtempSync(join(tmpdir(), 'consent-verify-'));
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
  return { app, events, jwks, jwksFile };
}

const userOf = (e: LoggedEvent) => ('userId' in e ? e.userId : null);

/** Runs SQL with the log's triggers off, as its owner or a superuser can. */
async function asSuperuser(app: TestApp, ...statements: string[]) {
  await app.db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
  try {
    for (const s of statements) await app.db.query(s);
  } finally {
    await app.db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
  }
}

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout } = await run('node', ['--import', 'tsx', 'src/cli/audit-verify.ts', ...args], { env: { ...process.env, ...env }, cwd: process.cwd() });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout + e.stderr };
  }
}

describe('audit verification', () => {
  it('passes an untouched log (with an erased user), from the database and from an export, and names the first break of an altered export', async () => {
    const { app, events, jwks, jwksFile } = await loggedApp();
    const report = await verifyDatabase(app.db, jwks);
    expect(report.breaks).toEqual([]);
    expect(report).toMatchObject({ ok: true, events: events.length, checkpoints: 3 });

    const admin = await app.bearer('admin');
    const checkpoints = (await app.http.get('/v1/audit/checkpoints').set('authorization', admin).expect(200)).body.items;
    const dir = mkdtempSync(join(tmpdir(), 'consent-export-'));
    const file = join(dir, 'log.json');
    writeFileSync(file, JSON.stringify({ events, checkpoints }));
    const ok = await cli(['--file', file, '--jwks', jwksFile], {});
    expect(ok.stdout).toMatch(/verifies/);
    expect(ok.code).toBe(0);

    const victim = events.find((e) => e.type === 'consent.choice_recorded' && userOf(e) === 't-bob')!;
    const altered = events.map((e) => (e === victim ? { ...e, data: { choice: 'granted', surface: 'cli' } } : e));
    writeFileSync(file, JSON.stringify({ events: altered, checkpoints }));
    const bad = await cli(['--file', file, '--jwks', jwksFile], {});
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`first breaks at revision ${victim.revision}`);

    // A user's own export verifies offline too.
    const exported = (await app.http.get('/v1/users/t-ann/export').set('authorization', admin).expect(200)).body;
    writeFileSync(file, JSON.stringify(exported));
    expect((await cli(['--file', file, '--jwks', jwksFile], {})).code).toBe(0);
    exported.proofs[1].path[0] = exported.proofs[1].path[0].replace(/^./, (c: string) => (c === 'a' ? 'b' : 'a'));
    writeFileSync(file, JSON.stringify(exported));
    const badExport = await cli(['--file', file, '--jwks', jwksFile], {});
    expect(badExport.code).toBe(1);
    expect(badExport.stdout).toContain(`first breaks at revision ${exported.events[1].revision}`);
  });

  it('names an altered event', async () => {
    const { app, events, jwks } = await loggedApp();
    const victim = events.find((e) => userOf(e) === 't-bob' && e.type === 'consent.choice_recorded')!;
    await asSuperuser(app, `UPDATE audit_events SET occurred_at = occurred_at + interval '1 second' WHERE revision = ${victim.revision}`);
    const report = await verifyDatabase(app.db, jwks);
    expect(report.ok).toBe(false);
    expect(report.first!.where).toBe(`revision ${victim.revision}`);
    expect(report.first!.message).toMatch(/altered/);

    // The personal part, outside the append-only log, is covered by the same hash.
    const other = events.find((e) => userOf(e) === 't-cid' && e.type === 'consent.choice_recorded')!;
    await app.db.query(`UPDATE audit_event_personal SET data = '{"choice":"granted","surface":"cli"}' WHERE revision = ${other.revision}`);
    const both = await verifyDatabase(app.db, jwks);
    expect(both.breaks.map((b) => b.where)).toEqual(expect.arrayContaining([`revision ${victim.revision}`, `revision ${other.revision}`]));
  });

  it('names the event after a deleted one', async () => {
    const { app, events, jwks } = await loggedApp();
    const at = events.findIndex((e) => userOf(e) === 't-ann' && e.type === 'consent.choice_recorded');
    await asSuperuser(app, `DELETE FROM audit_event_personal WHERE revision = ${events[at].revision}`, `DELETE FROM audit_events WHERE revision = ${events[at].revision}`);
    const report = await verifyDatabase(app.db, jwks);
    expect(report.ok).toBe(false);
    expect(report.first!.where).toBe(`revision ${events[at + 1].revision}`);
  });

  it("names where a whole user's chain was deleted", async () => {
    const { app, events, jwks } = await loggedApp();
    const first = events.findIndex((e) => userOf(e) === 't-bob');
    await asSuperuser(
      app,
      `DELETE FROM audit_events WHERE revision IN (SELECT revision FROM audit_event_personal WHERE user_id = 't-bob')`,
      `DELETE FROM audit_event_personal WHERE user_id = 't-bob'`,
      `DELETE FROM users WHERE user_id = 't-bob'`,
    );
    const after = events.slice(first + 1).find((e) => userOf(e) !== 't-bob')!;
    const report = await verifyDatabase(app.db, jwks);
    expect(report.ok).toBe(false);
    expect(report.first!.where).toBe(`revision ${after.revision}`);
    expect(report.breaks.some((b) => b.where.startsWith('checkpoint'))).toBe(true);
  });

  it('names a reordered pair', async () => {
    const { app, events, jwks } = await loggedApp();
    const i = events.findIndex((e, k) => k > 5 && userOf(e) !== null && userOf(events[k + 1]) !== null && userOf(e) !== userOf(events[k + 1]));
    const [a, b] = [events[i].revision, events[i + 1].revision];
    await asSuperuser(
      app,
      ...['audit_events', 'audit_event_personal'].flatMap((table) => [
        `UPDATE ${table} SET revision = -1 WHERE revision = ${a}`,
        `UPDATE ${table} SET revision = ${a} WHERE revision = ${b}`,
        `UPDATE ${table} SET revision = ${b} WHERE revision = -1`,
      ]),
    );
    const report = await verifyDatabase(app.db, jwks);
    expect(report.ok).toBe(false);
    expect(report.first!.where).toBe(`revision ${a}`);
  });

  it.runIf(process.env.TEST_DATABASE === 'postgres')('npm run audit:verify checks the database of DATABASE_URL: exit 0, then 1 naming the break', async () => {
    const { app, events, jwksFile } = await loggedApp();
    const env = { DATABASE_URL: app.url!, SIGNING_KEYS_FILE: app.keys.signingKeysFile, LOG_LEVEL: 'silent' };
    const ok = await cli([], env);
    expect(ok.stdout).toMatch(/the audit log verifies/);
    expect(ok.code).toBe(0);
    const victim = events[3];
    await asSuperuser(app, `UPDATE audit_events SET hash = reverse(hash) WHERE revision = ${victim.revision}`);
    const bad = await cli(['--jwks', jwksFile], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`first breaks at revision ${victim.revision}`);
  });
});
