import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The consent core over real HTTP and a real database: users and plans, policies, training
 * consent (now, as of a time, after a revision), ETags, terms acceptances and Idempotency-Key.
 * Tests in this file share one database and run in order; each uses users of its own. The
 * reconsent policy changes the policy in effect for everyone, so it comes last.
 */

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DECIMAL = /^\d+$/;
const DEADLINE = '2025-09-28T00:00:00.000Z';
const SEEDED_POLICY = {
  version: '2025-09-28',
  effectiveAt: '2025-08-28T00:00:00.000Z',
  decisionDeadline: DEADLINE,
  defaultChoice: 'granted',
  requiresReconsent: false,
  retention: { grantedDays: 1825, deniedDays: 30, violationDays: 730 },
};
const PRESENTATION = { trainingToggleDefault: true, trainingToggleShown: true };

let t: TestApp;
let writer: string;
let otherWriter: string;
let reader: string;
let admin: string;
let auditor: string;

beforeAll(async () => {
  t = await startTestApp();
  writer = await t.bearer('consent:write', 'frontend');
  otherWriter = await t.bearer('consent:write', 'other-frontend');
  reader = await t.bearer('consent:read', 'reader');
  admin = await t.bearer('admin', 'admin-1');
  auditor = await t.bearer('audit:read', 'auditor');
});
afterAll(async () => t?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the local clock (the server's too: same machine) has passed `instant`. */
async function waitUntilPast(instant: number): Promise<void> {
  while (Date.now() <= instant) await sleep(Math.max(1, instant - Date.now() + 1));
}

function expectProblem(res: Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, requestId: res.headers['x-request-id'] });
  expect(typeof res.body.type).toBe('string');
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
}

const setPlan = (userId: string, plan: string, auth = writer) => t.http.put(`/v1/users/${userId}/plan`).set('authorization', auth).send({ plan });
const setChoice = (userId: string, choice: string, surface = 'web', auth = writer) =>
  t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', auth).send({ choice, surface });
const getConsent = (userId: string, query = '', auth = reader) =>
  t.http.get(`/v1/users/${userId}/training-consent${query}`).set('authorization', auth);
const accept = (userId: string, body: Record<string, unknown>, auth = writer) =>
  t.http
    .post(`/v1/users/${userId}/terms-acceptances`)
    .set('authorization', auth)
    .send({ policyVersion: '2025-09-28', surface: 'web', presentation: PRESENTATION, ...body });

interface AuditEvent {
  revision: string;
  type: string;
  userId: string | null;
  data: Record<string, unknown>;
  actor: { sub: string; kind: string };
  occurredAt: string;
  requestId: string;
}

async function userEvents(userId: string): Promise<AuditEvent[]> {
  const res = await t.http.get(`/v1/users/${userId}/audit-events?limit=1000`).set('authorization', auditor);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function countRows(table: 'audit_events' | 'users' | 'policies' | 'idempotency_keys'): Promise<number> {
  const rows = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return Number(rows[0].n);
}

async function countUserEvents(userId: string): Promise<number> {
  const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event_personal WHERE user_id = $1', [userId]);
  return Number(rows[0].n);
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('users', () => {
  it('answers 404 NOT_FOUND for a user never written about', async () => {
    expectProblem(await t.http.get('/v1/users/nobody').set('authorization', reader), 404, 'NOT_FOUND');
    expectProblem(await getConsent('nobody'), 404, 'NOT_FOUND');
    expectProblem(await t.http.get('/v1/users/nobody/terms-acceptances').set('authorization', reader), 404, 'NOT_FOUND');
  });

  it('creates the user on its first write and returns it from PUT plan', async () => {
    const res = await setPlan('u-plan', 'pro');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId: 'u-plan',
      plan: 'pro',
      createdAt: expect.stringMatching(ISO_MS),
      trainingConsent: expect.objectContaining({ userId: 'u-plan', plan: 'pro', effective: 'granted', basis: 'default_after_deadline' }),
      latestTermsAcceptance: null,
      revision: expect.stringMatching(DECIMAL),
    });

    const got = await t.http.get('/v1/users/u-plan').set('authorization', reader);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ userId: 'u-plan', plan: 'pro', createdAt: res.body.createdAt, latestTermsAcceptance: null });
    expect(got.body.trainingConsent).toMatchObject({ userId: 'u-plan', plan: 'pro', choice: null, policyVersion: '2025-09-28' });
    expect(BigInt(got.body.revision)).toBeGreaterThanOrEqual(BigInt(res.body.revision));
  });

  it('changes the plan and keeps createdAt', async () => {
    const first = await setPlan('u-plan-2', 'free');
    await sleep(5);
    const second = await setPlan('u-plan-2', 'team');
    expect(second.status).toBe(200);
    expect(second.body.plan).toBe('team');
    expect(second.body.createdAt).toBe(first.body.createdAt);
    expect(BigInt(second.body.revision)).toBeGreaterThan(BigInt(first.body.revision));
    expect(second.body.trainingConsent).toMatchObject({ plan: 'team', effective: 'denied', basis: 'commercial_plan', decisionRequired: false });
    const got = await t.http.get('/v1/users/u-plan-2').set('authorization', reader);
    expect(got.body.plan).toBe('team');
  });

  it('rejects a plan that is not in the list, and writes nothing', async () => {
    const before = await countRows('audit_events');
    const res = await setPlan('u-plan-bad', 'platinum');
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'body.plan' })]));
    expect(await countRows('audit_events')).toBe(before);
    expectProblem(await t.http.get('/v1/users/u-plan-bad').set('authorization', reader), 404, 'NOT_FOUND');
  });

  it('dates plan changes: the consent as of before a change shows the earlier plan', async () => {
    const free = await setPlan('u-plan-dated', 'free');
    await sleep(10);
    const team = await setPlan('u-plan-dated', 'enterprise');
    expect(team.status).toBe(200);
    const earlier = await getConsent('u-plan-dated', `?asOf=${free.body.trainingConsent.asOf}`);
    expect(earlier.status).toBe(200);
    expect(earlier.body).toMatchObject({ plan: 'free', effective: 'granted', basis: 'default_after_deadline' });
    const now = await getConsent('u-plan-dated');
    expect(now.body).toMatchObject({ plan: 'enterprise', effective: 'denied', basis: 'commercial_plan' });
  });
});

