import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WriteContext } from '../../src/audit/append.js';
import { SettledRevisions } from '../../src/db/point.js';
import { ChatService } from '../../src/services/chats.js';
import { ConsentService } from '../../src/services/consent.js';
import { EligibilityService } from '../../src/services/eligibility.js';
import { batchBytes, batchJson } from '../../src/services/decision-json.js';
import { PolicyCache } from '../../src/services/facts.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Training eligibility (SPEC §2 "Training eligibility", decision table rows 1-11 and the two
 * eligible reasons; §1 asOf / atRevision). Every situation is built with real API calls, except
 * where the API cannot reach it today: the service records every fact at the server's clock, and
 * a fact counts at T only when it was recorded at or before T, so no API call made now can put a
 * registered chat before the seeded policy took effect (2025-08-28, row 6) or inside its decision
 * window (row 8 under the seeded policy). Those are seeded through the service layer
 * (ConsentService / ChatService, the code the routes call) with the request clock set in 2025 —
 * what a deployment running back then would have written — and read back through HTTP with asOf.
 * Rows 8, 9 and 11 are also reached through the API alone, with short-lived policies created for
 * the purpose (a separate database, since they change the policy in effect).
 */

const DAY = 86_400_000;
const SEEDED = '2025-09-28';
const iso = (ms: number) => new Date(ms).toISOString();
const plusDays = (ms: number, days: number) => iso(ms + days * DAY);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Query = { asOf?: string; atRevision?: string };

interface Decision {
  chatId: string;
  userId: string | null;
  eligible: boolean;
  reason: string;
  policyVersion: string | null;
  consentSince: string | null;
  retentionUntil: string | null;
  asOf: string;
  revision: string;
}

/** Calls against one running service. */
function client(t: TestApp, tokens: { writer: string; pipeline: string; reader: string }) {
  const { writer, pipeline, reader } = tokens;
  return {
    async setPlan(userId: string, plan: string): Promise<{ at: number; revision: string }> {
      const res = await t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { at: Date.parse(res.body.trainingConsent.asOf), revision: res.body.revision };
    },
    async choose(userId: string, choice: 'granted' | 'denied'): Promise<{ at: number; revision: string; body: Record<string, unknown> }> {
      const res = await t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', writer).send({ choice, surface: 'web' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { at: Date.parse(res.body.choiceAt), revision: res.body.revision, body: res.body };
    },
    async register(chatId: string, userId: string, extra: Record<string, unknown> = {}) {
      const res = await t.http.put(`/v1/chats/${chatId}`).set('authorization', writer).send({ userId, ...extra });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { createdAt: Date.parse(res.body.createdAt), revision: res.body.revision as string };
    },
    async activity(chatId: string, at?: string) {
      const res = await t.http.post(`/v1/chats/${chatId}/activity`).set('authorization', writer).send(at === undefined ? {} : { at });
      expect(res.status, res.text).toBe(204);
    },
    async lastActivity(chatId: string): Promise<number> {
      const res = await t.http.get(`/v1/chats/${chatId}`).set('authorization', reader);
      expect(res.status).toBe(200);
      return Date.parse(res.body.lastActivityAt);
    },
    async remove(chatId: string) {
      const res = await t.http.delete(`/v1/chats/${chatId}`).set('authorization', writer);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { deletedAt: Date.parse(res.body.deletedAt), revision: res.body.revision as string };
    },
    async flag(chatId: string) {
      const res = await t.http.post(`/v1/chats/${chatId}/flags`).set('authorization', writer).send({ type: 'policy_violation' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      // The flag time from the audit log (the chat.flagged event), not from the answer under test.
      const rows = await t.db.query<{ at: number }>(
        `SELECT (extract(epoch FROM occurred_at) * 1000)::float8 AS at FROM audit_events WHERE revision = $1::bigint AND type = 'chat.flagged'`,
        [res.body.revision],
      );
      expect(rows).toHaveLength(1);
      return { flaggedAt: Number(rows[0].at), revision: res.body.revision as string };
    },
    async decide(chatId: string, query: Query = {}): Promise<Decision> {
      const res = await t.http.get(`/v1/chats/${chatId}/training-eligibility`).query(query).set('authorization', pipeline);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    },
    async batch(chatIds: string[], point: Query = {}): Promise<{ asOf: string; revision: string; results: Decision[] }> {
      const res = await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds, ...point });
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
      return res.body;
    },
    async consent(userId: string, query: Query = {}) {
      const res = await t.http.get(`/v1/users/${userId}/training-consent`).query(query).set('authorization', reader);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    },
  };
}

type Client = ReturnType<typeof client>;

/** The decision fields, with asOf (when the read named one) and revision checked for shape. */
function expectDecision(actual: Decision, expected: Omit<Decision, 'asOf' | 'revision'>, asOf?: string) {
  expect(actual).toEqual({ ...expected, asOf: asOf ?? expect.any(String), revision: expect.stringMatching(/^\d+$/) });
}

