import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { codes, data, FIELDS, USER_FIELDS } from '../helpers/graphql.js';

/**
 * SPEC §5: GraphQL is a second door onto the same services. The same scenario done through REST
 * for one user and through GraphQL for another leaves equal state and the same audit events; and
 * GraphQL reads of what REST wrote equal the REST reads, now and at a point.
 */

let t: TestApp;
let writer: string;
let pipeline: string;
let auditor: string;

beforeAll(async () => {
  t = await startTestApp();
  writer = await t.bearer('consent:write', 'frontend');
  pipeline = await t.bearer('training:read', 'pipeline');
  auditor = await t.bearer('audit:read', 'auditor');
});
afterAll(async () => t?.close());

const presentation = { trainingToggleDefault: true, trainingToggleShown: true, locale: 'en-GB' };

/** The scenario's steps, each through one door; returns what the caller sees of each step. */
interface Door {
  acceptTerms(userId: string, key: string): Promise<unknown>;
  registerChat(chatId: string, userId: string, incognito?: boolean): Promise<unknown>;
  activity(chatId: string): Promise<unknown>;
  readEtag(userId: string): Promise<string>;
  setConsent(userId: string, choice: string, ifMatch: string | null): Promise<{ ok: boolean; code?: string }>;
  setPlan(userId: string, plan: string): Promise<unknown>;
  flag(chatId: string): Promise<unknown>;
  remove(chatId: string): Promise<unknown>;
}

const rest: Door = {
  acceptTerms: async (userId, key) =>
    (
      await t.http
        .post(`/v1/users/${userId}/terms-acceptances`)
        .set('authorization', writer)
        .set('idempotency-key', key)
        .send({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', plan: 'pro', presentation })
        .expect(201)
    ).body,
  registerChat: async (chatId, userId, incognito) =>
    (await t.http.put(`/v1/chats/${chatId}`).set('authorization', writer).send({ userId, ...(incognito ? { incognito } : {}) }).expect(201)).body,
  activity: async (chatId) => t.http.post(`/v1/chats/${chatId}/activity`).set('authorization', writer).send({}).expect(204),
  readEtag: async (userId) => (await t.http.get(`/v1/users/${userId}/training-consent`).set('authorization', writer).expect(200)).headers.etag,
  setConsent: async (userId, choice, ifMatch) => {
    let req = t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', writer);
    if (ifMatch) req = req.set('if-match', ifMatch);
    const res = await req.send({ choice, surface: 'ios' });
    return res.status === 200 ? { ok: true } : { ok: false, code: res.body.code };
  },
  setPlan: async (userId, plan) => (await t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan }).expect(200)).body,
  flag: async (chatId) => (await t.http.post(`/v1/chats/${chatId}/flags`).set('authorization', writer).send({ type: 'policy_violation' }).expect(200)).body,
  remove: async (chatId) => (await t.http.delete(`/v1/chats/${chatId}`).set('authorization', writer).expect(200)).body,
};