describe('policies', () => {
  it('lists the seeded 2025-09-28 policy exactly as the contract describes it', async () => {
    const res = await t.http.get('/v1/policies').set('authorization', reader);
    expect(res.status).toBe(200);
    expect(res.body.items[0]).toEqual({ ...SEEDED_POLICY, revision: expect.stringMatching(DECIMAL) });
  });

  it('returns one policy by version, and 404 for an unknown version', async () => {
    const res = await t.http.get('/v1/policies/2025-09-28').set('authorization', reader);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...SEEDED_POLICY, revision: expect.stringMatching(DECIMAL) });
    expectProblem(await t.http.get('/v1/policies/1999-01-01').set('authorization', reader), 404, 'NOT_FOUND');
  });

  it('lets any valid token read policies', async () => {
    for (const scope of ['consent:self', 'training:read', 'audit:read']) {
      const auth = await t.bearer(scope, 'someone');
      expect((await t.http.get('/v1/policies').set('authorization', auth)).status).toBe(200);
      expect((await t.http.get('/v1/policies/2025-09-28').set('authorization', auth)).status).toBe(200);
    }
    expectProblem(await t.http.get('/v1/policies'), 401, 'UNAUTHENTICATED');
  });

  it('lets only admins create policies (403 otherwise, nothing written)', async () => {
    const body = { ...SEEDED_POLICY, version: 'not-admin', effectiveAt: '2099-01-01T00:00:00.000Z', decisionDeadline: '2099-02-01T00:00:00.000Z' };
    const before = await countRows('audit_events');
    for (const scope of ['consent:write', 'consent:read', 'training:read', 'audit:read', 'consent:self']) {
      const res = await t.http.post('/v1/policies').set('authorization', await t.bearer(scope, 'not-an-admin')).send(body);
      expectProblem(res, 403, 'FORBIDDEN');
    }
    expect(await countRows('audit_events')).toBe(before);
    expectProblem(await t.http.get('/v1/policies/not-admin').set('authorization', reader), 404, 'NOT_FOUND');
  });

  it('creates a future policy with 201 and lists policies by effectiveAt, not by creation order', async () => {
    const later = {
      version: '2099-06-01',
      effectiveAt: '2099-06-01T00:00:00Z',
      decisionDeadline: '2099-07-01T00:00:00Z',
      defaultChoice: 'denied',
      requiresReconsent: false,
      retention: { grantedDays: 100, deniedDays: 10, violationDays: 50 },
    };
    const created = await t.http.post('/v1/policies').set('authorization', admin).send(later);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      ...later,
      effectiveAt: '2099-06-01T00:00:00.000Z',
      decisionDeadline: '2099-07-01T00:00:00.000Z',
      revision: expect.stringMatching(DECIMAL),
    });
    const earlier = await t.http
      .post('/v1/policies')
      .set('authorization', admin)
      .send({ ...later, version: '2099-01-01', effectiveAt: '2099-01-01T00:00:00.000Z', decisionDeadline: '2099-02-01T00:00:00.000Z' });
    expect(earlier.status).toBe(201);
    expect(BigInt(earlier.body.revision)).toBeGreaterThan(BigInt(created.body.revision));

    const one = await t.http.get('/v1/policies/2099-06-01').set('authorization', reader);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(created.body);

    const list = await t.http.get('/v1/policies').set('authorization', reader);
    const versions = list.body.items.map((p: { version: string }) => p.version);
    expect(versions).toEqual(['2025-09-28', '2099-01-01', '2099-06-01']);
    const times = list.body.items.map((p: { effectiveAt: string }) => Date.parse(p.effectiveAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // A future policy changes nothing now.
    await setPlan('u-future-policy', 'free');
    expect((await getConsent('u-future-policy')).body).toMatchObject({ policyVersion: '2025-09-28', basis: 'default_after_deadline' });
  });

  it('refuses a duplicate version with 409 CONFLICT and keeps the original', async () => {
    const body = {
      version: '2099-dup',
      effectiveAt: '2099-03-01T00:00:00.000Z',
      decisionDeadline: '2099-04-01T00:00:00.000Z',
      defaultChoice: 'granted',
      requiresReconsent: false,
      retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 },
    };
    const first = await t.http.post('/v1/policies').set('authorization', admin).send(body);
    expect(first.status).toBe(201);
    const before = await countRows('audit_events');
    const again = await t.http.post('/v1/policies').set('authorization', admin).send({ ...body, defaultChoice: 'denied', effectiveAt: '2099-05-01T00:00:00.000Z', decisionDeadline: '2099-05-02T00:00:00.000Z' });
    expectProblem(again, 409, 'CONFLICT');
    expect(await countRows('audit_events')).toBe(before);
    const stored = await t.http.get('/v1/policies/2099-dup').set('authorization', reader);
    expect(stored.body).toEqual(first.body);
  });

  it('refuses with 422 UNPROCESSABLE a policy whose effectiveAt is not in the future, and writes nothing', async () => {
    const before = { events: await countRows('audit_events'), policies: await countRows('policies') };
    for (const effectiveAt of [iso(Date.now() - 1000), '2025-10-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z']) {
      const res = await t.http
        .post('/v1/policies')
        .set('authorization', admin)
        .send({ ...SEEDED_POLICY, version: 'in-the-past', effectiveAt, decisionDeadline: '2099-01-01T00:00:00.000Z' });
      expectProblem(res, 422, 'UNPROCESSABLE');
    }
    expect(await countRows('audit_events')).toBe(before.events);
    expect(await countRows('policies')).toBe(before.policies);
    expectProblem(await t.http.get('/v1/policies/in-the-past').set('authorization', reader), 404, 'NOT_FOUND');
  });
});

