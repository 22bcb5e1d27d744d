import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { b64json, hs256 } from '../helpers/bad-credentials.js';
import { AUDIENCE, ISSUER } from '../helpers/tokens.js';

/* SPEC §3: who may call what, and how a bad token is refused. */

let t: TestApp;
let writer: string;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  writer = await t.bearer('consent:write', 'frontend-1');
  admin = await t.bearer('admin', 'admin-1');
  // owner-a: a user with a consent, a terms acceptance and a chat; owner-b: a user with a chat.
  await t.http.put('/v1/users/owner-a/training-consent').set('authorization', writer).send({ choice: 'granted', surface: 'web' }).expect(200);
  await t.http
    .post('/v1/users/owner-a/terms-acceptances')
    .set('authorization', writer)
    .send({ policyVersion: '2025-09-28', surface: 'web', presentation: { trainingToggleDefault: true, trainingToggleShown: true } })
    .expect(201);
  await t.http.put('/v1/chats/chat-a').set('authorization', writer).send({ userId: 'owner-a' }).expect(201);
  await t.http.put('/v1/chats/chat-b').set('authorization', writer).send({ userId: 'owner-b' }).expect(201);
});
afterAll(async () => t?.close());

type Http = supertest.Agent;
type Call = { name: string; send: (http: Http) => supertest.Test };

const policyBody = (version: string) => ({
  version,
  effectiveAt: `${new Date().getUTCFullYear() + 3}-01-01T00:00:00.000Z`,
  decisionDeadline: `${new Date().getUTCFullYear() + 3}-02-01T00:00:00.000Z`,
  defaultChoice: 'granted',
  requiresReconsent: false,
  retention: { grantedDays: 1825, deniedDays: 30, violationDays: 730 },
});
const acceptance = { policyVersion: '2025-09-28', surface: 'web', presentation: { trainingToggleDefault: true, trainingToggleShown: true } };

function expectProblem(res: supertest.Response, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
}


/** Every kind of bad credential: each would carry the admin scope if it were accepted. */
const badCredentials: { kind: string; header: () => Promise<string | null> }[] = [
  { kind: 'no Authorization header', header: async () => null },
  { kind: 'Basic scheme', header: async () => 'Basic YWRtaW46YWRtaW4=' },
  { kind: 'a token without the Bearer scheme', header: async () => t.keys.token({ scope: 'admin' }) },
  { kind: 'Bearer without a token', header: async () => 'Bearer' },
  { kind: 'Bearer with two tokens', header: async () => `Bearer ${await t.keys.token({ scope: 'admin' })} ${await t.keys.token({ scope: 'admin' })}` },
  { kind: 'garbage token', header: async () => 'Bearer this-is-not-a-jwt' },
  { kind: 'three garbage segments', header: async () => 'Bearer aaaa.bbbb.cccc' },
  { kind: 'expired beyond the 30 s tolerance', header: async () => `Bearer ${await t.keys.token({ scope: 'admin', expiresIn: -120 })}` },
  { kind: 'no exp claim', header: async () => `Bearer ${await t.keys.token({ scope: 'admin', expiresIn: null })}` },
  { kind: 'wrong issuer', header: async () => `Bearer ${await t.keys.token({ scope: 'admin', iss: 'https://evil.test' })}` },
  { kind: 'wrong audience', header: async () => `Bearer ${await t.keys.token({ scope: 'admin', aud: 'another-service' })}` },
  { kind: 'audiences without ours', header: async () => `Bearer ${await t.keys.token({ scope: 'admin', aud: ['a', 'b'] })}` },
  {
    kind: 'signed by another key under the trusted kid',
    header: async () => {
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      return `Bearer ${await t.keys.token({ scope: 'admin', key: privateKey })}`;
    },
  },
  {
    kind: 'signed by another key under an unknown kid',
    header: async () => {
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      return `Bearer ${await t.keys.token({ scope: 'admin', key: privateKey, kid: 'attacker-key' })}`;
    },
  },
  {
    kind: 'another key of an allowed algorithm (ES256)',
    header: async () => {
      const { privateKey } = await generateKeyPair('ES256');
      return `Bearer ${await t.keys.token({ scope: 'admin', key: privateKey, alg: 'ES256' })}`;
    },
  },
  { kind: 'the trusted key under an algorithm not allowed (Ed25519)', header: async () => `Bearer ${await t.keys.token({ scope: 'admin', alg: 'Ed25519' })}` },
  {
    kind: 'alg none (unsecured JWT)',
    header: async () => {
      const now = Math.floor(Date.now() / 1000);
      const payload = { sub: 'attacker', scope: 'admin', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 };
      return `Bearer ${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(payload)}.`;
    },
  },
  {
    kind: 'alg none with the trusted kid',
    header: async () => {
      const now = Math.floor(Date.now() / 1000);
      const payload = { sub: 'attacker', scope: 'admin', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 };
      return `Bearer ${b64json({ alg: 'none', kid: 'test-key' })}.${b64json(payload)}.`;
    },
  },
  {
    kind: 'HS256 keyed with the public JWK (algorithm confusion)',
    header: async () => {
      const secret = new TextEncoder().encode(JSON.stringify(t.keys.publicJwk));
      return `Bearer ${await hs256(secret)}`;
    },
  },
  {
    kind: 'HS256 keyed with the raw public key bytes (algorithm confusion)',
    header: async () => `Bearer ${await hs256(base64url.decode(t.keys.publicJwk.x!))}`,
  },
];

