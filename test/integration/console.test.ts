import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../../src/http/console.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { launchBrowser, seriousViolations, type TestBrowser } from '../helpers/browser.js';

/**
 * The console in a real headless Chromium, against the real service and database: sign-in, the
 * overview's figures against the API's, a user's chain verified in the browser (and shown broken
 * once an event is altered behind the service's back), a REST write arriving in the live log,
 * scheduling a policy through the form, missing scopes and refused tokens, an axe-core check of
 * every view, and nothing fetched from anywhere but the service. One browser, one page, in order.
 */

let t: TestApp;
let b: TestBrowser;
let base: string;
let writer: string;
let auditorToken: string;
let adminToken: string;
let readerToken: string;
const auditor = () => `Bearer ${auditorToken}`;

const PRESET_ON = { trainingToggleDefault: true, trainingToggleShown: true, uiVariant: 'small-toggle', locale: 'en-GB' };
const PRESET_OFF = { trainingToggleDefault: false, trainingToggleShown: true, uiVariant: 'large-toggle' };
const HIDDEN = { trainingToggleDefault: true, trainingToggleShown: false, uiVariant: 'no-toggle' };

const accept = async (userId: string, surface: string, trainingChoice: string, plan: string, presentation: object) => {
  const res = await t.http
    .post(`/v1/users/${userId}/terms-acceptances`)
    .set('authorization', writer)
    .send({ policyVersion: '2025-09-28', surface, trainingChoice, plan, presentation });
  expect(res.status).toBe(201);
};

beforeAll(async () => {
  t = await startTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  writer = await t.bearer('consent:write', 'frontend');
  auditorToken = await t.keys.token({ sub: 'privacy-officer', scope: 'audit:read consent:read training:read' });
  adminToken = await t.keys.token({ sub: 'policy-owner', scope: 'admin' });
  readerToken = await t.keys.token({ sub: 'support', scope: 'consent:read' });
  await accept('c-alice', 'web', 'granted', 'pro', PRESET_ON);
  await accept('c-bob', 'ios', 'granted', 'free', PRESET_OFF);
  await accept('c-carol', 'android', 'denied', 'free', PRESET_ON);
  await accept('c-dave', 'web', 'granted', 'max', HIDDEN);
  expect((await t.http.put('/v1/users/c-frank/plan').set('authorization', writer).send({ plan: 'free' })).status).toBe(200);
  expect((await t.http.put('/v1/chats/c-chat-1').set('authorization', writer).send({ userId: 'c-alice' })).status).toBe(201);
  expect((await t.http.put('/v1/chats/c-chat-2').set('authorization', writer).send({ userId: 'c-alice', incognito: true })).status).toBe(201);
  b = await launchBrowser();
});

afterAll(async () => {
  await b?.close();
  await t?.close();
});

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(async () => {
    await b.screenshot(`failed ${task.name}`).catch(() => {});
  });
});
afterEach(async ({ task }) => {
  if (process.env.CONSOLE_SCREENSHOTS === '1') await b.screenshot(task.name);
});

async function signIn(token: string): Promise<void> {
  const { page } = b;
  if (await page.locator('#sign-out').isVisible()) await page.click('#sign-out');
  await page.locator('#token').waitFor();
  await page.fill('#token', token);
  await page.click('main button[type=submit]');
  await page.locator('#nav').waitFor({ state: 'visible' });
}

async function expectAccessible(): Promise<void> {
  expect(await seriousViolations(b.page)).toEqual([]);
}

const text = async (selector: string) => (await b.page.locator(selector).innerText()).trim();
const figure = async (name: string) => Number((await text(`[data-figure="${name}"]`)).split(/\s/)[0].replace(/,/g, ''));