describe('training consent', () => {
  it('answers the default grant for a consumer user who has not decided after the deadline', async () => {
    const plan = await setPlan('u-default', 'free');
    const res = await getConsent('u-default');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId: 'u-default',
      plan: 'free',
      choice: null,
      choiceAt: null,
      choiceSurface: null,
      effective: 'granted',
      basis: 'default_after_deadline',
      decisionRequired: true,
      policyVersion: '2025-09-28',
      decisionDeadline: DEADLINE,
      retentionDays: 1825,
      // The granted period cannot begin before the user had a consumer plan (set after the deadline here).
      consentSince: plan.body.createdAt,
      asOf: expect.stringMatching(ISO_MS),
      revision: expect.stringMatching(DECIMAL),
    });
  });

  it('records a grant: user_choice, no decision required, and the default grant period continues', async () => {
    await setPlan('u-grant', 'pro');
    const before = await getConsent('u-grant');
    const res = await setChoice('u-grant', 'granted', 'ios');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId: 'u-grant',
      plan: 'pro',
      choice: 'granted',
      choiceAt: expect.stringMatching(ISO_MS),
      choiceSurface: 'ios',
      effective: 'granted',
      basis: 'user_choice',
      decisionRequired: false,
      policyVersion: '2025-09-28',
      decisionDeadline: DEADLINE,
      retentionDays: 1825,
      consentSince: before.body.consentSince,
      asOf: res.body.choiceAt,
      revision: expect.stringMatching(DECIMAL),
    });
    const got = await getConsent('u-grant');
    expect(got.body).toMatchObject({ choice: 'granted', choiceAt: res.body.choiceAt, choiceSurface: 'ios', basis: 'user_choice', consentSince: before.body.consentSince });
  });

  it('records a denial: effective denied, no consentSince, denied retention', async () => {
    await setPlan('u-deny', 'max');
    const res = await setChoice('u-deny', 'denied', 'android');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      choice: 'denied',
      choiceSurface: 'android',
      effective: 'denied',
      basis: 'user_choice',
      decisionRequired: false,
      retentionDays: 30,
      consentSince: null,
    });
    expect((await getConsent('u-deny')).body).toMatchObject({ effective: 'denied', consentSince: null, retentionDays: 30 });
  });

  it('starts a new granted period at a grant that follows a denial', async () => {
    await setPlan('u-regrant', 'free');
    await setChoice('u-regrant', 'denied');
    await sleep(5);
    const grant = await setChoice('u-regrant', 'granted', 'desktop');
    expect(grant.status).toBe(200);
    expect(grant.body.consentSince).toBe(grant.body.choiceAt);
    expect((await getConsent('u-regrant')).body.consentSince).toBe(grant.body.choiceAt);
  });

  it('accepts and audits the same choice again without restarting consentSince', async () => {
    await setPlan('u-same', 'free');
    await setChoice('u-same', 'denied');
    await sleep(5);
    const first = await setChoice('u-same', 'granted');
    const eventsBefore = await countUserEvents('u-same');
    await sleep(5);
    const again = await setChoice('u-same', 'granted', 'cli');
    expect(again.status).toBe(200);
    expect(await countUserEvents('u-same')).toBe(eventsBefore + 1);
    const events = await userEvents('u-same');
    const choices = events.filter((e) => e.type === 'consent.choice_recorded').map((e) => e.data.choice);
    expect(choices).toEqual(['denied', 'granted', 'granted']);
    expect(BigInt(again.body.revision)).toBeGreaterThan(BigInt(first.body.revision));
    expect(again.body.consentSince).toBe(first.body.consentSince);
    expect(again.body.consentSince).toBe(first.body.choiceAt);
    expect((await getConsent('u-same')).body).toMatchObject({ effective: 'granted', consentSince: first.body.choiceAt, choiceSurface: 'cli' });
  });

  it('keeps a commercial plan denied whatever the choice', async () => {
    await setPlan('u-commercial', 'enterprise');
    const res = await setChoice('u-commercial', 'granted');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      plan: 'enterprise',
      choice: 'granted',
      effective: 'denied',
      basis: 'commercial_plan',
      decisionRequired: false,
      consentSince: null,
      retentionDays: 30,
    });
    const undecided = await setPlan('u-commercial-2', 'api');
    expect(undecided.body.trainingConsent).toMatchObject({ effective: 'denied', basis: 'commercial_plan', decisionRequired: false });
  });

  it('fails closed for a user whose plan was never set', async () => {
    const chose = await setChoice('u-noplan', 'granted');
    expect(chose.status).toBe(200);
    expect(chose.body).toMatchObject({ plan: null, choice: 'granted', effective: 'denied', basis: 'plan_unknown', decisionRequired: false, consentSince: null, retentionDays: 30 });

    const accepted = await accept('u-noplan-undecided', {});
    expect(accepted.status).toBe(201);
    expect((await getConsent('u-noplan-undecided')).body).toMatchObject({
      plan: null,
      choice: null,
      effective: 'denied',
      basis: 'plan_unknown',
      decisionRequired: true,
      consentSince: null,
    });
  });

  it('rejects an unknown choice or surface with field paths, and writes nothing', async () => {
    const before = await countRows('audit_events');
    const badChoice = await setChoice('u-badchoice', 'maybe');
    expectProblem(badChoice, 400, 'VALIDATION_FAILED');
    expect(badChoice.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'body.choice' })]));
    const badSurface = await setChoice('u-badchoice', 'granted', 'fax');
    expectProblem(badSurface, 400, 'VALIDATION_FAILED');
    expect(badSurface.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'body.surface' })]));
    expect(await countRows('audit_events')).toBe(before);
    expectProblem(await getConsent('u-badchoice'), 404, 'NOT_FOUND');
  });

  it('holds a consent:self token to its own user', async () => {
    const self = await t.bearer('consent:self', 'u-self');
    const own = await setChoice('u-self', 'denied', 'web', self);
    expect(own.status).toBe(200);
    expect((await getConsent('u-self', '', self)).body.choice).toBe('denied');
    const before = await countRows('audit_events');
    expectProblem(await setChoice('u-someone-else', 'granted', 'web', self), 403, 'FORBIDDEN');
    expectProblem(await getConsent('u-self', '', await t.bearer('consent:self', 'u-intruder')), 403, 'FORBIDDEN');
    expect(await countRows('audit_events')).toBe(before);
  });
});