const guardedRoutes: Call[] = [
  { name: 'GET /v1/policies', send: (http) => http.get('/v1/policies') },
  { name: 'GET training-consent', send: (http) => http.get('/v1/users/owner-a/training-consent') },
  { name: 'PUT training-consent', send: (http) => http.put('/v1/users/auth-victim/training-consent').send({ choice: 'denied', surface: 'web' }) },
  { name: 'POST /v1/policies', send: (http) => http.post('/v1/policies').send(policyBody('never-created')) },
  { name: 'GET /v1/audit/events', send: (http) => http.get('/v1/audit/events') },
];

describe('bad credentials are 401 UNAUTHENTICATED', () => {
  const cases = badCredentials.flatMap((c) => guardedRoutes.map((r) => ({ ...c, route: r })));

  it.each(cases)('$kind on $route.name', async ({ header, route }) => {
    const value = await header();
    const req = route.send(t.http);
    if (value !== null) req.set('authorization', value);
    expectProblem(await req, 401, 'UNAUTHENTICATED');
  });

  it('leaves no trace of the refused writes', async () => {
    expectProblem(await t.http.get('/v1/users/auth-victim').set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.get('/v1/policies/never-created').set('authorization', admin), 404, 'NOT_FOUND');
  });
});

describe('tokens the service accepts', () => {
  it('does not take a token for a verified one with the same signature (the cache of verified tokens)', async () => {
    const token = await t.keys.token({ sub: 'reader', scope: 'consent:read' });
    expect((await t.http.get('/v1/policies').set('authorization', `Bearer ${token}`)).status).toBe(200);
    // The verified token's signature under another payload: the end of the token is the same, the token is not.
    const [header, , signature] = token.split('.');
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    const forged = `${header}.${b64json({ ...payload, scope: 'admin' })}.${signature}`;
    expect(forged.slice(-32)).toBe(token.slice(-32));
    expectProblem(await t.http.post('/v1/policies').set('authorization', `Bearer ${forged}`).send(policyBody('forged-policy')), 401, 'UNAUTHENTICATED');
    expectProblem(await t.http.get('/v1/policies').set('authorization', `Bearer ${forged}`), 401, 'UNAUTHENTICATED');
    expect((await t.http.get('/v1/policies').set('authorization', `Bearer ${token}`)).status).toBe(200);
  });

  it('accepts a token that expired within the 30 s clock tolerance', async () => {
    const token = await t.keys.token({ scope: 'consent:read', sub: 'late-reader', expiresIn: -10 });
    const res = await t.http.get('/v1/users/owner-a/training-consent').set('authorization', `Bearer ${token}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ userId: 'owner-a', choice: 'granted' });
  });

  it('accepts an aud list that contains the service', async () => {
    const token = await t.keys.token({ scope: 'consent:read', aud: ['another-service', AUDIENCE] });
    expect((await t.http.get('/v1/users/owner-a/training-consent').set('authorization', `Bearer ${token}`)).status).toBe(200);
  });

  it('accepts the scheme name in any case', async () => {
    const token = await t.keys.token({ scope: 'consent:read' });
    expect((await t.http.get('/v1/users/owner-a/training-consent').set('authorization', `bearer ${token}`)).status).toBe(200);
  });
});

describe('scopes: 403 FORBIDDEN', () => {
  const forbiddenCalls: { scope: string; sub?: string; call: Call }[] = [
    // training:read may not touch consent routes.
    ...[
      { name: 'GET user', send: (http: Http) => http.get('/v1/users/owner-a') },
      { name: 'GET training-consent', send: (http: Http) => http.get('/v1/users/owner-a/training-consent') },
      { name: 'PUT training-consent', send: (http: Http) => http.put('/v1/users/owner-a/training-consent').send({ choice: 'denied', surface: 'web' }) },
      { name: 'GET terms-acceptances', send: (http: Http) => http.get('/v1/users/owner-a/terms-acceptances') },
      { name: 'POST terms-acceptances', send: (http: Http) => http.post('/v1/users/owner-a/terms-acceptances').send(acceptance) },
      { name: 'PUT plan', send: (http: Http) => http.put('/v1/users/owner-a/plan').send({ plan: 'team' }) },
      { name: 'GET chat', send: (http: Http) => http.get('/v1/chats/chat-a') },
      { name: 'PUT chat', send: (http: Http) => http.put('/v1/chats/chat-t').send({ userId: 'owner-a' }) },
      { name: "GET a user's audit events", send: (http: Http) => http.get('/v1/users/owner-a/audit-events') },
    ].map((call) => ({ scope: 'training:read', call })),
    // consent:read may read but not write.
    ...[
      { name: 'PUT training-consent', send: (http: Http) => http.put('/v1/users/owner-a/training-consent').send({ choice: 'denied', surface: 'web' }) },
      { name: 'POST terms-acceptances', send: (http: Http) => http.post('/v1/users/owner-a/terms-acceptances').send(acceptance) },
      { name: 'PUT plan', send: (http: Http) => http.put('/v1/users/owner-a/plan').send({ plan: 'team' }) },
      { name: 'PUT chat', send: (http: Http) => http.put('/v1/chats/chat-r').send({ userId: 'owner-a' }) },
      { name: 'DELETE chat', send: (http: Http) => http.delete('/v1/chats/chat-a') },
      { name: 'POST chat activity', send: (http: Http) => http.post('/v1/chats/chat-a/activity').send({}) },
      { name: 'POST chat flag', send: (http: Http) => http.post('/v1/chats/chat-a/flags').send({ type: 'policy_violation' }) },
      { name: 'GET eligibility', send: (http: Http) => http.get('/v1/chats/chat-a/training-eligibility') },
      { name: 'GET /v1/audit/events', send: (http: Http) => http.get('/v1/audit/events') },
    ].map((call) => ({ scope: 'consent:read', call })),
    // Only admin may add policies.
    ...['consent:self', 'consent:read', 'consent:write', 'training:read', 'audit:read', 'consent:self consent:read consent:write training:read audit:read', ''].map(
      (scope, i) => ({ scope, sub: 'admin-1', call: { name: 'POST /v1/policies', send: (http: Http) => http.post('/v1/policies').send(policyBody(`not-admin-${i}`)) } }),
    ),
    // consent:self acts on its own sub only (owner-b against owner-a's data).
    ...[
      { name: 'GET user', send: (http: Http) => http.get('/v1/users/owner-a') },
      { name: 'GET training-consent', send: (http: Http) => http.get('/v1/users/owner-a/training-consent') },
      { name: 'PUT training-consent', send: (http: Http) => http.put('/v1/users/owner-a/training-consent').send({ choice: 'denied', surface: 'web' }) },
      { name: 'PUT training-consent of an unknown user', send: (http: Http) => http.put('/v1/users/ghost/training-consent').send({ choice: 'denied', surface: 'web' }) },
      { name: 'GET terms-acceptances', send: (http: Http) => http.get('/v1/users/owner-a/terms-acceptances') },
      { name: 'POST terms-acceptances', send: (http: Http) => http.post('/v1/users/owner-a/terms-acceptances').send(acceptance) },
      { name: 'PUT chat for another user', send: (http: Http) => http.put('/v1/chats/chat-stolen').send({ userId: 'owner-a' }) },
      { name: "GET another user's chat", send: (http: Http) => http.get('/v1/chats/chat-a') },
      { name: "DELETE another user's chat", send: (http: Http) => http.delete('/v1/chats/chat-a') },
      { name: "POST activity on another user's chat", send: (http: Http) => http.post('/v1/chats/chat-a/activity').send({}) },
      { name: "GET another user's audit events", send: (http: Http) => http.get('/v1/users/owner-a/audit-events') },
      { name: 'PUT its own plan', send: (http: Http) => http.put('/v1/users/owner-b/plan').send({ plan: 'team' }) },
      { name: 'GET /v1/audit/events', send: (http: Http) => http.get('/v1/audit/events') },
    ].map((call) => ({ scope: 'consent:self', sub: 'owner-b', call })),
  ];

  it.each(forbiddenCalls)('$scope ($sub) may not $call.name', async ({ scope, sub, call }) => {
    expectProblem(await call.send(t.http).set('authorization', await t.bearer(scope, sub ?? 'caller-1')), 403, 'FORBIDDEN');
  });

  it('refused calls changed nothing', async () => {
    const consent = await t.http.get('/v1/users/owner-a/training-consent').set('authorization', admin);
    expect(consent.body).toMatchObject({ choice: 'granted', choiceSurface: 'web', plan: null });
    const chat = await t.http.get('/v1/chats/chat-a').set('authorization', admin);
    expect(chat.body).toMatchObject({ userId: 'owner-a', deletedAt: null, flags: [] });
    expect(chat.body.lastActivityAt).toBe(chat.body.createdAt);
    const events = await t.http.get('/v1/users/owner-a/audit-events').set('authorization', admin);
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual(['consent.choice_recorded', 'terms.accepted', 'chat.registered']);
    for (const path of ['/v1/users/ghost', '/v1/chats/chat-stolen', '/v1/chats/chat-t', '/v1/chats/chat-r']) {
      expectProblem(await t.http.get(path).set('authorization', admin), 404, 'NOT_FOUND');
    }
    const policies = await t.http.get('/v1/policies').set('authorization', admin);
    expect(policies.body.items.map((p: { version: string }) => p.version)).toEqual(['2025-09-28']);
  });

  it('lets admin add a policy', async () => {
    const res = await t.http.post('/v1/policies').set('authorization', admin).send(policyBody('admin-made'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ version: 'admin-made' });
  });
});

describe('consent:self on its own sub', () => {
  it('reads and writes its consent, terms acceptances, chats and audit events', async () => {
    const self = await t.bearer('consent:self', 'owner-b');
    const put = await t.http.put('/v1/users/owner-b/training-consent').set('authorization', self).send({ choice: 'denied', surface: 'ios' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ userId: 'owner-b', choice: 'denied', choiceSurface: 'ios' });

    const get = await t.http.get('/v1/users/owner-b/training-consent').set('authorization', self);
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ userId: 'owner-b', choice: 'denied' });

    expect((await t.http.get('/v1/users/owner-b').set('authorization', self)).status).toBe(200);

    const accepted = await t.http.post('/v1/users/owner-b/terms-acceptances').set('authorization', self).send({ ...acceptance, trainingChoice: 'granted' });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    const terms = await t.http.get('/v1/users/owner-b/terms-acceptances').set('authorization', self);
    expect(terms.status).toBe(200);
    expect(terms.body.items.map((a: { acceptanceId: string }) => a.acceptanceId)).toEqual([accepted.body.acceptanceId]);

    const chat = await t.http.put('/v1/chats/chat-b2').set('authorization', self).send({ userId: 'owner-b' });
    expect(chat.status, JSON.stringify(chat.body)).toBe(201);
    expect((await t.http.post('/v1/chats/chat-b2/activity').set('authorization', self).send({})).status).toBe(204);
    const read = await t.http.get('/v1/chats/chat-b').set('authorization', self);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ chatId: 'chat-b', userId: 'owner-b' });
    const deleted = await t.http.delete('/v1/chats/chat-b2').set('authorization', self);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body.deletedAt).toEqual(expect.any(String));

    const events = await t.http.get('/v1/users/owner-b/audit-events').set('authorization', self);
    expect(events.status).toBe(200);
    const own = events.body.items.filter((e: { actor: { sub: string } }) => e.actor.sub === 'owner-b');
    expect(own.map((e: { type: string }) => e.type)).toEqual([
      'consent.choice_recorded',
      'terms.accepted',
      'consent.choice_recorded',
      'chat.registered',
      'chat.deleted',
    ]);
    // SPEC §2: actor.kind is `user` when a consent:self token acts on its own sub.
    for (const e of own) expect(e.actor).toEqual({ sub: 'owner-b', kind: 'user' });
  });
});

describe('reading policies', () => {
  it.each(['consent:self', 'consent:read', 'consent:write', 'training:read', 'audit:read', 'admin', ''])(
    'any valid token may read them (scope "%s")',
    async (scope) => {
      const token = await t.bearer(scope, 'any-caller');
      const list = await t.http.get('/v1/policies').set('authorization', token);
      expect(list.status, JSON.stringify(list.body)).toBe(200);
      expect(list.body.items.map((p: { version: string }) => p.version)).toContain('2025-09-28');
      const one = await t.http.get('/v1/policies/2025-09-28').set('authorization', token);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ version: '2025-09-28', defaultChoice: 'granted' });
    },
  );
});

describe('public routes need no token', () => {
  it.each(['/healthz', '/readyz', '/metrics', '/openapi.json', '/.well-known/jwks.json'])('%s', async (path) => {
    const res = await t.http.get(path);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('/metrics counts requests by route template and status, and reports the pool, the settled revision and the process', async () => {
    const reader = await t.bearer('consent:read', 'metrics-reader');
    const pipeline = await t.bearer('training:read', 'metrics-pipeline');
    await t.http.get('/v1/chats/metrics-no-chat/training-eligibility').set('authorization', pipeline);
    await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds: ['metrics-a', 'metrics-b'] });
    await t.http.get('/v1/users/metrics-nobody/training-consent').set('authorization', reader);
    await t.http.get('/v1/users/metrics-nobody/training-consent');
    const res = await t.http.get('/metrics');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const route = 'route="/v1/users/:userId/training-consent"';
    expect(res.text).toMatch(new RegExp(`^http_request_duration_seconds_count\\{method="GET",${route},status="404"\\} [1-9]\\d*$`, 'm'));
    expect(res.text).toMatch(new RegExp(`^http_request_duration_seconds_count\\{method="GET",${route},status="401"\\} [1-9]\\d*$`, 'm'));
    expect(res.text).toMatch(new RegExp(`^http_request_duration_seconds_bucket\\{le="0.005",method="GET",${route},status="404"\\} \\d+$`, 'm'));
    expect(res.text).toMatch(/^consent_eligibility_decisions_total\{reason="chat_not_found"\} ([3-9]|\d\d+)$/m);
    for (const name of [
      'consent_db_pool_connections',
      'consent_db_pool_busy_connections',
      'consent_db_pool_queued',
      'consent_db_pool_waiting_transactions',
      'consent_settled_revision',
      'consent_settled_revision_lag',
      'nodejs_eventloop_lag_seconds',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
    ]) {
      expect(res.text, name).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'));
    }
  });

  it('/docs', async () => {
    const res = await t.http.get('/docs').redirects(3);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/<html/i);
  });

  it('/openapi.json is the API description', async () => {
    const res = await t.http.get('/openapi.json');
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(res.body.paths)).toContain('/v1/policies');
  });
});

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

describe('/.well-known/jwks.json', () => {
  it('publishes the verification key and no private key material', async () => {
    const res = await t.http.get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const keys = res.body.keys as Record<string, unknown>[];
    expect(keys.find((k) => k.kid === 'test-key')).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: t.keys.publicJwk.x });
    for (const k of keys) for (const m of PRIVATE_MEMBERS) expect(k).not.toHaveProperty(m);
  });

  it('strips private members even when the configured JWKS file holds private keys', async () => {
    const ed = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const edJwk = { ...(await exportJWK(ed.privateKey)), kid: 'ed-private', alg: 'EdDSA', use: 'sig' };
    const rsaJwk = { ...(await exportJWK(rsa.privateKey)), kid: 'rsa-private', alg: 'RS256', use: 'sig' };
    const octJwk = { kty: 'oct', kid: 'shared-secret', k: base64url.encode(new TextEncoder().encode('a shared secret of some length')) };
    expect(edJwk).toHaveProperty('d');
    expect(rsaJwk).toHaveProperty('p');
    const dir = mkdtempSync(join(tmpdir(), 'consent-private-jwks-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [edJwk, rsaJwk, octJwk] }));

    const other = await startTestApp({ AUTH_JWKS_FILE: file });
    try {
      const res = await other.http.get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      const keys = res.body.keys as Record<string, unknown>[];
      // Beside the service's own signing key (receipts, checkpoints).
      expect(keys.map((k) => k.kid).sort()).toEqual(['ed-private', 'rsa-private', 'test-signing-key']);
      for (const k of keys) for (const m of PRIVATE_MEMBERS) expect(k, String(k.kid)).not.toHaveProperty(m);
      expect(JSON.stringify(res.body)).not.toContain(String(edJwk.d));
      expect(JSON.stringify(res.body)).not.toContain(octJwk.k);

      // The public halves still verify tokens signed by those keys.
      for (const [key, kid, alg] of [
        [ed.privateKey, 'ed-private', 'EdDSA'],
        [rsa.privateKey, 'rsa-private', 'RS256'],
      ] as const) {
        const token = await other.keys.token({ scope: 'consent:read', key, kid, alg });
        expect((await other.http.get('/v1/policies').set('authorization', `Bearer ${token}`)).status, kid).toBe(200);
      }
      // The shared secret is no verification key: HS256 with it is refused.
      const secretToken = await new SignJWT({ scope: 'admin' })
        .setProtectedHeader({ alg: 'HS256', kid: 'shared-secret' })
        .setSubject('attacker')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode('a shared secret of some length'));
      expectProblem(await other.http.get('/v1/policies').set('authorization', `Bearer ${secretToken}`), 401, 'UNAUTHENTICATED');
    } finally {
      await other.close();
    }
  });
});
