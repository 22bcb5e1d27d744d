import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startServiceOn, startTestApp, type TestApp } from '../helpers/app.js';
import { AUDIENCE, ISSUER } from '../helpers/tokens.js';

/**
 * minRevision (read-your-writes, docs/decisions/0041) on every read, REST and GraphQL, and two
 * instances on one database: what one writes, the other reads when asked with the revision the
 * write returned; its caches (users' facts, policies) and the idempotency store agree. On the
 * embedded database the two instances share its one connection; on PostgreSQL each has its own pool.
 */
let t: TestApp;
let other: { http: supertest.Agent; close(): Promise<void> };
let admin: string;
let revision: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer('admin');
  if (t.url !== null) {
    other = await startServiceOn(t.url, { RATE_LIMIT_MAX: '50000' }, t.keys);
  } else {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      AUTH_JWKS_FILE: t.keys.jwksFile,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      DATA_DIR: '/nonexistent-test-data-dir',
      DATABASE_URL: 'memory://',
    });
    const app = await buildApp(config, { db: t.db });
    await app.ready();
    other = { http: supertest.agent(app.server), close: () => app.close() };
  }
  const terms = await t.http.post('/v1/users/mr-u1/terms-acceptances').set('authorization', admin).send({
    policyVersion: '2025-09-28',
    surface: 'web',
    trainingChoice: 'granted',
    plan: 'pro',
    presentation: { trainingToggleDefault: true, trainingToggleShown: true },
  });
  expect(terms.status).toBe(201);
  const chat = await t.http.put('/v1/chats/mr-c1').set('authorization', admin).send({ userId: 'mr-u1' });
  expect(chat.status).toBe(201);
  revision = chat.body.revision;
});

afterAll(async () => {
  await other?.close();
  await t?.close();
});

const gql = (http: supertest.Agent, query: string) => http.post('/graphql').set('authorization', admin).send({ query });