function expectProblem(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

describe('on the seeded policy', () => {
  let t: TestApp;
  let api: Client;
  let pipeline: string;

  /** Plan pro, an explicit denial, then a grant: the granted period begins at the grant. */
  async function grantedUser(userId: string): Promise<number> {
    await api.setPlan(userId, 'pro');
    await api.choose(userId, 'denied');
    const grant = await api.choose(userId, 'granted');
    expect(grant.body.consentSince).toBe(iso(grant.at));
    return grant.at;
  }

  beforeAll(async () => {
    t = await startTestApp();
    pipeline = await t.bearer('training:read', 'pipeline');
    api = client(t, {
      writer: await t.bearer('consent:write', 'frontend'),
      pipeline,
      reader: await t.bearer('consent:read', 'support'),
    });

    // History from 2025, written by the service layer with its request clock set back (see the
    // file comment): u-hist is on pro from 2025-08-01, before any policy, and never chooses.
    const settled = new SettledRevisions(t.db);
    const consent = new ConsentService(t.db, new PolicyCache(t.db), settled);
    const chats = new ChatService(t.db, settled);
    let n = 0;
    const at = (when: string): WriteContext => ({
      actor: { sub: 'history-backfill', kind: 'service' },
      requestId: `history-${++n}`,
      now: new Date(when),
    });
    await consent.setPlan(at('2025-08-01T00:00:00.000Z'), null, 'u-hist', 'pro');
    await chats.register(at('2025-08-01T00:00:00.000Z'), null, 'h-early', { userId: 'u-hist' });
    await chats.register(at('2025-09-01T00:00:00.000Z'), null, 'h-sept', { userId: 'u-hist' });
    await chats.reportActivity(at('2025-10-05T00:00:00.000Z'), null, 'h-sept', Date.parse('2025-10-05T00:00:00.000Z'), null);
  });
  afterAll(async () => t?.close());

  describe('the decision table, one row at a time', () => {
    it('row 1: a chat never registered, or not registered yet at T, is chat_not_found', async () => {
      const unknown = await api.decide('never-registered');
      expectDecision(unknown, {
        chatId: 'never-registered',
        userId: null,
        eligible: false,
        reason: 'chat_not_found',
        policyVersion: null,
        consentSince: null,
        retentionUntil: null,
      });

      const grantAt = await grantedUser('u1');
      const before = await api.decide('r1-later');
      const chat = await api.register('r1-later', 'u1');
      expect((await api.decide('r1-later')).reason).toBe('user_choice');
      const expected = { chatId: 'r1-later', userId: null, eligible: false, reason: 'chat_not_found', policyVersion: null, consentSince: null, retentionUntil: null };
      // At the revision read before the registration, and at a time before it was recorded.
      expectDecision(await api.decide('r1-later', { atRevision: before.revision }), expected);
      const asOf = iso(Math.min(grantAt, chat.createdAt - 1));
      expectDecision(await api.decide('r1-later', { asOf }), expected, asOf);
    });

    it('row 2: a chat deleted at or before T is chat_deleted, with no retention', async () => {
      const grantAt = await grantedUser('u2');
      const chat = await api.register('r2', 'u2');
      await sleep(5);
      const { deletedAt } = await api.remove('r2');
      expectDecision(await api.decide('r2'), {
        chatId: 'r2',
        userId: 'u2',
        eligible: false,
        reason: 'chat_deleted',
        policyVersion: SEEDED,
        consentSince: iso(grantAt),
        retentionUntil: null,
      });
      // Deleted at T itself counts; just before it, and at the registration's revision, it did not.
      expect((await api.decide('r2', { asOf: iso(deletedAt) })).reason).toBe('chat_deleted');
      const justBefore = await api.decide('r2', { asOf: iso(deletedAt - 1) });
      expect(justBefore).toMatchObject({ eligible: true, reason: 'user_choice', retentionUntil: plusDays(chat.createdAt, 1825) });
      expect((await api.decide('r2', { atRevision: chat.revision })).reason).toBe('user_choice');
    });

    it('row 3: an incognito chat is never used; retention is the denied one, extended by a flag', async () => {
      const grantAt = await grantedUser('u3');
      const chat = await api.register('r3', 'u3', { incognito: true });
      const expected = {
        chatId: 'r3',
        userId: 'u3',
        eligible: false,
        reason: 'incognito',
        policyVersion: SEEDED,
        consentSince: iso(grantAt),
        retentionUntil: plusDays(chat.createdAt, 30),
      };
      expectDecision(await api.decide('r3'), expected);
      await api.activity('r3');
      const last = await api.lastActivity('r3');
      const { flaggedAt } = await api.flag('r3');
      expectDecision(await api.decide('r3'), { ...expected, retentionUntil: plusDays(Math.max(last + 30 * DAY, flaggedAt + 730 * DAY), 0) });
    });

    it('row 4: a user whose plan was never set is plan_unknown, even with a grant', async () => {
      const chat = await api.register('r4', 'u4');
      await api.choose('u4', 'granted');
      const consent = await api.consent('u4');
      expect(consent).toMatchObject({ plan: null, basis: 'plan_unknown', effective: 'denied', consentSince: null });
      expectDecision(await api.decide('r4'), {
        chatId: 'r4',
        userId: 'u4',
        eligible: false,
        reason: 'plan_unknown',
        policyVersion: SEEDED,
        consentSince: null,
        retentionUntil: plusDays(chat.createdAt, 30),
      });
    });

    it('row 5: the plan at T decides; a commercial plan is commercial_plan with no retention', async () => {
      await grantedUser('u5');
      const chat = await api.register('r5', 'u5');
      expect((await api.decide('r5')).reason).toBe('user_choice');
      await sleep(2);
      const team = await api.setPlan('u5', 'team');
      expectDecision(await api.decide('r5'), {
        chatId: 'r5',
        userId: 'u5',
        eligible: false,
        reason: 'commercial_plan',
        policyVersion: SEEDED,
        consentSince: null,
        retentionUntil: null,
      });
      // Before the change, at its revision's predecessor and just before it was recorded: still pro.
      expect((await api.decide('r5', { atRevision: chat.revision })).reason).toBe('user_choice');
      expect((await api.decide('r5', { asOf: iso(team.at - 1) })).reason).toBe('user_choice');
      // Back on a consumer plan, a new granted period begins: what was used before is not trainable.
      await sleep(2);
      const back = await api.setPlan('u5', 'pro');
      const after = await api.decide('r5');
      expect(after).toMatchObject({ eligible: false, reason: 'predates_consent', consentSince: iso(back.at) });
    });

    it('row 6: before any policy took effect, no_policy_in_effect (history seeded through the service layer)', async () => {
      const asOf = '2025-08-15T00:00:00.000Z';
      expectDecision(
        await api.decide('h-early', { asOf }),
        {
          chatId: 'h-early',
          userId: 'u-hist',
          eligible: false,
          reason: 'no_policy_in_effect',
          policyVersion: null,
          consentSince: null,
          // No policy, so no retention period to apply.
          retentionUntil: null,
        },
        asOf,
      );
      // And the chat did not exist yet a week earlier.
      expect((await api.decide('h-early', { asOf: '2025-07-25T00:00:00.000Z' })).reason).toBe('chat_not_found');
    });

    it('row 7: a denial is opted_out and stops use of chats stored earlier', async () => {
      await grantedUser('u7');
      const chat = await api.register('r7', 'u7');
      expect((await api.decide('r7')).eligible).toBe(true);
      const denial = await api.choose('u7', 'denied');
      const expected = {
        chatId: 'r7',
        userId: 'u7',
        eligible: false,
        reason: 'opted_out',
        policyVersion: SEEDED,
        consentSince: null,
        retentionUntil: plusDays(chat.createdAt, 30),
      };
      expectDecision(await api.decide('r7'), expected);
      expect((await api.decide('r7', { atRevision: chat.revision })).reason).toBe('user_choice');
      expect((await api.decide('r7', { asOf: iso(denial.at) })).reason).toBe('opted_out');
      const { flaggedAt } = await api.flag('r7');
      expectDecision(await api.decide('r7'), { ...expected, retentionUntil: plusDays(flaggedAt, 730) });
    });

    it('row 8: with no choice before the deadline, undecided (history seeded through the service layer)', async () => {
      const asOf = '2025-09-10T00:00:00.000Z';
      const batch = await api.batch(['h-early', 'h-sept'], { asOf });
      const base = { userId: 'u-hist', eligible: false, reason: 'undecided', policyVersion: SEEDED, consentSince: null };
      expectDecision(batch.results[0], { ...base, chatId: 'h-early', retentionUntil: '2025-08-31T00:00:00.000Z' }, asOf);
      expectDecision(batch.results[1], { ...base, chatId: 'h-sept', retentionUntil: '2025-10-01T00:00:00.000Z' }, asOf);
      const consent = await api.consent('u-hist', { asOf });
      expect(consent).toMatchObject({ basis: 'undecided', effective: 'denied', decisionRequired: true, consentSince: null, asOf });
    });

    it('row 10: a chat whose last activity predates the grant is predates_consent until it is resumed', async () => {
      await api.setPlan('u10', 'pro');
      await api.choose('u10', 'denied');
      const chat = await api.register('r10', 'u10');
      await sleep(5);
      const grant = await api.choose('u10', 'granted');
      const expected = {
        chatId: 'r10',
        userId: 'u10',
        eligible: false,
        reason: 'predates_consent',
        policyVersion: SEEDED,
        consentSince: iso(grant.at),
        retentionUntil: plusDays(chat.createdAt, 30),
      };
      expectDecision(await api.decide('r10'), expected);
      // Activity reported now but dated before the grant is not a resumption.
      await api.activity('r10', iso(grant.at - 1));
      expectDecision(await api.decide('r10'), { ...expected, retentionUntil: plusDays(grant.at - 1, 30) });
      await api.activity('r10');
      const resumed = await api.lastActivity('r10');
      expectDecision(await api.decide('r10'), {
        ...expected,
        eligible: true,
        reason: 'user_choice',
        retentionUntil: plusDays(resumed, 1825),
      });
    });

    it('the default grant begins at the deadline: chats last used before it predate it (history)', async () => {
      const deadline = '2025-09-28T00:00:00.000Z';
      const early = await api.batch(['h-early', 'h-sept'], { asOf: '2025-10-01T00:00:00.000Z' });
      const base = { userId: 'u-hist', eligible: false, reason: 'predates_consent', policyVersion: SEEDED, consentSince: deadline };
      expectDecision(early.results[0], { ...base, chatId: 'h-early', retentionUntil: '2025-08-31T00:00:00.000Z' }, '2025-10-01T00:00:00.000Z');
      expectDecision(early.results[1], { ...base, chatId: 'h-sept', retentionUntil: '2025-10-01T00:00:00.000Z' }, '2025-10-01T00:00:00.000Z');
      // h-sept was resumed on 2025-10-05, inside the default grant.
      const resumed = { ...base, chatId: 'h-sept', eligible: true, reason: 'default_after_deadline', retentionUntil: plusDays(Date.parse('2025-10-05T00:00:00.000Z'), 1825) };
      expectDecision(await api.decide('h-sept', { asOf: '2025-10-10T00:00:00.000Z' }), resumed, '2025-10-10T00:00:00.000Z');
      expectDecision(await api.decide('h-sept'), resumed);
      expect((await api.decide('h-early')).reason).toBe('predates_consent');
    });

    it('eligible with user_choice: retention is the granted one, a flag never shortens it', async () => {
      const grantAt = await grantedUser('u-yes');
      const chat = await api.register('r-yes', 'u-yes');
      const expected = {
        chatId: 'r-yes',
        userId: 'u-yes',
        eligible: true,
        reason: 'user_choice',
        policyVersion: SEEDED,
        consentSince: iso(grantAt),
        retentionUntil: plusDays(chat.createdAt, 1825),
      };
      expectDecision(await api.decide('r-yes'), expected);
      await api.flag('r-yes');
      expectDecision(await api.decide('r-yes'), expected);
      // Granting again does not restart the period.
      await api.choose('u-yes', 'granted');
      expectDecision(await api.decide('r-yes'), expected);
    });

    it('eligible with default_after_deadline; an explicit grant afterwards continues the same period', async () => {
      // The plan is first known now, after the deadline: before it, the user was plan_unknown (never
      // granted), so the granted period and consentSince begin when the plan was recorded. (With the
      // plan known at the deadline, consentSince is the deadline itself: see the history test above.)
      const plan = await api.setPlan('u-def', 'free');
      const consent = await api.consent('u-def');
      expect(consent).toMatchObject({ basis: 'default_after_deadline', effective: 'granted', decisionRequired: true, consentSince: iso(plan.at) });
      const chat = await api.register('r-def', 'u-def');
      const expected = {
        chatId: 'r-def',
        userId: 'u-def',
        eligible: true,
        reason: 'default_after_deadline',
        policyVersion: SEEDED,
        consentSince: iso(plan.at),
        retentionUntil: plusDays(chat.createdAt, 1825),
      };
      expectDecision(await api.decide('r-def'), expected);
      await api.choose('u-def', 'granted');
      expectDecision(await api.decide('r-def'), { ...expected, reason: 'user_choice' });
    });
  });

  describe('single decisions', () => {
    it('validates asOf and atRevision', async () => {
      const get = (query: Record<string, string>) =>
        t.http.get('/v1/chats/r-yes/training-eligibility').query(query).set('authorization', pipeline);
      expectProblem(await get({ asOf: iso(Date.now() + 60_000) }), 400, 'VALIDATION_FAILED');
      expectProblem(await get({ asOf: iso(Date.now() - 60_000), atRevision: '1' }), 400, 'VALIDATION_FAILED');
      expectProblem(await get({ atRevision: '999999999' }), 400, 'VALIDATION_FAILED');
      expectProblem(await get({ atRevision: 'abc' }), 400, 'VALIDATION_FAILED');
      expectProblem(await get({ asOf: 'yesterday' }), 400, 'VALIDATION_FAILED');
      expectProblem(await get({ when: 'now' }), 400, 'VALIDATION_FAILED');
      expectProblem(await t.http.get('/v1/chats/-bad/training-eligibility').set('authorization', pipeline), 400, 'VALIDATION_FAILED');
      expectProblem(
        await t.http.get('/v1/chats/r-yes/training-eligibility').set('authorization', await t.bearer('consent:write', 'frontend')),
        403,
        'FORBIDDEN',
      );
    });
  });

  describe('POST /v1/training-eligibility/batch', () => {
    const post = async (body: unknown) =>
      t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).set('content-type', 'application/json').send(JSON.stringify(body));

    it('answers in request order, duplicates included, all at one asOf and revision', async () => {
      // Chats built by the decision-table tests above (tests in a file run in order).
      const ids = ['r-yes', 'nobody-here', 'r7', 'r-yes', 'r3', 'nobody-here', 'h-sept'];
      const batch = await api.batch(ids);
      expect(batch.revision).toMatch(/^\d+$/);
      expect(batch.results.map((r) => r.chatId)).toEqual(ids);
      for (const r of batch.results) expect({ asOf: r.asOf, revision: r.revision }).toEqual({ asOf: batch.asOf, revision: batch.revision });
      expect(batch.results[3]).toEqual(batch.results[0]);
      expect(batch.results[5]).toEqual(batch.results[1]);
      expect(batch.results.map((r) => r.reason)).toEqual(['user_choice', 'chat_not_found', 'opted_out', 'user_choice', 'incognito', 'chat_not_found', 'default_after_deadline']);
      // Asked again at that revision (evaluated at the revision's own time, so asOf differs), one
      // chat at a time, the decisions are the same.
      for (const [i, id] of ids.entries()) {
        const single = await api.decide(id, { atRevision: batch.revision });
        expect({ ...single, asOf: undefined }).toEqual({ ...batch.results[i], asOf: undefined });
      }
      const asOf = iso(Date.now() - 1);
      const dated = await api.batch(ids, { asOf });
      expect(dated.asOf).toBe(asOf);
      for (const r of dated.results) expect(r.asOf).toBe(asOf);
    });

    it("follows an owner whose consent changed between two batches (owners' facts kept in memory are forgotten when they change)", async () => {
      await api.setPlan('cache-u', 'pro');
      await api.choose('cache-u', 'granted');
      await api.register('cache-c', 'cache-u');
      const before = await api.batch(['cache-c', 'r-yes']);
      expect(before.results.map((r) => r.reason)).toEqual(['user_choice', 'user_choice']);
      await api.choose('cache-u', 'denied');
      const after = await api.batch(['cache-c', 'r-yes']);
      expect(after.results.map((r) => r.reason)).toEqual(['opted_out', 'user_choice']);
      // The earlier point still answers as it did.
      const replay = await api.batch(['cache-c'], { atRevision: before.revision });
      expect(replay.results[0].reason).toBe('user_choice');
    });

    it("keeps an owner's facts in memory once read, and reads them again once another writer changed them", async () => {
      // Services of their own over the same database: every write below comes from another writer.
      const settled = new SettledRevisions(t.db);
      const policies = new PolicyCache(t.db);
      const eligibility = new EligibilityService(t.db, policies, settled);
      const consent = new ConsentService(t.db, policies, settled);
      await api.setPlan('mem-u', 'pro');
      await api.choose('mem-u', 'granted');
      await api.register('mem-c', 'mem-u');
      expect(settled.users.get('mem-u')).toBeUndefined();
      expect(await eligibility.single('mem-c', { kind: 'now' }, Date.now())).toMatchObject({ eligible: true, reason: 'user_choice' });
      expect(settled.users.get('mem-u')).toHaveLength(2);
      expect((await consent.getConsent('mem-u', { kind: 'now' }, Date.now())).view).toMatchObject({ choice: 'granted' });

      await api.choose('mem-u', 'denied');
      // Past the few milliseconds a settled revision is reused for: the next read settles, and hears of the change.
      await sleep(20);
      expect((await consent.getConsent('mem-u', { kind: 'now' }, Date.now())).view).toMatchObject({ choice: 'denied' });
      expect(settled.users.get('mem-u')).toHaveLength(3);
      const batch = await eligibility.batch(['mem-c'], { kind: 'now' }, Date.now());
      expect(batch.results[0]).toMatchObject({ eligible: false, reason: 'opted_out' });
      expect((await eligibility.single('mem-c', { kind: 'atRevision', revision: batch.revision }, Date.now())).reason).toBe('opted_out');
    });

    it('reads the chats of single checks asked in one turn with one statement, each answered at its own point', async () => {
      await api.setPlan('co-u', 'pro');
      await api.choose('co-u', 'granted');
      await api.register('co-c', 'co-u');
      await api.register('co-d', 'co-u');
      await sleep(5);
      const p1 = new Date().toISOString();
      await sleep(5);
      await api.activity('co-c');
      await sleep(5);
      const p2 = new Date().toISOString();
      await sleep(5);
      await api.activity('co-c');
      await sleep(20);
      const asked: [string, Query][] = [
        ['co-c', { asOf: p1 }],
        ['co-c', { asOf: p2 }],
        ['co-c', {}],
        ['co-d', {}],
        ['co-d', {}],
        ['co-missing', {}],
      ];
      const alone: Decision[] = [];
      for (const [chatId, query] of asked) alone.push(await api.decide(chatId, query));
      // Three different lastActivityAt, hence three different retentionUntil, for co-c.
      expect(new Set(alone.slice(0, 3).map((d) => d.retentionUntil)).size).toBe(3);

      const texts: string[] = [];
      const counted = { ...t.db, query: (text: string, params?: readonly unknown[]) => (texts.push(text), t.db.query(text, params)) } as typeof t.db;
      const eligibility = new EligibilityService(counted, new PolicyCache(counted), new SettledRevisions(counted));
      const now = Date.now();
      await eligibility.single('co-d', { kind: 'now' }, now);
      texts.length = 0;
      const together = await Promise.all(
        asked.map(([chatId, query]) => eligibility.single(chatId, query.asOf ? { kind: 'asOf', at: Date.parse(query.asOf) } : { kind: 'now' }, now)),
      );
      expect(texts.filter((q) => q.includes('FROM chats c')).length).toBe(1);
      const strip = ({ asOf: _a, revision: _r, ...rest }: Decision) => rest;
      expect(together.map((d) => strip(d as Decision))).toEqual(alone.map(strip));
    });

    it('writes a batch as JSON exactly as its decisions, over several parts, at every kind of point', async () => {
      await api.setPlan('json-u', 'pro');
      await api.choose('json-u', 'granted');
      await api.setPlan('json-no', 'pro');
      await api.choose('json-no', 'denied');
      for (const c of ['json-a', 'json-deleted', 'json-flagged']) await api.register(c, 'json-u');
      await api.register('json-incognito', 'json-u', { incognito: true });
      await api.register('json-opted-out', 'json-no');
      await api.remove('json-deleted');
      await api.flag('json-flagged');
      await sleep(20);
      const eligibility = new EligibilityService(t.db, new PolicyCache(t.db), new SettledRevisions(t.db));
      const known = (await t.db.query<{ chat_id: string }>('SELECT chat_id FROM chats ORDER BY chat_id')).map((r) => r.chat_id);
      expect(known.length).toBeGreaterThanOrEqual(5);
      // Every chat of this file's database (every reason it reached), among unknown ids, over more than one part.
      const ids: string[] = [];
      for (let i = 0; i < 6_000; i++) ids.push(i % 7 === 0 && i / 7 < known.length ? known[i / 7] : `json-unknown-${i}`);
      for (const k of known) if (!ids.includes(k)) ids.push(k);
      const revision = (await eligibility.batch(known.slice(0, 1), { kind: 'now' }, Date.now())).revision;
      const points = [
        { kind: 'now' } as const,
        { kind: 'asOf', at: Date.parse('2025-09-15T00:00:00.000Z') } as const,
        { kind: 'atRevision', revision } as const,
      ];
      for (const point of points) {
        for (const asked of [ids, [...ids, ...known]]) {
          const now = Date.now();
          const views = await eligibility.batch(asked, point, now);
          const written = await eligibility.batchJson(asked, point, now);
          expect(written.revision).toBe(views.revision);
          const document = batchBytes(written).toString('utf8');
          expect(JSON.parse(document)).toEqual({ asOf: views.asOf, revision: views.revision, results: views.results });
          // Byte for byte what the decisions written one by one give.
          expect(document).toBe(batchJson(views));
          const reasons = new Map<string, number>();
          for (const r of views.results) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
          expect(new Map(written.reasons)).toEqual(reasons);
        }
        // The batch reads its chats at the point in SQL; a single check reads the rows and applies the point itself.
        const now = Date.now();
        const batch = await eligibility.batch(known, point, now);
        const singles = await Promise.all(known.map((id) => eligibility.single(id, point, now)));
        expect(singles).toEqual(batch.results);
      }
    });

    it('accepts 10,000 ids of 128 characters (over 1 MiB, under the 1.5 MiB batch limit)', async () => {
      const ids = Array.from({ length: 10_000 }, (_, i) => `long-${String(i).padStart(5, '0')}-`.padEnd(128, 'x'));
      ids[4_321] = 'r-yes';
      const body = JSON.stringify({ chatIds: ids });
      expect(body.length).toBeGreaterThan(1024 * 1024);
      expect(body.length).toBeLessThan(1.5 * 1024 * 1024);
      const res = await post({ chatIds: ids });
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
      expect(res.body.results).toHaveLength(10_000);
      expect(res.body.results.map((r: Decision) => r.chatId)).toEqual(ids);
      expect(res.body.results[4_321]).toMatchObject({ eligible: true, reason: 'user_choice' });
      expect(res.body.results.filter((r: Decision) => r.reason === 'chat_not_found')).toHaveLength(9_999);
    });

    it('refuses more than 10,000 ids with 400, and a body over 1.5 MiB with 413', async () => {
      const short = Array.from({ length: 10_001 }, (_, i) => `c${i}`);
      expectProblem(await post({ chatIds: short }), 400, 'VALIDATION_FAILED');
      const long = Array.from({ length: 11_000 }, (_, i) => `long-${i}-`.padEnd(128, 'y'));
      expect(JSON.stringify({ chatIds: long }).length).toBeLessThan(1.5 * 1024 * 1024);
      expectProblem(await post({ chatIds: long }), 400, 'VALIDATION_FAILED');
      const huge = Array.from({ length: 12_500 }, (_, i) => `huge-${i}-`.padEnd(128, 'z'));
      expect(JSON.stringify({ chatIds: huge }).length).toBeGreaterThan(1.5 * 1024 * 1024);
      expectProblem(await post({ chatIds: huge }), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('refuses malformed ids, an empty list, a future asOf, asOf with atRevision, and unknown fields with 400', async () => {
      for (const bad of [['ok', '-bad'], ['has space'], [''], ['x'.repeat(129)], ['ok', 42], ['é']]) {
        expectProblem(await post({ chatIds: bad }), 400, 'VALIDATION_FAILED');
      }
      expectProblem(await post({ chatIds: [] }), 400, 'VALIDATION_FAILED');
      expectProblem(await post({}), 400, 'VALIDATION_FAILED');
      expectProblem(await post({ chatIds: 'r-yes' }), 400, 'VALIDATION_FAILED');
      expectProblem(await post({ chatIds: ['r-yes'], asOf: iso(Date.now() + 60_000) }), 400, 'VALIDATION_FAILED');
      expectProblem(await post({ chatIds: ['r-yes'], asOf: iso(Date.now() - 60_000), atRevision: '1' }), 400, 'VALIDATION_FAILED');
      expectProblem(await post({ chatIds: ['r-yes'], atRevision: '999999999' }), 400, 'VALIDATION_FAILED');
      expectProblem(await post({ chatIds: ['r-yes'], extra: true }), 400, 'VALIDATION_FAILED');
    });
  });

  describe('properties', () => {
    const users = ['p-u0', 'p-u1', 'p-u2', 'p-u3'];
    const pool: string[] = [];
    let serial = 0;

    type Write =
      | { kind: 'choice'; user: number; choice: 'granted' | 'denied' }
      | { kind: 'plan'; user: number; plan: string }
      | { kind: 'delete'; chat: number }
      | { kind: 'activity'; chat: number; backdate: number | null }
      | { kind: 'flag'; chat: number }
      | { kind: 'register'; user: number; incognito: boolean; backdate: number | null };

    const user = fc.nat({ max: users.length - 1 });
    const chat = fc.nat();
    // Backdated by a few seconds (often still after the chat's last activity, and before the
    // revision being read: the case a reader at that revision must not see) or by many days.
    const backdate = fc.option(
      fc.oneof({ arbitrary: fc.integer({ min: 1, max: 5_000 }), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 400 * DAY }), weight: 1 }),
      { nil: null },
    );
    const writeArb: fc.Arbitrary<Write> = fc.oneof(
      fc.record({ kind: fc.constant('choice' as const), user, choice: fc.constantFrom('granted' as const, 'denied' as const) }),
      fc.record({ kind: fc.constant('plan' as const), user, plan: fc.constantFrom('free', 'pro', 'max', 'team', 'enterprise') }),
      fc.record({ kind: fc.constant('delete' as const), chat }),
      { arbitrary: fc.record({ kind: fc.constant('activity' as const), chat, backdate }), weight: 3 },
      fc.record({ kind: fc.constant('flag' as const), chat }),
      fc.record({ kind: fc.constant('register' as const), user, incognito: fc.boolean(), backdate }),
    );

    /** Applies a write through the API; returns the revision it wrote, if it answers one. */
    async function apply(w: Write): Promise<string | null> {
      const writer = await t.bearer('consent:write', 'frontend');
      switch (w.kind) {
        case 'choice':
          return (await api.choose(users[w.user], w.choice)).revision;
        case 'plan':
          return (await api.setPlan(users[w.user], w.plan)).revision;
        case 'delete': {
          const res = await t.http.delete(`/v1/chats/${pool[w.chat % pool.length]}`).set('authorization', writer);
          expect(res.status).toBe(200);
          return res.body.revision;
        }
        case 'flag':
          return (await api.flag(pool[w.chat % pool.length])).revision;
        case 'activity': {
          const id = pool[w.chat % pool.length];
          const body = w.backdate === null ? {} : { at: iso(Date.now() - w.backdate) };
          const res = await t.http.post(`/v1/chats/${id}/activity`).set('authorization', writer).send(body);
          expect([204, 409]).toContain(res.status); // 409 once the chat is deleted
          return null;
        }
        case 'register': {
          const id = `p-c${++serial}`;
          const extra: Record<string, unknown> = { incognito: w.incognito };
          if (w.backdate !== null) extra.createdAt = iso(Date.now() - w.backdate);
          const created = await api.register(id, users[w.user], extra);
          pool.push(id);
          return created.revision;
        }
      }
    }

    beforeAll(async () => {
      await api.setPlan('p-u0', 'pro');
      await api.choose('p-u0', 'granted');
      await api.setPlan('p-u1', 'max');
      await api.setPlan('p-u2', 'pro');
      await api.choose('p-u2', 'denied');
      await api.setPlan('p-u3', 'team');
      for (let i = 0; i < 8; i++) await apply({ kind: 'register', user: i % users.length, incognito: i === 7, backdate: null });
    });

    it('a batch answers what single reads answer for the same ids at the same atRevision', async () => {
      const revisions: string[] = [(await api.batch(['p-c1'])).revision];
      await fc.assert(
        fc.asyncProperty(
          fc.array(writeArb, { maxLength: 4 }),
          fc.array(fc.oneof(fc.nat(), fc.constantFrom('p-unknown-1', 'p-unknown-2', 'r-yes')), { minLength: 1, maxLength: 12 }),
          fc.nat(),
          async (writes, picks, pick) => {
            for (const w of writes) {
              const r = await apply(w);
              if (r !== null) revisions.push(r);
            }
            revisions.push((await api.batch(['p-c1'])).revision);
            const ids = picks.map((p) => (typeof p === 'number' ? pool[p % pool.length] : p));
            const atRevision = revisions[pick % revisions.length];
            const batch = await api.batch(ids, { atRevision });
            expect(batch.revision).toBe(atRevision);
            for (const [i, id] of ids.entries()) {
              expect(await api.decide(id, { atRevision })).toEqual(batch.results[i]);
            }
          },
        ),
        { numRuns: 15, endOnFailure: true },
      );
    });

    it('answers at a recorded revision never change after later writes', async () => {
      let changed = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(writeArb, { minLength: 1, maxLength: 6 }), fc.nat(), async (writes, pick) => {
          const ids = [...pool, 'p-unknown-1', 'r-yes', 'h-sept'];
          const now = await api.batch(ids);
          const atR = await api.batch(ids, { atRevision: now.revision });
          // The read "now" and the read at the revision it returned agree on every decision.
          const withoutTime = (d: Decision) => ({ ...d, asOf: undefined });
          expect(atR.results.map(withoutTime)).toEqual(now.results.map(withoutTime));
          for (const w of writes) await apply(w);
          const later = await api.batch(ids, { atRevision: now.revision });
          expect(later).toEqual(atR);
          const one = ids[pick % ids.length];
          expect(await api.decide(one, { atRevision: now.revision })).toEqual(atR.results[pick % ids.length]);
          const current = await api.batch(ids);
          if (JSON.stringify(current.results.map(withoutTime)) !== JSON.stringify(atR.results.map(withoutTime))) changed++;
        }),
        { numRuns: 15, endOnFailure: true },
      );
      // The writes did change the present, so the property above was not vacuous.
      expect(changed).toBeGreaterThan(0);
    });
  });
});