const gql: Door = {
  acceptTerms: async (userId, key) =>
    (
      await data(
        t,
        writer,
        `mutation($u: ID!, $i: TermsAcceptanceInput!, $k: String) { acceptTerms(userId: $u, input: $i, idempotencyKey: $k) { ${FIELDS.terms} } }`,
        { u: userId, k: key, i: { policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', plan: 'pro', presentation } },
      )
    ).acceptTerms,
  registerChat: async (chatId, userId, incognito) =>
    (await data(t, writer, `mutation($c: ID!, $u: ID!, $x: Boolean) { registerChat(chatId: $c, userId: $u, incognito: $x) { ${FIELDS.chat} } }`, { c: chatId, u: userId, x: incognito ?? null }))
      .registerChat,
  activity: async (chatId) => expect((await data(t, writer, 'mutation($c: ID!) { reportChatActivity(chatId: $c) }', { c: chatId })).reportChatActivity).toBe(true),
  readEtag: async (userId) => (await data(t, writer, 'query($u: ID!) { trainingConsent(userId: $u) { etag } }', { u: userId })).trainingConsent.etag,
  setConsent: async (userId, choice, ifMatch) => {
    const res = await t.http
      .post('/graphql')
      .set('authorization', writer)
      .send({
        query: `mutation($u: ID!, $c: Choice!, $m: String) { setTrainingConsent(userId: $u, choice: $c, surface: ios, ifMatch: $m) { etag ${FIELDS.consent} } }`,
        variables: { u: userId, c: choice, m: ifMatch },
      });
    return res.body.errors ? { ok: false, code: res.body.errors[0].extensions.code } : { ok: true };
  },
  setPlan: async (userId, plan) => (await data(t, writer, `mutation($u: ID!, $p: Plan!) { setPlan(userId: $u, plan: $p) { ${USER_FIELDS} } }`, { u: userId, p: plan })).setPlan,
  flag: async (chatId) => (await data(t, writer, `mutation($c: ID!) { flagChat(chatId: $c, type: policy_violation) { ${FIELDS.chat} } }`, { c: chatId })).flagChat,
  remove: async (chatId) => (await data(t, writer, `mutation($c: ID!) { deleteChat(chatId: $c) { ${FIELDS.chat} } }`, { c: chatId })).deleteChat,
};

async function scenario(door: Door, p: string) {
  const user = `${p}-user`;
  await door.acceptTerms(user, `${p}-accept`);
  // A retry with the same key replays and writes nothing.
  await door.acceptTerms(user, `${p}-accept`);
  await door.registerChat(`${p}-chat-1`, user);
  await door.registerChat(`${p}-chat-2`, user, true);
  await door.activity(`${p}-chat-1`);
  const etag = await door.readEtag(user);
  expect(await door.setConsent(user, 'denied', etag)).toEqual({ ok: true });
  // The etag read before the change is stale now: refused, nothing written.
  expect(await door.setConsent(user, 'granted', etag)).toEqual({ ok: false, code: 'PRECONDITION_FAILED' });
  await door.setPlan(user, 'max');
  await door.flag(`${p}-chat-1`);
  await door.remove(`${p}-chat-2`);
}

/** What may differ between the two runs (ids, times, revisions, hashes) set aside, the other prefix mapped to `x`. */
function normal(value: unknown, p: string): unknown {
  const skip = new Set(['revision', 'eventId', 'occurredAt', 'requestId', 'prevHash', 'hash', 'acceptanceId', 'acceptedAt', 'createdAt', 'lastActivityAt', 'deletedAt', 'flaggedAt', 'choiceAt', 'asOf', 'consentSince', 'retentionUntil']);
  if (typeof value === 'string') return value.split(`${p}-`).join('x-');
  if (Array.isArray(value)) return value.map((v) => normal(v, p));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k, v]) => !skip.has(k) && v !== null && !(k === 'chatId' && v === undefined))
        .map(([k, v]) => [k, normal(v, p)]),
    );
  }
  return value;
}