describe('asOf and atRevision', () => {
  let plan: Response;
  let grant: Response;
  let deny: Response;

  beforeAll(async () => {
    plan = await setPlan('u-time', 'free');
    await sleep(20);
    grant = await setChoice('u-time', 'granted', 'web');
    await sleep(20);
    deny = await setChoice('u-time', 'denied', 'ios');
    expect([plan.status, grant.status, deny.status]).toEqual([200, 200, 200]);
  });

  it('evaluates the state as of an earlier time', async () => {
    const atGrant = await getConsent('u-time', `?asOf=${grant.body.asOf}`);
    expect(atGrant.status).toBe(200);
    expect(atGrant.body).toMatchObject({ choice: 'granted', effective: 'granted', basis: 'user_choice', choiceSurface: 'web', asOf: grant.body.asOf });

    const between = iso(Date.parse(grant.body.asOf) + 10);
    expect(Date.parse(between)).toBeLessThan(Date.parse(deny.body.asOf));
    expect((await getConsent('u-time', `?asOf=${between}`)).body).toMatchObject({ choice: 'granted', effective: 'granted', asOf: between });

    const beforeGrant = iso(Date.parse(grant.body.asOf) - 1);
    expect((await getConsent('u-time', `?asOf=${beforeGrant}`)).body).toMatchObject({ choice: null, basis: 'default_after_deadline', decisionRequired: true });

    expect((await getConsent('u-time', `?asOf=${deny.body.asOf}`)).body).toMatchObject({ choice: 'denied', effective: 'denied', consentSince: null });
  });

  it('evaluates the state after an earlier revision, the same way every time', async () => {
    const atGrant = await getConsent('u-time', `?atRevision=${grant.body.revision}`);
    expect(atGrant.status).toBe(200);
    expect(atGrant.body).toMatchObject({ choice: 'granted', effective: 'granted', basis: 'user_choice', revision: grant.body.revision });

    const atPlan = await getConsent('u-time', `?atRevision=${plan.body.revision}`);
    expect(atPlan.body).toMatchObject({ plan: 'free', choice: null, basis: 'default_after_deadline', revision: plan.body.revision });

    const atDeny = await getConsent('u-time', `?atRevision=${deny.body.revision}`);
    expect(atDeny.body).toMatchObject({ choice: 'denied', effective: 'denied', revision: deny.body.revision });

    // Later writes do not change the answer at a recorded revision.
    await setChoice('u-time', 'granted', 'other');
    const again = await getConsent('u-time', `?atRevision=${grant.body.revision}`);
    expect(again.body).toEqual(atGrant.body);
  });

  it('gives the empty state as of a time before any event about the user', async () => {
    const before = iso(Date.parse(plan.body.createdAt) - 1);
    const res = await getConsent('u-time', `?asOf=${before}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId: 'u-time',
      plan: null,
      choice: null,
      choiceAt: null,
      choiceSurface: null,
      effective: 'denied',
      basis: 'plan_unknown',
      decisionRequired: true,
      policyVersion: '2025-09-28',
      decisionDeadline: DEADLINE,
      retentionDays: 30,
      consentSince: null,
      asOf: before,
      revision: expect.stringMatching(DECIMAL),
    });
  });

  it('knows no policy before the first one took effect', async () => {
    const res = await getConsent('u-time', '?asOf=2025-01-01T00:00:00.000Z');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ plan: null, choice: null, effective: 'denied', policyVersion: null, decisionDeadline: null, retentionDays: null, decisionRequired: false });
  });

  it('accepts asOf with an offset and answers in UTC with milliseconds', async () => {
    const at = Date.parse(grant.body.asOf) + 10;
    const withOffset = new Date(at + 2 * 3_600_000).toISOString().replace(/\.(\d{3})Z$/, '.$1+02:00');
    const res = await getConsent('u-time', `?asOf=${encodeURIComponent(withOffset)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ asOf: iso(at), choice: 'granted' });
  });

  it('refuses asOf in the future with 400', async () => {
    const res = await getConsent('u-time', `?asOf=${iso(Date.now() + 3_600_000)}`);
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path).join(' ')).toMatch(/asOf/);
  });

  it('refuses asOf and atRevision together with 400', async () => {
    const res = await getConsent('u-time', `?asOf=${grant.body.asOf}&atRevision=${grant.body.revision}`);
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('refuses atRevision beyond the newest revision with 400', async () => {
    const newest = (await getConsent('u-time')).body.revision;
    const res = await getConsent('u-time', `?atRevision=${BigInt(newest) + 1000n}`);
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors.map((e: { path: string }) => e.path).join(' ')).toMatch(/atRevision/);
  });

  it('refuses a malformed asOf or atRevision with 400 and a field path', async () => {
    const asOf = await getConsent('u-time', '?asOf=yesterday');
    expectProblem(asOf, 400, 'VALIDATION_FAILED');
    expect(asOf.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'query.asOf' })]));
    const rev = await getConsent('u-time', '?atRevision=-1');
    expectProblem(rev, 400, 'VALIDATION_FAILED');
    expect(rev.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'query.atRevision' })]));
  });
});

