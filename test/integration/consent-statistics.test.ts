import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { data, graphql } from '../helpers/graphql.js';

/**
 * The consent statistics (the console's overview) over real HTTP and a real database: each figure
 * against what the per-user reads answer, at now, at a revision and as of a time; the evidence
 * behind grants; choices per day; terms acceptances by what the pop-up showed; GraphQL equal to
 * REST; scopes. The reconsent policy changes the policy in effect for everyone, so it comes last.
 */

let t: TestApp;
let writer: string;
let reader: string;
let auditor: string;
let admin: string;
const users: string[] = [];

const SHOWN_ON = { trainingToggleDefault: true, trainingToggleShown: true, uiVariant: 'banner-a', locale: 'en-GB' };
const SHOWN_OFF = { trainingToggleDefault: false, trainingToggleShown: true, uiVariant: 'banner-b' };
const HIDDEN = { trainingToggleDefault: true, trainingToggleShown: false };

const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function track(userId: string): string {
  if (!users.includes(userId)) users.push(userId);
  return userId;
}
const setPlan = (userId: string, plan: string) => t.http.put(`/v1/users/${track(userId)}/plan`).set('authorization', writer).send({ plan });
const setChoice = (userId: string, choice: string, surface = 'web') =>
  t.http.put(`/v1/users/${track(userId)}/training-consent`).set('authorization', writer).send({ choice, surface });
const accept = (userId: string, body: Record<string, unknown>) =>
  t.http
    .post(`/v1/users/${track(userId)}/terms-acceptances`)
    .set('authorization', writer)
    .send({ policyVersion: '2025-09-28', surface: 'web', ...body });
const statistics = (query = '', auth = auditor) => t.http.get(`/v1/consent-statistics${query}`).set('authorization', auth);

/** What the statistics' user figures must be: every user's consent read at the same point, counted. */
async function expectedUsers(query: string) {
  const byKey = new Map<string, { plan: string | null; basis: string; effective: string; count: number }>();
  let total = 0;
  let decisionRequired = 0;
  for (const userId of users) {
    const res = await t.http.get(`/v1/users/${userId}/training-consent${query}`).set('authorization', reader);
    if (res.status === 404) continue;
    expect(res.status).toBe(200);
    const c = res.body;
    // A user first written about after the point reads as the empty state there: not a user yet.
    if (query !== '') {
      const [first] = (await t.http.get(`/v1/users/${userId}/audit-events?limit=1`).set('authorization', auditor)).body.items;
      if (BigInt(first.revision) > BigInt(c.revision) || Date.parse(first.occurredAt) > Date.parse(c.asOf)) continue;
    }
    total++;
    if (c.decisionRequired) decisionRequired++;
    const key = `${c.plan}|${c.basis}|${c.effective}`;
    const entry = byKey.get(key) ?? { plan: c.plan, basis: c.basis, effective: c.effective, count: 0 };
    entry.count++;
    byKey.set(key, entry);
  }
  const sort = (a: { plan: string | null; basis: string; effective: string }, b: typeof a) =>
    String(a.plan).localeCompare(String(b.plan)) || a.basis.localeCompare(b.basis) || a.effective.localeCompare(b.effective);
  return { total, decisionRequired, byPlanAndBasis: [...byKey.values()].sort(sort) };
}

const evidence = (body: { grantsInForce: { byEvidence: { evidence: string; count: number }[] } }) =>
  Object.fromEntries(body.grantsInForce.byEvidence.map((e) => [e.evidence, e.count]));

beforeAll(async () => {
  t = await startTestApp();
  writer = await t.bearer('consent:write', 'frontend');
  reader = await t.bearer('consent:read', 'reader');
  auditor = await t.bearer('audit:read', 'auditor');
  admin = await t.bearer('admin', 'admin-1');
});
afterAll(async () => t?.close());