describe('with policies that take effect while the test runs', () => {
  let t: TestApp;
  let api: Client;
  const A = 'reconsent-a';
  const B = 'default-denied-b';
  let aEffective: number;
  let bEffective: number;
  let undecidedChat: { createdAt: number };
  let retentionChat: { createdAt: number };
  let regrantAt: number;

  beforeAll(async () => {
    t = await startTestApp();
    const admin = await t.bearer('admin', 'admin');
    api = client(t, {
      writer: await t.bearer('consent:write', 'frontend'),
      pipeline: await t.bearer('training:read', 'pipeline'),
      reader: await t.bearer('consent:read', 'support'),
    });
    // u-re chose before policy A, which requires reconsent: under A it is undecided again, and
    // under B (default denied, deadline passed) it is default_denied.
    await api.setPlan('u-re', 'pro');
    await api.choose('u-re', 'granted');
    undecidedChat = await api.register('t-undecided', 'u-re');
    await api.setPlan('u-ret', 'pro');

    const t0 = Date.now();
    aEffective = t0 + 2_500;
    bEffective = t0 + 4_000;
    const bDeadline = t0 + 5_000;
    const policy = (body: Record<string, unknown>) => t.http.post('/v1/policies').set('authorization', admin).send(body);
    const a = await policy({
      version: A,
      effectiveAt: iso(aEffective),
      decisionDeadline: iso(t0 + 400 * DAY),
      defaultChoice: 'granted',
      requiresReconsent: true,
      retention: { grantedDays: 1000, deniedDays: 15, violationDays: 365 },
    });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const b = await policy({
      version: B,
      effectiveAt: iso(bEffective),
      decisionDeadline: iso(bDeadline),
      defaultChoice: 'denied',
      requiresReconsent: false,
      retention: { grantedDays: 0, deniedDays: 1, violationDays: 2 },
    });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    // Waiting for the policies to take effect is the point of this fixture, not an assertion on time.
    while (Date.now() <= bDeadline + 50) await sleep(100);

    // u-ret grants under B (after A's reconsent cutoff, so the choice is valid), then starts a chat.
    regrantAt = (await api.choose('u-ret', 'granted')).at;
    retentionChat = await api.register('t-retention', 'u-ret');
    await sleep(5);
  }, 60_000);
  afterAll(async () => t?.close());

  it('row 8: a policy that requires reconsent makes an earlier choice invalid: undecided before its deadline', async () => {
    const asOf = iso(Math.floor((aEffective + bEffective) / 2));
    expectDecision(
      await api.decide('t-undecided', { asOf }),
      {
        chatId: 't-undecided',
        userId: 'u-re',
        eligible: false,
        reason: 'undecided',
        policyVersion: A,
        consentSince: null,
        retentionUntil: plusDays(undecidedChat.createdAt, 15),
      },
      asOf,
    );
    expect(await api.consent('u-re', { asOf })).toMatchObject({ basis: 'undecided', decisionRequired: true, policyVersion: A, choice: null });
    // Before A took effect the old grant held.
    expect((await api.decide('t-undecided', { asOf: iso(aEffective - 1) })).reason).toBe('user_choice');
  });

  it('row 9: no valid choice after a deadline whose default is denied: default_denied', async () => {
    expectDecision(await api.decide('t-undecided'), {
      chatId: 't-undecided',
      userId: 'u-re',
      eligible: false,
      reason: 'default_denied',
      policyVersion: B,
      consentSince: null,
      retentionUntil: plusDays(undecidedChat.createdAt, 1),
    });
    expect(await api.consent('u-re')).toMatchObject({ basis: 'default_after_deadline', effective: 'denied', decisionRequired: true });
  });

  it('row 11: past last activity + grantedDays, retention_expired (strictly after: at the instant itself still eligible)', async () => {
    const last = retentionChat.createdAt;
    const base = { chatId: 't-retention', userId: 'u-ret', policyVersion: B, consentSince: iso(regrantAt), retentionUntil: iso(last) };
    expectDecision(await api.decide('t-retention', { asOf: iso(last) }), { ...base, eligible: true, reason: 'user_choice' }, iso(last));
    expectDecision(await api.decide('t-retention', { asOf: iso(last + 1) }), { ...base, eligible: false, reason: 'retention_expired' }, iso(last + 1));
    expectDecision(await api.decide('t-retention'), { ...base, eligible: false, reason: 'retention_expired' });
  });
});