describe('ETag and If-Match', () => {
  it('sends an ETag on GET and PUT; the PUT ETag is the one a later GET sends', async () => {
    await setPlan('u-etag', 'free');
    const got = await getConsent('u-etag');
    expect(got.headers.etag).toMatch(/^(W\/)?".+"$/);
    const put = await setChoice('u-etag', 'granted');
    expect(put.status).toBe(200);
    expect(put.headers.etag).toMatch(/^(W\/)?".+"$/);
    expect(put.headers.etag).not.toBe(got.headers.etag);
    const after = await getConsent('u-etag');
    expect(after.headers.etag).toBe(put.headers.etag);
    // A read changes nothing, so the ETag stays.
    expect((await getConsent('u-etag')).headers.etag).toBe(put.headers.etag);
  });

  it('accepts a write whose If-Match is the current ETag', async () => {
    await setPlan('u-ifmatch', 'pro');
    const current = await getConsent('u-ifmatch');
    const res = await t.http
      .put('/v1/users/u-ifmatch/training-consent')
      .set('authorization', writer)
      .set('if-match', current.headers.etag)
      .send({ choice: 'denied', surface: 'web' });
    expect(res.status).toBe(200);
    expect(res.body.choice).toBe('denied');
  });

  it('refuses a stale If-Match with 412 PRECONDITION_FAILED and writes nothing', async () => {
    await setPlan('u-stale', 'free');
    const read = await getConsent('u-stale');
    const stale = read.headers.etag;
    await setChoice('u-stale', 'granted');
    const eventsBefore = await countUserEvents('u-stale');
    const totalBefore = await countRows('audit_events');

    const res = await t.http
      .put('/v1/users/u-stale/training-consent')
      .set('authorization', writer)
      .set('if-match', stale)
      .send({ choice: 'denied', surface: 'web' });
    expectProblem(res, 412, 'PRECONDITION_FAILED');
    expect(await countUserEvents('u-stale')).toBe(eventsBefore);
    expect(await countRows('audit_events')).toBe(totalBefore);
    expect((await getConsent('u-stale')).body).toMatchObject({ choice: 'granted', effective: 'granted' });
  });

  it('lets only one of several concurrent writes with the same If-Match through', async () => {
    await setPlan('u-ifmatch-race', 'free');
    const etag = (await getConsent('u-ifmatch-race')).headers.etag;
    const before = await countUserEvents('u-ifmatch-race');
    const responses = await Promise.all(
      ['granted', 'denied', 'granted', 'denied', 'granted'].map((choice) =>
        t.http.put('/v1/users/u-ifmatch-race/training-consent').set('authorization', writer).set('if-match', etag).send({ choice, surface: 'web' }),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 412, 412, 412, 412]);
    for (const r of responses.filter((x) => x.status === 412)) expectProblem(r, 412, 'PRECONDITION_FAILED');
    expect(await countUserEvents('u-ifmatch-race')).toBe(before + 1);
  });

  it('changes the ETag when the plan changes', async () => {
    await setPlan('u-etag-plan', 'free');
    const before = await getConsent('u-etag-plan');
    await setPlan('u-etag-plan', 'team');
    const after = await getConsent('u-etag-plan');
    expect(after.headers.etag).not.toBe(before.headers.etag);
    const res = await t.http
      .put('/v1/users/u-etag-plan/training-consent')
      .set('authorization', writer)
      .set('if-match', before.headers.etag)
      .send({ choice: 'granted', surface: 'web' });
    expectProblem(res, 412, 'PRECONDITION_FAILED');
  });
});