describe('consent statistics', () => {
  let firstRevision = '';
  let firstTime = 0;

  it('counts nothing on an empty log', async () => {
    const res = await statistics();
    expect(res.status).toBe(200);
    expect(res.body.users).toEqual({ total: 0, decisionRequired: 0, byPlanAndBasis: [] });
    expect(res.body.grantsInForce.total).toBe(0);
    expect(res.body.choicesPerDay).toEqual([]);
    expect(res.body.termsAcceptances).toEqual({ total: 0, groups: [], omittedGroups: 0 });
  });

  it('counts users by plan and basis as their consent reads answer, and how each grant in force was given', async () => {
    expect((await accept('s-preset-on', { plan: 'pro', trainingChoice: 'granted', presentation: SHOWN_ON })).status).toBe(201);
    expect((await accept('s-preset-off', { plan: 'free', surface: 'ios', trainingChoice: 'granted', presentation: SHOWN_OFF })).status).toBe(201);
    expect((await accept('s-hidden', { plan: 'max', surface: 'android', trainingChoice: 'granted', presentation: HIDDEN })).status).toBe(201);
    expect((await setPlan('s-settings', 'pro')).status).toBe(200);
    expect((await setChoice('s-settings', 'granted', 'desktop')).status).toBe(200);
    expect((await setPlan('s-default', 'free')).status).toBe(200);
    expect((await accept('s-denied', { plan: 'pro', trainingChoice: 'denied', presentation: SHOWN_ON })).status).toBe(201);
    expect((await accept('s-no-choice', { plan: 'pro', presentation: SHOWN_ON })).status).toBe(201);
    expect((await setPlan('s-commercial', 'team')).status).toBe(200);
    expect((await t.http.put('/v1/chats/s-chat-1').set('authorization', writer).send({ userId: track('s-plan-unknown') })).status).toBe(201);
    // A grant in the pop-up, then the same grant again in settings: the grant in force is the later one.
    expect((await accept('s-regranted', { plan: 'max', trainingChoice: 'granted', presentation: SHOWN_ON })).status).toBe(201);
    expect((await setChoice('s-regranted', 'granted', 'web')).status).toBe(200);
    // A grant in the pop-up, then withdrawn.
    expect((await accept('s-withdrawn', { plan: 'pro', trainingChoice: 'granted', presentation: SHOWN_OFF })).status).toBe(201);
    expect((await setChoice('s-withdrawn', 'denied', 'web')).status).toBe(200);
    // Through GraphQL: the same services, the same events.
    await data(
      t,
      writer,
      `mutation { acceptTerms(userId: "s-graphql", input: { policyVersion: "2025-09-28", surface: web, trainingChoice: granted, plan: pro,
        presentation: { trainingToggleDefault: true, trainingToggleShown: true, uiVariant: "banner-a" } }) { revision } }`,
    );
    track('s-graphql');

    const res = await statistics();
    expect(res.status).toBe(200);
    expect(res.body.users).toEqual(await expectedUsers(''));
    expect(res.body.users.total).toBe(12);
    expect(res.body.users.decisionRequired).toBe(3); // s-default, s-no-choice (deadline passed, no choice), s-plan-unknown
    expect(evidence(res.body)).toEqual({
      default_after_deadline: 2, // s-default, s-no-choice
      popup_toggle_preset_on: 2, // s-preset-on, s-graphql
      popup_toggle_preset_off: 1,
      popup_toggle_hidden: 1,
      outside_popup: 2, // s-settings, s-regranted
    });
    expect(res.body.grantsInForce.total).toBe(8);
    firstRevision = res.body.revision;
    firstTime = Date.parse(res.body.asOf);
  });

  it('counts choices per UTC day, surface and choice, and terms acceptances by what the pop-up showed', async () => {
    const res = await statistics();
    const today = new Date().toISOString().slice(0, 10);
    const choices = Object.fromEntries(res.body.choicesPerDay.map((d: { day: string; surface: string; choice: string; count: number }) => [`${d.day}|${d.surface}|${d.choice}`, d.count]));
    expect(choices).toEqual({
      [`${today}|android|granted`]: 1,
      [`${today}|desktop|granted`]: 1,
      [`${today}|ios|granted`]: 1,
      [`${today}|web|denied`]: 2,
      [`${today}|web|granted`]: 5,
    });
    expect(res.body.termsAcceptances.total).toBe(8);
    expect(res.body.termsAcceptances.omittedGroups).toBe(0);
    const groups = res.body.termsAcceptances.groups;
    expect(groups).toContainEqual({
      surface: 'web',
      uiVariant: 'banner-a',
      trainingToggleShown: true,
      trainingToggleDefault: true,
      granted: 3,
      denied: 1,
      withoutChoice: 1,
    });
    expect(groups).toContainEqual({ surface: 'ios', uiVariant: 'banner-b', trainingToggleShown: true, trainingToggleDefault: false, granted: 1, denied: 0, withoutChoice: 0 });
    expect(groups).toContainEqual({ surface: 'web', uiVariant: 'banner-b', trainingToggleShown: true, trainingToggleDefault: false, granted: 1, denied: 0, withoutChoice: 0 });
    expect(groups).toContainEqual({ surface: 'android', uiVariant: null, trainingToggleShown: false, trainingToggleDefault: true, granted: 1, denied: 0, withoutChoice: 0 });
    // The largest group first.
    expect(groups[0].uiVariant).toBe('banner-a');
  });

  it('answers at a revision and as of a time as the per-user reads do, whatever was written since', async () => {
    await sleep(5);
    expect((await setChoice('s-default', 'denied', 'cli')).status).toBe(200);
    expect((await setPlan('s-preset-on', 'enterprise')).status).toBe(200);
    expect((await accept('s-late', { plan: 'free', trainingChoice: 'granted', presentation: SHOWN_ON })).status).toBe(201);

    const atRevision = await statistics(`?atRevision=${firstRevision}`);
    expect(atRevision.status).toBe(200);
    expect(atRevision.body.revision).toBe(firstRevision);
    expect(atRevision.body.users).toEqual(await expectedUsers(`?atRevision=${firstRevision}`));
    expect(atRevision.body.users.total).toBe(12);
    expect(evidence(atRevision.body).popup_toggle_preset_on).toBe(2);
    expect(atRevision.body.termsAcceptances.total).toBe(8);

    const asOf = await statistics(`?asOf=${iso(firstTime)}`);
    expect(asOf.status).toBe(200);
    expect(asOf.body.users).toEqual(await expectedUsers(`?asOf=${iso(firstTime)}`));
    expect(asOf.body.users.total).toBe(12);
    expect(asOf.body.termsAcceptances.total).toBe(8);

    const now = await statistics();
    expect(now.body.users).toEqual(await expectedUsers(''));
    expect(now.body.users.total).toBe(13);
    expect(evidence(now.body)).toMatchObject({ default_after_deadline: 1, popup_toggle_preset_on: 2 });
    expect(now.body.termsAcceptances.total).toBe(9);

    // Before anything was written: nothing counts.
    const before = await statistics(`?asOf=${iso(Date.parse('2025-01-01T00:00:00.000Z'))}`);
    expect(before.body.users.total).toBe(0);
    expect(before.body.choicesPerDay).toEqual([]);
  });

  it('is the same through GraphQL', async () => {
    const q = `query($r: Revision) { consentStatistics(atRevision: $r) { asOf revision
      users { total decisionRequired byPlanAndBasis { plan basis effective count } }
      grantsInForce { total byEvidence { evidence count } }
      choicesPerDay { day surface choice count }
      termsAcceptances { total omittedGroups groups { surface uiVariant trainingToggleShown trainingToggleDefault granted denied withoutChoice } } } }`;
    const viaGraphql = await data(t, auditor, q, { r: firstRevision });
    const viaRest = await statistics(`?atRevision=${firstRevision}`);
    expect(viaGraphql.consentStatistics).toEqual(viaRest.body);
  });

  it('needs audit:read or admin, and refuses bad points', async () => {
    expect((await statistics('', reader)).status).toBe(403);
    expect((await statistics('', reader)).body.code).toBe('FORBIDDEN');
    expect((await statistics('', await t.bearer('training:read'))).status).toBe(403);
    expect((await statistics('', admin)).status).toBe(200);
    expect((await t.http.get('/v1/consent-statistics')).status).toBe(401);
    const forbidden = await graphql(t, reader, '{ consentStatistics { revision } }');
    expect(forbidden.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect((await statistics(`?asOf=${iso(Date.now() + 60_000)}`)).status).toBe(400);
    expect((await statistics(`?asOf=${iso(Date.now() - 1000)}&atRevision=1`)).status).toBe(400);
    expect((await statistics('?atRevision=999999999')).status).toBe(400);
    expect((await statistics('?unknown=1')).status).toBe(400);
  });

  it('counts choices made before a policy that requires reconsent as no choice', async () => {
    const effectiveAt = Date.now() + 1_500;
    const created = await t.http
      .post('/v1/policies')
      .set('authorization', admin)
      .send({
        version: 'statistics-reconsent',
        effectiveAt: iso(effectiveAt),
        decisionDeadline: iso(effectiveAt + 30 * 86_400_000),
        defaultChoice: 'granted',
        requiresReconsent: true,
        retention: { grantedDays: 900, deniedDays: 14, violationDays: 365 },
      });
    expect(created.status).toBe(201);
    while (Date.now() <= effectiveAt + 20) await sleep(effectiveAt + 21 - Date.now());
    expect((await setChoice('s-late', 'granted', 'web')).status).toBe(200);

    const res = await statistics();
    expect(res.body.users).toEqual(await expectedUsers(''));
    // Every consumer user but s-late (nine of them) is undecided again, before the new deadline.
    expect(res.body.grantsInForce.total).toBe(1);
    expect(evidence(res.body).outside_popup).toBe(1);
    expect(res.body.users.byPlanAndBasis.filter((g: { basis: string }) => g.basis === 'undecided').reduce((s: number, g: { count: number }) => s + g.count, 0)).toBe(9);
  });
});