describe('minRevision', () => {
  it('is accepted by every read, which answers at that revision or a later one', async () => {
    const at = `minRevision=${revision}`;
    const withRevision = [
      `/v1/users/mr-u1?${at}`,
      `/v1/users/mr-u1/training-consent?${at}`,
      `/v1/chats/mr-c1/training-eligibility?${at}`,
    ];
    for (const path of withRevision) {
      const res = await t.http.get(path).set('authorization', admin);
      expect(res.status, path).toBe(200);
      expect(BigInt(res.body.revision), path).toBeGreaterThanOrEqual(BigInt(revision));
    }
    for (const path of [
      `/v1/users/mr-u1/terms-acceptances?${at}`,
      `/v1/users/mr-u1/audit-events?${at}`,
      `/v1/chats/mr-c1?${at}`,
      `/v1/policies?${at}`,
      `/v1/policies/2025-09-28?${at}`,
    ]) {
      expect((await t.http.get(path).set('authorization', admin)).status, path).toBe(200);
    }
    const batch = await t.http.post('/v1/training-eligibility/batch').set('authorization', admin).send({ chatIds: ['mr-c1'], minRevision: revision });
    expect(BigInt(batch.body.revision)).toBeGreaterThanOrEqual(BigInt(revision));
    const stream = await t.http.get(`/v1/training-eligibility/eligible-chats?${at}`).set('authorization', admin);
    expect(stream.status).toBe(200);
    expect(BigInt(stream.headers['consent-revision'])).toBeGreaterThanOrEqual(BigInt(revision));
    const feed = await t.http.get(`/v1/audit/events?after=0&limit=1000&${at}`).set('authorization', admin);
    expect(BigInt(feed.body.nextCursor)).toBeGreaterThanOrEqual(BigInt(revision));

    const m = `minRevision: "${revision}"`;
    const res = await gql(
      t.http,
      `{ user(userId: "mr-u1", ${m}) { revision trainingConsent(${m}) { revision } chats { items { trainingEligibility(${m}) { revision } } } }
         trainingConsent(userId: "mr-u1", ${m}) { revision } termsAcceptances(userId: "mr-u1", ${m}) { acceptanceId }
         chat(chatId: "mr-c1", ${m}) { chatId user { revision } } trainingEligibility(chatId: "mr-c1", ${m}) { revision }
         trainingEligibilityBatch(chatIds: ["mr-c1"], ${m}) { revision } policies(${m}) { version } policy(version: "2025-09-28", ${m}) { version }
         auditEvents(userId: "mr-u1", ${m}) { nextCursor } changeFeed(first: 1000, ${m}) { nextCursor } }`,
    );
    expect(res.body.errors).toBeUndefined();
    const d = res.body.data;
    for (const r of [d.user.revision, d.user.trainingConsent.revision, d.user.chats.items[0].trainingEligibility.revision, d.trainingConsent.revision,
      d.chat.user.revision, d.trainingEligibility.revision, d.trainingEligibilityBatch.revision, d.changeFeed.nextCursor]) {
      expect(BigInt(r)).toBeGreaterThanOrEqual(BigInt(revision));
    }
  });

  it('beyond the newest revision is 400, as atRevision is', async () => {
    const beyond = (BigInt(revision) + 1_000_000n).toString();
    const get = await t.http.get(`/v1/users/mr-u1/training-consent?minRevision=${beyond}`).set('authorization', admin);
    expect(get.status).toBe(400);
    expect(get.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(get.body.code).toBe('VALIDATION_FAILED');
    expect(get.body.errors).toEqual([{ path: 'query.minRevision', message: expect.stringMatching(/^must be at most \d+$/) }]);
    const chat = await t.http.get(`/v1/chats/mr-c1?minRevision=${beyond}`).set('authorization', admin);
    expect(chat.status).toBe(400);
    const batch = await t.http.post('/v1/training-eligibility/batch').set('authorization', admin).send({ chatIds: ['mr-c1'], minRevision: beyond });
    expect(batch.status).toBe(400);
    expect(batch.body.errors[0].path).toBe('body.minRevision');
    const res = await gql(t.http, `{ trainingConsent(userId: "mr-u1", minRevision: "${beyond}") { revision } }`);
    expect(res.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
  });

  it('with asOf or atRevision is 400', async () => {
    const asOf = new Date().toISOString();
    for (const path of [
      `/v1/users/mr-u1/training-consent?minRevision=${revision}&atRevision=${revision}`,
      `/v1/chats/mr-c1/training-eligibility?minRevision=${revision}&asOf=${asOf}`,
      `/v1/training-eligibility/eligible-chats?minRevision=${revision}&atRevision=${revision}`,
    ]) {
      const res = await t.http.get(path).set('authorization', admin);
      expect(res.status, path).toBe(400);
      expect(res.body.errors, path).toEqual([{ path: 'query.minRevision', message: 'use either minRevision, or asOf or atRevision' }]);
    }
    const batch = await t.http
      .post('/v1/training-eligibility/batch')
      .set('authorization', admin)
      .send({ chatIds: ['mr-c1'], minRevision: revision, atRevision: revision });
    expect(batch.status).toBe(400);
    expect(batch.body.errors[0].path).toBe('body.minRevision');
    const res = await gql(t.http, `{ trainingEligibility(chatId: "mr-c1", minRevision: "${revision}", asOf: "${asOf}") { revision } }`);
    expect(res.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors[0].extensions.errors[0].path).toBe('args.minRevision');
  });
});

describe('two instances on one database', () => {
  it('reads through one what was written through the other, with the revision the write returned', async () => {
    // The other instance knows the user first: its users' facts cache holds the old consent.
    const before = await other.http.get('/v1/users/mr-u1/training-consent').set('authorization', admin);
    expect(before.body.choice).toBe('granted');
    const write = await t.http.put('/v1/users/mr-u1/training-consent').set('authorization', admin).send({ choice: 'denied', surface: 'web' });
    expect(write.status).toBe(200);
    const r = write.body.revision;
    const consent = await other.http.get(`/v1/users/mr-u1/training-consent?minRevision=${r}`).set('authorization', admin);
    expect(BigInt(consent.body.revision)).toBeGreaterThanOrEqual(BigInt(r));
    expect(consent.body.choice).toBe('denied');
    const decision = await other.http.get(`/v1/chats/mr-c1/training-eligibility?minRevision=${r}`).set('authorization', admin);
    expect(decision.body.reason).toBe('opted_out');
    const nested = await gql(other.http, `{ chat(chatId: "mr-c1", minRevision: "${r}") { user { trainingConsent { choice } } trainingEligibility { reason } } }`);
    expect(nested.body.data.chat).toEqual({ user: { trainingConsent: { choice: 'denied' } }, trainingEligibility: { reason: 'opted_out' } });
  });

  it('sees a policy added through the other', async () => {
    const created = await t.http.post('/v1/policies').set('authorization', admin).send({
      version: 'mr-2099',
      effectiveAt: '2099-01-01T00:00:00.000Z',
      decisionDeadline: '2099-02-01T00:00:00.000Z',
      defaultChoice: 'denied',
      requiresReconsent: false,
      retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 },
    });
    expect(created.status).toBe(201);
    const listed = await other.http.get(`/v1/policies?minRevision=${created.body.revision}`).set('authorization', admin);
    expect(listed.body.items.map((p: { version: string }) => p.version)).toContain('mr-2099');
  });

  it('replays through one a write made through the other with the same Idempotency-Key', async () => {
    const body = { choice: 'granted', surface: 'ios' };
    const first = await t.http.put('/v1/users/mr-u1/training-consent').set('authorization', admin).set('idempotency-key', 'mr-key').send(body);
    expect(first.status).toBe(200);
    const retry = await other.http.put('/v1/users/mr-u1/training-consent').set('authorization', admin).set('idempotency-key', 'mr-key').send(body);
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    const reused = await other.http
      .put('/v1/users/mr-u1/training-consent')
      .set('authorization', admin)
      .set('idempotency-key', 'mr-key')
      .send({ choice: 'denied', surface: 'ios' });
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});