describe('terms acceptances', () => {
  it('records an acceptance without a choice: 201, one terms event, the consent untouched', async () => {
    await setPlan('u-terms', 'free');
    const before = await getConsent('u-terms');
    const presentation = { trainingToggleDefault: true, trainingToggleShown: true, locale: 'de-DE', uiVariant: 'popup-b' };
    const res = await accept('u-terms', { surface: 'desktop', presentation });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      acceptanceId: expect.any(String),
      userId: 'u-terms',
      policyVersion: '2025-09-28',
      acceptedAt: expect.stringMatching(ISO_MS),
      surface: 'desktop',
      trainingChoice: null,
      presentation,
      revision: expect.stringMatching(DECIMAL),
    });
    const events = await userEvents('u-terms');
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: 'terms.accepted', revision: res.body.revision, occurredAt: res.body.acceptedAt });
    expect(last.data).toMatchObject({ policyVersion: '2025-09-28', surface: 'desktop', presentation });
    expect(events.filter((e) => e.type === 'consent.choice_recorded')).toHaveLength(0);
    const after = await getConsent('u-terms');
    expect(after.body).toMatchObject({ choice: null, basis: before.body.basis, effective: before.body.effective });
  });

  it('records an acceptance with a choice: the audit log shows both facts and the consent follows', async () => {
    await setPlan('u-terms-choice', 'pro');
    const countBefore = await countUserEvents('u-terms-choice');
    const res = await accept('u-terms-choice', { surface: 'ios', trainingChoice: 'denied' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ userId: 'u-terms-choice', trainingChoice: 'denied', surface: 'ios', policyVersion: '2025-09-28' });

    const events = (await userEvents('u-terms-choice')).slice(countBefore);
    const types = events.map((e) => e.type);
    expect(types).toContain('terms.accepted');
    expect(types).toContain('consent.choice_recorded');
    expect(types.indexOf('terms.accepted')).toBeLessThan(types.indexOf('consent.choice_recorded'));
    expect(events.length).toBeLessThanOrEqual(2);
    const choice = events.find((e) => e.type === 'consent.choice_recorded')!;
    expect(choice.data).toMatchObject({ choice: 'denied', surface: 'ios' });
    expect(events.at(-1)!.revision).toBe(res.body.revision);

    expect((await getConsent('u-terms-choice')).body).toMatchObject({
      choice: 'denied',
      choiceSurface: 'ios',
      choiceAt: res.body.acceptedAt,
      effective: 'denied',
      basis: 'user_choice',
      decisionRequired: false,
    });
  });

  it('stamps acceptedAt with the server time and refuses a client-supplied one', async () => {
    const before = Date.now();
    const res = await accept('u-terms-time', {});
    const after = Date.now();
    expect(res.status).toBe(201);
    const acceptedAt = Date.parse(res.body.acceptedAt);
    expect(acceptedAt).toBeGreaterThanOrEqual(before);
    expect(acceptedAt).toBeLessThanOrEqual(after);
    const event = (await userEvents('u-terms-time')).find((e) => e.type === 'terms.accepted')!;
    expect(event.occurredAt).toBe(res.body.acceptedAt);

    const eventsBefore = await countRows('audit_events');
    const backdated = await accept('u-terms-time', { acceptedAt: '2025-09-01T00:00:00.000Z' });
    expectProblem(backdated, 400, 'VALIDATION_FAILED');
    expect(await countRows('audit_events')).toBe(eventsBefore);
  });

  it('refuses an unknown policy version with 422 UNPROCESSABLE and creates nothing', async () => {
    const before = { events: await countRows('audit_events'), users: await countRows('users') };
    const res = await accept('u-terms-unknown', { policyVersion: '1999-01-01', trainingChoice: 'granted', plan: 'free' });
    expectProblem(res, 422, 'UNPROCESSABLE');
    expect(await countRows('audit_events')).toBe(before.events);
    expect(await countRows('users')).toBe(before.users);
    expectProblem(await t.http.get('/v1/users/u-terms-unknown').set('authorization', reader), 404, 'NOT_FOUND');
  });

  it('lists acceptances newest first, and the user shows the latest', async () => {
    const surfaces = ['web', 'android', 'cli'];
    const made: Response[] = [];
    for (const surface of surfaces) {
      made.push(await accept('u-terms-list', { surface, trainingChoice: surface === 'android' ? 'granted' : undefined }));
      await sleep(2);
    }
    expect(made.map((r) => r.status)).toEqual([201, 201, 201]);
    const list = await t.http.get('/v1/users/u-terms-list/terms-acceptances').set('authorization', reader);
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { acceptanceId: string }) => a.acceptanceId)).toEqual(made.map((r) => r.body.acceptanceId).reverse());
    expect(list.body.items.map((a: { surface: string }) => a.surface)).toEqual(['cli', 'android', 'web']);
    expect(list.body.items[1]).toMatchObject({ trainingChoice: 'granted', acceptedAt: made[1].body.acceptedAt, policyVersion: '2025-09-28' });

    const user = await t.http.get('/v1/users/u-terms-list').set('authorization', reader);
    expect(user.body.latestTermsAcceptance).toMatchObject({ acceptanceId: made[2].body.acceptanceId, surface: 'cli', acceptedAt: made[2].body.acceptedAt });
  });

  it('records the plan given with an acceptance', async () => {
    const res = await accept('u-terms-plan', { plan: 'max', trainingChoice: 'granted' });
    expect(res.status).toBe(201);
    expect((await getConsent('u-terms-plan')).body).toMatchObject({ plan: 'max', choice: 'granted', effective: 'granted', basis: 'user_choice' });
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response to a retry with the same key and body, writing nothing more', async () => {
    await setPlan('u-idem', 'free');
    const send = () =>
      t.http.put('/v1/users/u-idem/training-consent').set('authorization', writer).set('idempotency-key', 'key-1').send({ choice: 'granted', surface: 'web' });
    const first = await send();
    expect(first.status).toBe(200);
    const events = await countRows('audit_events');
    const keys = await countRows('idempotency_keys');
    await sleep(5);
    const retry = await send();
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.etag).toBe(first.headers.etag);
    // The stored headers come back as they were sent, nothing else.
    expect(Object.keys(retry.headers).filter((h) => /^\d+$/.test(h))).toEqual([]);
    expect(await countRows('audit_events')).toBe(events);
    expect(await countRows('idempotency_keys')).toBe(keys);
  });

  it('replays a conditional write whose If-Match has since gone stale', async () => {
    await setPlan('u-idem-ifmatch', 'free');
    const etag = (await getConsent('u-idem-ifmatch')).headers.etag;
    const send = () =>
      t.http
        .put('/v1/users/u-idem-ifmatch/training-consent')
        .set('authorization', writer)
        .set('idempotency-key', 'conditional')
        .set('if-match', etag)
        .send({ choice: 'denied', surface: 'web' });
    const first = await send();
    expect(first.status).toBe(200);
    const events = await countUserEvents('u-idem-ifmatch');
    const retry = await send();
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await countUserEvents('u-idem-ifmatch')).toBe(events);
  });

  it('treats a body that differs only in key order as the same request', async () => {
    await setPlan('u-idem-order', 'free');
    const first = await t.http
      .put('/v1/users/u-idem-order/training-consent')
      .set('authorization', writer)
      .set('idempotency-key', 'key-order')
      .set('content-type', 'application/json')
      .send('{"choice":"denied","surface":"web"}');
    expect(first.status).toBe(200);
    const events = await countRows('audit_events');
    const retry = await t.http
      .put('/v1/users/u-idem-order/training-consent')
      .set('authorization', writer)
      .set('idempotency-key', 'key-order')
      .set('content-type', 'application/json')
      .send('{ "surface": "web", "choice": "denied" }');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await countRows('audit_events')).toBe(events);
  });

  it('replays a terms acceptance with its first acceptanceId', async () => {
    const send = () => accept('u-idem-terms', { trainingChoice: 'granted' }).set('idempotency-key', 'accept-1');
    const first = await send();
    expect(first.status).toBe(201);
    const events = await countUserEvents('u-idem-terms');
    const retry = await send();
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(await countUserEvents('u-idem-terms')).toBe(events);
    const list = await t.http.get('/v1/users/u-idem-terms/terms-acceptances').set('authorization', reader);
    expect(list.body.items).toHaveLength(1);
  });

  it('refuses the same key with a different body or path: 409 IDEMPOTENCY_KEY_REUSED, nothing written', async () => {
    await setPlan('u-idem-reuse', 'free');
    const first = await t.http
      .put('/v1/users/u-idem-reuse/training-consent')
      .set('authorization', writer)
      .set('idempotency-key', 'reused')
      .send({ choice: 'granted', surface: 'web' });
    expect(first.status).toBe(200);
    const before = { events: await countRows('audit_events'), users: await countRows('users') };

    const otherBody = await t.http
      .put('/v1/users/u-idem-reuse/training-consent')
      .set('authorization', writer)
      .set('idempotency-key', 'reused')
      .send({ choice: 'denied', surface: 'web' });
    expectProblem(otherBody, 409, 'IDEMPOTENCY_KEY_REUSED');

    const otherPath = await t.http
      .put('/v1/users/u-idem-reuse-2/training-consent')
      .set('authorization', writer)
      .set('idempotency-key', 'reused')
      .send({ choice: 'granted', surface: 'web' });
    expectProblem(otherPath, 409, 'IDEMPOTENCY_KEY_REUSED');

    const otherMethod = await t.http
      .post('/v1/users/u-idem-reuse/terms-acceptances')
      .set('authorization', writer)
      .set('idempotency-key', 'reused')
      .send({ policyVersion: '2025-09-28', surface: 'web', presentation: PRESENTATION });
    expectProblem(otherMethod, 409, 'IDEMPOTENCY_KEY_REUSED');

    expect(await countRows('audit_events')).toBe(before.events);
    expect(await countRows('users')).toBe(before.users);
    expect((await getConsent('u-idem-reuse')).body.choice).toBe('granted');
  });

  it('scopes keys per caller sub', async () => {
    await setPlan('u-idem-sub', 'free');
    const send = (auth: string, choice: string) =>
      t.http.put('/v1/users/u-idem-sub/training-consent').set('authorization', auth).set('idempotency-key', 'shared-key').send({ choice, surface: 'web' });
    const mine = await send(writer, 'granted');
    expect(mine.status).toBe(200);
    const events = await countUserEvents('u-idem-sub');

    const theirs = await send(otherWriter, 'granted');
    expect(theirs.status).toBe(200);
    expect(BigInt(theirs.body.revision)).toBeGreaterThan(BigInt(mine.body.revision));
    expect(await countUserEvents('u-idem-sub')).toBe(events + 1);

    // The other caller's key is its own: a different body under it is not a reuse of mine.
    const theirsAgain = await t.http
      .put('/v1/users/u-idem-sub/plan')
      .set('authorization', await t.bearer('consent:write', 'third-frontend'))
      .set('idempotency-key', 'shared-key')
      .send({ plan: 'pro' });
    expect(theirsAgain.status).toBe(200);
    expect(await countUserEvents('u-idem-sub')).toBe(events + 2);
    const events2 = (await userEvents('u-idem-sub')).slice(-2);
    expect(events2.map((e) => e.actor.sub)).toEqual(['other-frontend', 'third-frontend']);
  });

  it('writes once when duplicates arrive concurrently', async () => {
    await setPlan('u-idem-race', 'free');
    const before = await countUserEvents('u-idem-race');
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.http
          .put('/v1/users/u-idem-race/training-consent')
          .set('authorization', writer)
          .set('idempotency-key', 'race-key')
          .send({ choice: 'denied', surface: 'android' }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    for (const r of responses) expect(r.body).toEqual(responses[0].body);
    expect(await countUserEvents('u-idem-race')).toBe(before + 1);

    const acceptances = await Promise.all(
      Array.from({ length: 6 }, () => accept('u-idem-race', { trainingChoice: 'granted' }).set('idempotency-key', 'race-accept')),
    );
    expect(acceptances.map((r) => r.status)).toEqual(Array(6).fill(201));
    for (const r of acceptances) expect(r.body).toEqual(acceptances[0].body);
    const list = await t.http.get('/v1/users/u-idem-race/terms-acceptances').set('authorization', reader);
    expect(list.body.items).toHaveLength(1);
    const types = (await userEvents('u-idem-race')).slice(before + 1).map((e) => e.type);
    expect(types.filter((x) => x === 'terms.accepted')).toHaveLength(1);
    expect(types.filter((x) => x === 'consent.choice_recorded')).toHaveLength(1);
  });
});