describe('the console', () => {
  it('is served with a strict Content-Security-Policy, compressed, with an ETag', async () => {
    const res = await t.http.get('/console').set('accept-encoding', 'br');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-encoding']).toBe('br');
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const again = await t.http.get('/console/app.js').set('if-none-match', (await t.http.get('/console/app.js')).headers.etag);
    expect(again.status).toBe(304);
    expect((await t.http.get('/console/lib/api.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await t.http.get('/console/nothing-here.js')).status).toBe(404);
    const html = (await t.http.get('/console').set('accept-encoding', 'identity')).text;
    // Keys from a JWKS file: no token command; the service offers receipts and the export.
    expect(html).toContain('data-development-keys="false"');
    expect(html).toContain('data-receipts="true"');
    expect(html).toContain('data-export="true"');
  });

  it('refuses a bad token at sign-in, signs in with a good one, and keeps it out of storage', async () => {
    const { page } = b;
    await page.goto(`${base}/console`);
    await page.locator('#token').waitFor();
    await expectAccessible();
    expect(await page.locator('.notice', { hasText: 'npm run' }).count()).toBe(0);
    await page.fill('#token', 'not-a-token');
    await page.click('main button[type=submit]');
    await page.locator('#token-error', { hasText: 'did not accept' }).waitFor();
    await signIn(auditorToken);
    await page.locator('[data-figure="users-total"]').waitFor();
    expect(await text('#who-text')).toContain('privacy-officer');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(stored).not.toContain(auditorToken.slice(0, 20));
    expect(page.url()).not.toContain(auditorToken.slice(0, 20));
  });

  it('shows the overview with the same figures as the API', async () => {
    const { page } = b;
    await page.locator('[data-figure="users-total"]').waitFor();
    const stats = (await t.http.get('/v1/consent-statistics').set('authorization', auditor())).body;
    expect(await figure('users-total')).toBe(stats.users.total);
    expect(await figure('users-total')).toBe(5);
    expect(await figure('decision-required')).toBe(stats.users.decisionRequired);
    expect(await figure('grants-total')).toBe(stats.grantsInForce.total);
    const byEvidence = Object.fromEntries(stats.grantsInForce.byEvidence.map((e: { evidence: string; count: number }) => [e.evidence, e.count]));
    expect(await figure('grants-active')).toBe(byEvidence.popup_toggle_preset_off + byEvidence.outside_popup);
    expect(await figure('grants-passive')).toBe(byEvidence.popup_toggle_preset_on + byEvidence.popup_toggle_hidden + byEvidence.default_after_deadline);
    expect(await figure('acceptances-total')).toBe(stats.termsAcceptances.total);
    // The table has a cell per plan and basis (granted and denied choices together).
    const cells = new Map<string, number>();
    for (const row of stats.users.byPlanAndBasis) {
      const key = `#plan-basis td[data-plan="${row.plan ?? 'none'}"][data-basis="${row.basis}"]`;
      cells.set(key, (cells.get(key) ?? 0) + row.count);
    }
    expect(cells.size).toBeGreaterThan(3);
    for (const [selector, count] of cells) expect(Number((await text(selector)).replace(/,/g, ''))).toBe(count);
    expect(await page.locator('svg[role="img"] title', { hasText: 'Consent choices per day' }).count()).toBe(1);
    await expectAccessible();

    // At a revision: the figures of that point.
    // Right after the first user's terms acceptance: one user then.
    const first = (await t.http.get('/v1/users/c-alice/audit-events').set('authorization', auditor())).body.items.find(
      (e: { type: string }) => e.type === 'consent.choice_recorded',
    ).revision;
    await page.selectOption('#point-kind', 'atRevision');
    await page.fill('#point-value', first);
    await page.click('form[aria-label="Point to evaluate at"] button');
    await page.locator('[data-figure="point"]', { hasText: `revision ${first},` }).waitFor();
    const then = (await t.http.get(`/v1/consent-statistics?atRevision=${first}`).set('authorization', auditor())).body;
    expect(await figure('users-total')).toBe(then.users.total);
    expect(then.users.total).toBe(1);
  });

  it("opens a user's page and verifies the chain in the browser", async () => {
    const { page } = b;
    await page.fill('#find-user-id', 'c-alice');
    await page.click('#find-user button[type=submit]');
    await page.locator('#chain-status [data-chain]').waitFor();
    expect(await page.getAttribute('#chain-status [data-chain]', 'data-chain')).toBe('verified');
    const events = (await t.http.get('/v1/users/c-alice/audit-events?limit=1000').set('authorization', auditor())).body.items;
    expect(await page.locator('#timeline li.verified').count()).toBe(events.length);
    expect(await page.locator('#timeline li.tampered').count()).toBe(0);
    expect(await text('[data-figure="basis"]')).toBe('user choice');
    expect(await text('section[aria-labelledby="terms-h"] table')).toContain('small-toggle');
    const chats = await text('section[aria-labelledby="chats-h"] table');
    expect(chats).toContain('c-chat-1');
    expect(chats).toMatch(/c-chat-2.*incognito/s);
    // A consent receipt, its signature checked in the browser against the published keys.
    await page.locator('#timeline button', { hasText: 'Consent receipt' }).first().click();
    await page.locator('#timeline .notice', { hasText: 'Receipt signature verified' }).waitFor();
    // The export, with an inclusion proof per event.
    await page.click('button:has-text("Prepare the export")');
    await page.locator('a[download="export-c-alice.json"]').waitFor();
    expect(await text('section[aria-labelledby="proof-h"] [role="status"]')).toContain(`${events.length} events with their inclusion proofs`);
    await expectAccessible();
  });

  it('shows a REST write in the live log, filtered by type and paused on request', async () => {
    const { page } = b;
    await page.click('#nav a[href="#/live"]');
    await page.locator('#live-status[data-state="live"]').waitFor();
    await expectAccessible();
    const write = await t.http.put('/v1/users/c-bob/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'web' });
    expect(write.status).toBe(200);
    const row = page.locator(`#live-rows tr[data-revision="${write.body.revision}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('consent.choice_recorded');
    expect(await row.innerText()).toContain('c-bob');

    await page.uncheck('#type-consent-choice-recorded');
    await row.waitFor({ state: 'detached' });
    await page.check('#type-consent-choice-recorded');
    await row.waitFor();

    await page.click('#live-pause');
    expect(await page.getAttribute('#live-pause', 'aria-pressed')).toBe('true');
    const second = await t.http.put('/v1/users/c-bob/plan').set('authorization', writer).send({ plan: 'pro' });
    expect(second.status).toBe(200);
    await page.locator('#live-counts', { hasText: '2 events received' }).waitFor();
    expect(await page.locator(`#live-rows tr[data-revision="${second.body.revision}"]`).count()).toBe(0);
    await page.click('#live-pause');
    await page.locator(`#live-rows tr[data-revision="${second.body.revision}"]`).waitFor();
  });

  it("schedules a future policy version through the form, with the API's validation", async () => {
    const { page } = b;
    await signIn(adminToken);
    await page.click('#nav a[href="#/policies"]');
    await page.locator('#policy-version').waitFor();
    await expectAccessible();
    const local = (ms: number) => new Date(ms).toISOString().slice(0, 19);
    const effective = Date.now() + 2 * 86_400_000;
    await page.fill('#policy-version', 'console-2027');
    await page.fill('#policy-effectiveAt', local(effective));
    await page.fill('#policy-decisionDeadline', local(effective - 86_400_000));
    await page.click('form button[type=submit]:has-text("Schedule version")');
    await page.locator('#policy-form-status', { hasText: 'decisionDeadline must not be before effectiveAt' }).waitFor();
    expect((await t.http.get('/v1/policies/console-2027').set('authorization', auditor())).status).toBe(404);

    await page.fill('#policy-decisionDeadline', local(effective + 30 * 86_400_000));
    await page.click('form button[type=submit]:has-text("Schedule version")');
    await page.locator('#policy-form-status', { hasText: 'Version console-2027 is scheduled' }).waitFor();
    const created = await t.http.get('/v1/policies/console-2027').set('authorization', auditor());
    expect(created.status).toBe(200);
    expect(created.body.effectiveAt).toBe(`${local(effective)}.000Z`);
    expect(await text('section[aria-labelledby="versions-h"] table')).toMatch(/console-2027\s+scheduled/);
    await expectAccessible();
  });

  it('explains a missing scope, and goes back to sign-in when the service refuses the token', async () => {
    const { page } = b;
    await signIn(readerToken);
    await page.click('#nav a[href="#/overview"]');
    await page.locator('#overview-body .notice', { hasText: 'may not read the consent statistics' }).waitFor();
    await page.click('#nav a[href="#/live"]');
    await page.locator('#live-status', { hasText: 'may not follow the change feed' }).waitFor();
    // A token the service stops accepting (expired, its key withdrawn) while the tab is signed in.
    await page.evaluate("import('/console/lib/session.js').then((m) => m.signIn('aaa.bbb.ccc'))");
    await page.click('#nav a[href="#/policies"]');
    await page.locator('main .notice', { hasText: 'refused the token' }).waitFor();
    expect(await page.locator('#token').isVisible()).toBe(true);
  });

  it('shows the chain broken where an event was altered behind the service', async () => {
    const { page } = b;
    const events = (await t.http.get('/v1/users/c-alice/audit-events').set('authorization', auditor())).body.items;
    const choice = events.find((e: { type: string }) => e.type === 'consent.choice_recorded');
    // As a superuser, with the log's triggers off for this transaction: what the database lets its owner do.
    await t.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE audit_event_personal SET data = '{"choice": "denied", "surface": "web"}'::jsonb WHERE revision = $1`, [choice.revision]);
    });
    await page.fill('#token', auditorToken);
    await page.click('main button[type=submit]');
    await page.locator('#nav').waitFor({ state: 'visible' });
    await page.fill('#find-user-id', 'c-alice');
    await page.click('#find-user button[type=submit]');
    await page.locator('#chain-status [data-chain]').waitFor();
    expect(await page.getAttribute('#chain-status [data-chain]', 'data-chain')).toBe('broken');
    expect(await text('#chain-status')).toContain(`the first at revision ${choice.revision}`);
    expect(await page.locator('#timeline li.tampered').count()).toBe(1);
    expect(await page.getAttribute('#timeline li.tampered', 'data-revision')).toBe(choice.revision);
    expect(await text('#timeline li.tampered')).toContain('hash does not match');
    await expectAccessible();
  });

  it('fetched nothing from anywhere but the service, and broke no rule of its CSP', () => {
    expect(b.requests.length).toBeGreaterThan(10);
    expect(b.requests.filter((url) => !url.startsWith(`${base}/`) && !url.startsWith(`${base.replace('http', 'ws')}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(b.problems.filter((p) => /Content Security Policy|pageerror/i.test(p))).toEqual([]);
  });

  it('shows the token command while development keys are in use', async () => {
    const dev: FastifyInstance = Fastify();
    await dev.register(consoleRoutes, { development: true });
    await dev.listen({ port: 0, host: '127.0.0.1' });
    try {
      await b.page.goto(`http://127.0.0.1:${(dev.server.address() as AddressInfo).port}/console`);
      await b.page.locator('.notice', { hasText: 'Development keys are in use' }).waitFor();
      expect(await text('main .notice')).toContain("npm run -s token -- --sub console --scope 'audit:read consent:read training:read'");
    } finally {
      await dev.close();
    }
  });
});