describe('the same scenario through either door', () => {
  it('leaves equal state and the same audit events, in the same order', async () => {
    await scenario(rest, 'rest');
    await scenario(gql, 'gql');
    for (const path of ['/v1/users/{p}-user', '/v1/users/{p}-user/training-consent', '/v1/users/{p}-user/terms-acceptances', '/v1/chats/{p}-chat-1', '/v1/chats/{p}-chat-2']) {
      const [a, b] = await Promise.all(['rest', 'gql'].map((p) => t.http.get(path.replace('{p}', p)).set('authorization', writer).expect(200)));
      expect(normal(b.body, 'gql'), path).toEqual(normal(a.body, 'rest'));
    }
    const events = await Promise.all(
      ['rest', 'gql'].map(async (p) => (await t.http.get(`/v1/users/${p}-user/audit-events`).set('authorization', auditor).expect(200)).body.items),
    );
    expect(events[0].map((e: { type: string }) => e.type)).toEqual([
      'terms.accepted',
      'user.plan_changed',
      'consent.choice_recorded',
      'chat.registered',
      'chat.registered',
      'consent.choice_recorded',
      'user.plan_changed',
      'chat.flagged',
      'chat.deleted',
    ]);
    expect(normal(events[1], 'gql')).toEqual(normal(events[0], 'rest'));
    const [a, b] = await Promise.all(
      ['rest', 'gql'].map(async (p) =>
        (await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds: [`${p}-chat-1`, `${p}-chat-2`] }).expect(200)).body.results,
      ),
    );
    expect(normal(b, 'gql')).toEqual(normal(a, 'rest'));
  });

  it('shares the Idempotency-Key store: a key used over REST replays over GraphQL, and refuses another request', async () => {
    const key = 'shared-key-1';
    const first = await t.http.put('/v1/users/idem-user/training-consent').set('authorization', writer).set('idempotency-key', key).send({ choice: 'granted', surface: 'web' }).expect(200);
    const count = async () => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event_personal WHERE user_id = 'idem-user'`))[0].n;
    const before = await count();
    const replay = await data(t, writer, `mutation { setTrainingConsent(userId: "idem-user", choice: granted, surface: web, idempotencyKey: "${key}") { etag ${FIELDS.consent} } }`);
    expect(replay.setTrainingConsent).toEqual({ ...first.body, etag: first.headers.etag });
    expect(await count()).toBe(before);
    expect(await codes(t, writer, `mutation { setTrainingConsent(userId: "idem-user", choice: denied, surface: web, idempotencyKey: "${key}") { revision } }`)).toEqual([
      'IDEMPOTENCY_KEY_REUSED',
    ]);
    // Keys are the caller's own: another caller's same key is another request.
    const other = await t.bearer('consent:write', 'another-frontend');
    await data(t, other, `mutation { setTrainingConsent(userId: "idem-user", choice: denied, surface: web, idempotencyKey: "${key}") { revision } }`);
    expect(await count()).toBe(before + 1);
  });
});

describe('GraphQL reads of what REST wrote equal the REST reads', () => {
  let atRevision: string;
  let asOf: string;
  beforeAll(async () => {
    await t.http
      .post('/v1/users/reader-1/terms-acceptances')
      .set('authorization', writer)
      .send({ policyVersion: '2025-09-28', surface: 'android', trainingChoice: 'granted', plan: 'free', presentation: { trainingToggleDefault: true, trainingToggleShown: false } })
      .expect(201);
    await t.http.put('/v1/chats/reader-chat-1').set('authorization', writer).send({ userId: 'reader-1', createdAt: '2025-10-01T10:00:00.000Z' }).expect(201);
    await t.http.put('/v1/chats/reader-chat-2').set('authorization', writer).send({ userId: 'reader-1' }).expect(201);
    atRevision = (await t.http.put('/v1/users/reader-1/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'web' }).expect(200)).body.revision;
    asOf = new Date().toISOString();
    await t.http.put('/v1/users/reader-1/training-consent').set('authorization', writer).send({ choice: 'granted', surface: 'web' }).expect(200);
  });

  const point = () => [
    { name: 'asOf', rest: `asOf=${encodeURIComponent(asOf)}`, args: `asOf: "${asOf}"` },
    { name: 'atRevision', rest: `atRevision=${atRevision}`, args: `atRevision: "${atRevision}"` },
  ];

  it('consent and its ETag, at a time and at a revision', async () => {
    for (const p of point()) {
      const r = await t.http.get(`/v1/users/reader-1/training-consent?${p.rest}`).set('authorization', writer).expect(200);
      const g = await data(t, writer, `{ trainingConsent(userId: "reader-1", ${p.args}) { etag ${FIELDS.consent} } }`);
      expect(g.trainingConsent, p.name).toEqual({ ...r.body, etag: r.headers.etag });
      const nested = await data(t, writer, `{ user(userId: "reader-1") { trainingConsent(${p.args}) { ${FIELDS.consent} } } }`);
      expect(nested.user.trainingConsent, p.name).toEqual(r.body);
    }
  });

  it('the user, its terms acceptances, a chat, and policies, now', async () => {
    const user = (await t.http.get('/v1/users/reader-1').set('authorization', writer).expect(200)).body;
    const g = await data(t, writer, `{ user(userId: "reader-1") { ${USER_FIELDS} } }`);
    const withoutTime = (u: { trainingConsent: { asOf: string } }) => ({ ...u, trainingConsent: { ...u.trainingConsent, asOf: 'now' } });
    const { locale: _l, uiVariant: _v, ...shown } = g.user.latestTermsAcceptance.presentation;
    expect(withoutTime({ ...g.user, latestTermsAcceptance: { ...g.user.latestTermsAcceptance, presentation: shown } })).toEqual(withoutTime(user));
    const terms = (await t.http.get('/v1/users/reader-1/terms-acceptances').set('authorization', writer).expect(200)).body.items;
    const gTerms = await data(t, writer, `{ termsAcceptances(userId: "reader-1") { acceptanceId policyVersion acceptedAt surface trainingChoice revision userId } }`);
    expect(gTerms.termsAcceptances).toEqual(terms.map(({ presentation: _p, ...rest }: Record<string, unknown>) => rest));
    const chat = (await t.http.get('/v1/chats/reader-chat-1').set('authorization', writer).expect(200)).body;
    expect((await data(t, writer, `{ chat(chatId: "reader-chat-1") { ${FIELDS.chat} } }`)).chat).toEqual(chat);
    const policies = (await t.http.get('/v1/policies').set('authorization', pipeline).expect(200)).body.items;
    expect((await data(t, pipeline, `{ policies { ${FIELDS.policy} } }`)).policies).toEqual(policies);
    expect((await data(t, pipeline, `{ policy(version: "2025-09-28") { ${FIELDS.policy} } }`)).policy).toEqual(policies[0]);
  });

  it('eligibility, single and batch, at a time and at a revision', async () => {
    for (const p of point()) {
      for (const chatId of ['reader-chat-1', 'reader-chat-2', 'no-such-chat']) {
        const r = await t.http.get(`/v1/chats/${chatId}/training-eligibility?${p.rest}`).set('authorization', pipeline).expect(200);
        const g = await data(t, pipeline, `{ trainingEligibility(chatId: "${chatId}", ${p.args}) { ${FIELDS.decision} } }`);
        expect(g.trainingEligibility, `${chatId} ${p.name}`).toEqual(r.body);
      }
      const ids = ['reader-chat-2', 'no-such-chat', 'reader-chat-1', 'reader-chat-2'];
      const body = p.name === 'asOf' ? { chatIds: ids, asOf } : { chatIds: ids, atRevision };
      const r = await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send(body).expect(200);
      const g = await data(t, pipeline, `query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids, ${p.args}) { asOf revision results { ${FIELDS.decision} } } }`, { ids });
      expect(g.trainingEligibilityBatch, p.name).toEqual(r.body);
    }
  });

  it("the change feed and a user's audit events", async () => {
    const feed = (await t.http.get('/v1/audit/events?after=0&limit=50').set('authorization', auditor).expect(200)).body;
    const g = await data(t, auditor, `{ changeFeed(after: "0", first: 50) { nextCursor items { ${FIELDS.event} } } }`);
    expect(g.changeFeed).toEqual({ nextCursor: feed.nextCursor, items: feed.items.map((e: Record<string, unknown>) => ({ chatId: null, ...e })) });
    const typed = (await t.http.get('/v1/audit/events?after=0&types=consent.choice_recorded').set('authorization', pipeline).expect(200)).body;
    const gTyped = await data(t, pipeline, `{ changeFeed(after: "0", types: ["consent.choice_recorded"]) { nextCursor items { revision type } } }`);
    expect(gTyped.changeFeed.items).toEqual(typed.items.map((e: { revision: string; type: string }) => ({ revision: e.revision, type: e.type })));
    const mine = (await t.http.get('/v1/users/reader-1/audit-events?limit=3').set('authorization', auditor).expect(200)).body;
    const gMine = await data(t, auditor, `{ auditEvents(userId: "reader-1", first: 3) { nextCursor items { ${FIELDS.event} } } }`);
    expect(gMine.auditEvents).toEqual({ nextCursor: mine.nextCursor, items: mine.items.map((e: Record<string, unknown>) => ({ chatId: null, ...e })) });
  });

  it("a user's chats, paged by chatId", async () => {
    const first = await data(t, writer, `{ user(userId: "reader-1") { chats(first: 1) { nextCursor items { chatId } } } }`);
    expect(first.user.chats).toEqual({ nextCursor: 'reader-chat-1', items: [{ chatId: 'reader-chat-1' }] });
    const rest = await data(t, writer, `{ user(userId: "reader-1") { chats(after: "reader-chat-1") { nextCursor items { chatId } } } }`);
    expect(rest.user.chats).toEqual({ nextCursor: null, items: [{ chatId: 'reader-chat-2' }] });
  });
});