// Last: once this policy is in effect it is the policy in effect for every user of this file.
describe('a policy that requires reconsent', () => {
  let reconsentPolicy: Record<string, unknown>;
  let reconsentCreated: Response | undefined;
  const createReconsentPolicy = () =>
    t.http.post('/v1/policies').set('authorization', admin).set('idempotency-key', 'reconsent-policy').send(reconsentPolicy);

  it('makes users undecided again from its effectiveAt, and a new choice counts', async () => {
    await setPlan('u-reconsent-granted', 'free');
    const granted = await setChoice('u-reconsent-granted', 'granted');
    await setPlan('u-reconsent-denied', 'pro');
    await setChoice('u-reconsent-denied', 'denied');
    await setPlan('u-reconsent-default', 'max');

    const effectiveAt = Date.now() + 2_000;
    const policy = {
      version: 'reconsent-1',
      effectiveAt: iso(effectiveAt),
      decisionDeadline: iso(effectiveAt + 30 * 86_400_000),
      defaultChoice: 'granted',
      requiresReconsent: true,
      retention: { grantedDays: 900, deniedDays: 14, violationDays: 365 },
    };
    reconsentPolicy = policy;
    const created = await createReconsentPolicy();
    expect(created.status).toBe(201);
    reconsentCreated = created;
    await waitUntilPast(effectiveAt + 50);

    const undecided = {
      choice: null,
      choiceAt: null,
      choiceSurface: null,
      effective: 'denied',
      basis: 'undecided',
      decisionRequired: true,
      policyVersion: 'reconsent-1',
      decisionDeadline: policy.decisionDeadline,
      retentionDays: 14,
      consentSince: null,
    };
    for (const userId of ['u-reconsent-granted', 'u-reconsent-denied', 'u-reconsent-default']) {
      const res = await getConsent(userId);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ userId, ...undecided });
    }

    // Just before it took effect, the earlier choice still stood.
    const earlier = await getConsent('u-reconsent-granted', `?asOf=${iso(effectiveAt - 1)}`);
    expect(earlier.body).toMatchObject({ choice: 'granted', choiceAt: granted.body.choiceAt, basis: 'user_choice', policyVersion: '2025-09-28', decisionRequired: false });

    const regrant = await setChoice('u-reconsent-granted', 'granted', 'web');
    expect(regrant.status).toBe(200);
    expect(regrant.body).toMatchObject({
      choice: 'granted',
      effective: 'granted',
      basis: 'user_choice',
      decisionRequired: false,
      policyVersion: 'reconsent-1',
      retentionDays: 900,
      consentSince: regrant.body.choiceAt,
    });
    expect(Date.parse(regrant.body.choiceAt)).toBeGreaterThanOrEqual(effectiveAt);
  });

  it('replays the creating response to a retry with the same Idempotency-Key after the policy took effect', async () => {
    expect(reconsentCreated?.status).toBe(201);
    const policies = await countRows('policies');
    const events = await countRows('audit_events');
    const retry = await createReconsentPolicy();
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(reconsentCreated!.body);
    expect(await countRows('policies')).toBe(policies);
    expect(await countRows('audit_events')).toBe(events);
  });
});
