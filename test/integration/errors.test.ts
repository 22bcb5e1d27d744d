import type { Response, Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Failures leave as RFC 9457 problem documents and leave no trace: no user, no audit event, no
 * policy, no stored idempotency key.
 */

let t: TestApp;
let writer: string;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  writer = await t.bearer('consent:write', 'frontend');
  admin = await t.bearer('admin', 'admin-1');
  // One existing user, for failures that are about a user that exists.
  const made = await t.http.put('/v1/users/e-existing/plan').set('authorization', writer).send({ plan: 'free' });
  expect(made.status).toBe(200);
});
afterAll(async () => t?.close());

const PROBLEM_FIELDS = ['type', 'title', 'status', 'detail', 'code', 'requestId'];
const PRESENTATION = { trainingToggleDefault: true, trainingToggleShown: true };
const MIB = 1024 * 1024;

function expectProblem(res: Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
  const body = res.body as Record<string, unknown>;
  for (const field of PROBLEM_FIELDS) expect(body, `problem field ${field}`).toHaveProperty(field);
  expect(Object.keys(body).filter((k) => !PROBLEM_FIELDS.includes(k) && k !== 'errors')).toEqual([]);
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(body.code).toMatch(/^[A-Z][A-Z_]*$/);
  expect(typeof body.type).toBe('string');
  expect((body.type as string).length).toBeGreaterThan(0);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  if (body.errors !== undefined) {
    expect(Array.isArray(body.errors)).toBe(true);
    for (const e of body.errors as unknown[]) expect(e).toEqual({ path: expect.any(String), message: expect.any(String) });
  }
}

function paths(res: Response): string[] {
  return ((res.body.errors ?? []) as { path: string }[]).map((e) => e.path);
}

interface Counts {
  events: number;
  users: number;
  policies: number;
  keys: number;
  chats: number;
}

async function counts(): Promise<Counts> {
  const rows = await t.db.query<Counts>(
    `SELECT (SELECT count(*)::int FROM audit_events) AS events, (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM policies) AS policies, (SELECT count(*)::int FROM idempotency_keys) AS keys,
            (SELECT count(*)::int FROM chats) AS chats`,
  );
  const r = rows[0];
  return { events: Number(r.events), users: Number(r.users), policies: Number(r.policies), keys: Number(r.keys), chats: Number(r.chats) };
}

/** Sends a request that must fail, checks its problem document, and that it wrote nothing. */
async function expectFailsCleanly(send: () => Test, status: number, code: string): Promise<Response> {
  const before = await counts();
  const res = await send();
  expectProblem(res, status, code);
  expect(await counts()).toEqual(before);
  return res;
}

let keySeq = 0;
const key = () => `err-key-${++keySeq}`;
const putConsent = (userId: string) => t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', writer).set('idempotency-key', key());
const postTerms = (userId: string) => t.http.post(`/v1/users/${userId}/terms-acceptances`).set('authorization', writer).set('idempotency-key', key());

async function expectUnknown(userId: string): Promise<void> {
  const res = await t.http.get(`/v1/users/${userId}`).set('authorization', writer);
  expect(res.status).toBe(404);
}

describe('validation failures', () => {
  it('names the failing field in errors[] (400 VALIDATION_FAILED)', async () => {
    const res = await expectFailsCleanly(() => putConsent('e-new').send({ choice: 'maybe', surface: 'web' }), 400, 'VALIDATION_FAILED');
    expect(paths(res)).toEqual(['body.choice']);
    await expectUnknown('e-new');
  });

  it('names a missing required field', async () => {
    const res = await expectFailsCleanly(() => putConsent('e-new').send({ choice: 'granted' }), 400, 'VALIDATION_FAILED');
    expect(paths(res)).toContain('body.surface');
  });

  it('names nested fields by their full path', async () => {
    const res = await expectFailsCleanly(
      () => postTerms('e-new').send({ policyVersion: '2025-09-28', surface: 'web', presentation: { trainingToggleShown: 'yes' } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(paths(res)).toEqual(expect.arrayContaining(['body.presentation.trainingToggleDefault', 'body.presentation.trainingToggleShown']));
    await expectUnknown('e-new');
  });

  it('names every invalid field of a policy', async () => {
    const res = await expectFailsCleanly(
      () =>
        t.http
          .post('/v1/policies')
          .set('authorization', admin)
          .send({
            version: '-bad',
            effectiveAt: 'next week',
            decisionDeadline: '2099-01-01T00:00:00.000Z',
            defaultChoice: 'maybe',
            requiresReconsent: 'no',
            retention: { grantedDays: -1, deniedDays: 30, violationDays: 730 },
          }),
      400,
      'VALIDATION_FAILED',
    );
    expect(paths(res)).toEqual(
      expect.arrayContaining(['body.version', 'body.effectiveAt', 'body.defaultChoice', 'body.requiresReconsent', 'body.retention.grantedDays']),
    );
  });

  it('names an invalid query parameter', async () => {
    const res = await expectFailsCleanly(
      () => t.http.get('/v1/users/e-existing/training-consent?asOf=yesterday').set('authorization', writer),
      400,
      'VALIDATION_FAILED',
    );
    expect(paths(res)).toEqual(['query.asOf']);
  });

  it('rejects unknown body fields with 400, naming them', async () => {
    const top = await expectFailsCleanly(() => putConsent('e-new').send({ choice: 'granted', surface: 'web', extra: 1 }), 400, 'VALIDATION_FAILED');
    expect(paths(top)).toContain('body.extra');
    const nested = await expectFailsCleanly(
      () => postTerms('e-new').send({ policyVersion: '2025-09-28', surface: 'web', presentation: { ...PRESENTATION, colour: 'red' } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(paths(nested)).toContain('body.presentation.colour');
    await expectUnknown('e-new');
  });

  it('rejects an unknown field on every write, even when the rest is valid', async () => {
    await expectFailsCleanly(() => t.http.put('/v1/users/e-new/plan').set('authorization', writer).send({ plan: 'free', tier: 'gold' }), 400, 'VALIDATION_FAILED');
    await expectFailsCleanly(
      () => postTerms('e-new').send({ policyVersion: '2025-09-28', surface: 'web', presentation: PRESENTATION, acceptedAt: '2025-09-01T00:00:00.000Z' }),
      400,
      'VALIDATION_FAILED',
    );
    await expectFailsCleanly(
      () =>
        t.http
          .post('/v1/policies')
          .set('authorization', admin)
          .send({
            version: '2099-x',
            effectiveAt: '2099-01-01T00:00:00.000Z',
            decisionDeadline: '2099-02-01T00:00:00.000Z',
            defaultChoice: 'granted',
            requiresReconsent: false,
            retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 },
            editable: true,
          }),
      400,
      'VALIDATION_FAILED',
    );
    await expectUnknown('e-new');
  });

  it('rejects a body that is not a JSON object', async () => {
    await expectFailsCleanly(() => putConsent('e-new').send(['granted', 'web']), 400, 'VALIDATION_FAILED');
    await expectFailsCleanly(() => putConsent('e-new').set('content-type', 'application/json').send('"granted"'), 400, 'VALIDATION_FAILED');
    await expectFailsCleanly(() => putConsent('e-new').set('content-type', 'application/json').send('null'), 400, 'VALIDATION_FAILED');
  });

  it('rejects a missing body on a write', async () => {
    await expectFailsCleanly(() => putConsent('e-new'), 400, 'VALIDATION_FAILED');
    await expectFailsCleanly(() => putConsent('e-new').set('content-type', 'application/json'), 400, 'VALIDATION_FAILED');
  });
});

describe('bodies that cannot be read', () => {
  it('answers malformed JSON with 400 VALIDATION_FAILED', async () => {
    for (const raw of ['{"choice":', '{choice: "granted"}', "{'choice':'granted','surface':'web'}", '{"choice":"granted","surface":"web"}}']) {
      await expectFailsCleanly(() => putConsent('e-new').set('content-type', 'application/json').send(raw), 400, 'VALIDATION_FAILED');
    }
    await expectUnknown('e-new');
  });

  it('answers a text/plain or form body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectFailsCleanly(
      () => putConsent('e-new').set('content-type', 'text/plain').send('{"choice":"granted","surface":"web"}'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectFailsCleanly(
      () => putConsent('e-new').set('content-type', 'application/x-www-form-urlencoded').send('choice=granted&surface=web'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectFailsCleanly(
      () => postTerms('e-new').set('content-type', 'text/plain').send(JSON.stringify({ policyVersion: '2025-09-28', surface: 'web', presentation: PRESENTATION })),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectUnknown('e-new');
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await putConsent('e-charset').set('content-type', 'application/json; charset=utf-8').send('{"choice":"granted","surface":"web"}');
    expect(res.status).toBe(200);
  });

  it('answers a body over 1 MiB with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ choice: 'granted', surface: 'web', pad: 'x'.repeat(MIB) });
    expect(Buffer.byteLength(big)).toBeGreaterThan(MIB);
    await expectFailsCleanly(() => putConsent('e-new').set('content-type', 'application/json').send(big), 413, 'PAYLOAD_TOO_LARGE');
    const bigTerms = JSON.stringify({ policyVersion: '2025-09-28', surface: 'web', presentation: { ...PRESENTATION, uiVariant: 'x'.repeat(MIB) } });
    await expectFailsCleanly(() => postTerms('e-new').set('content-type', 'application/json').send(bigTerms), 413, 'PAYLOAD_TOO_LARGE');
    await expectUnknown('e-new');
  });

  it('reads a body of exactly 1 MiB (and then judges its content)', async () => {
    const shell = JSON.stringify({ choice: 'granted', surface: 'web', pad: '' });
    const exact = JSON.stringify({ choice: 'granted', surface: 'web', pad: 'x'.repeat(MIB - Buffer.byteLength(shell)) });
    expect(Buffer.byteLength(exact)).toBe(MIB);
    const res = await expectFailsCleanly(() => putConsent('e-new').set('content-type', 'application/json').send(exact), 400, 'VALIDATION_FAILED');
    expect(res.body.errors).toBeDefined();
  });
});

describe('ids in the path', () => {
  it('answers a 129-character id with 400 naming params.userId', async () => {
    const res = await expectFailsCleanly(() => putConsent('a'.repeat(129)).send({ choice: 'granted', surface: 'web' }), 400, 'VALIDATION_FAILED');
    expect(paths(res)).toContain('params.userId');
    const read = await t.http.get(`/v1/users/${'a'.repeat(129)}`).set('authorization', writer);
    expectProblem(read, 400, 'VALIDATION_FAILED');
  });

  it('accepts a 128-character id', async () => {
    const id = `b${'a'.repeat(127)}`;
    const res = await putConsent(id).send({ choice: 'granted', surface: 'web' });
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(id);
    const read = await t.http.get(`/v1/users/${id}`).set('authorization', writer);
    expect(read.status).toBe(200);
  });

  it.each([
    ['a space', 'a%20b'],
    ['a leading dash', '-abc'],
    ['a leading dot', '.abc'],
    ['a non-ASCII letter', 'j%C3%B6rg'],
    ['a percent-encoded slash', 'a%2Fb'],
    ['a quote', "o'brien"],
    ['a plus sign', 'a+b'],
  ])('answers an id with %s with 400 naming params.userId', async (_label, id) => {
    const res = await expectFailsCleanly(() => putConsent(id).send({ choice: 'granted', surface: 'web' }), 400, 'VALIDATION_FAILED');
    expect(paths(res)).toContain('params.userId');
    expectProblem(await t.http.get(`/v1/users/${id}/training-consent`).set('authorization', writer), 400, 'VALIDATION_FAILED');
  });

  it('accepts ids using every allowed punctuation character', async () => {
    const id = 'user.name_1:tenant@example-x';
    const res = await putConsent(id).send({ choice: 'denied', surface: 'web' });
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(id);
  });

  it('answers a missing id with 400', async () => {
    const res = await expectFailsCleanly(() => putConsent('').send({ choice: 'granted', surface: 'web' }), 400, 'VALIDATION_FAILED');
    expect(paths(res)).toContain('params.userId');
    expectProblem(await t.http.get('/v1/users//training-consent').set('authorization', writer), 400, 'VALIDATION_FAILED');
  });
});

describe('other failing requests write nothing', () => {
  it('401 UNAUTHENTICATED without a valid token', async () => {
    await expectFailsCleanly(() => t.http.put('/v1/users/e-new/training-consent').send({ choice: 'granted', surface: 'web' }), 401, 'UNAUTHENTICATED');
    const expired = `Bearer ${await t.keys.token({ scope: 'consent:write', expiresIn: -3600 })}`;
    await expectFailsCleanly(
      () => t.http.put('/v1/users/e-new/training-consent').set('authorization', expired).send({ choice: 'granted', surface: 'web' }),
      401,
      'UNAUTHENTICATED',
    );
    await expectUnknown('e-new');
  });

  it('403 FORBIDDEN for a consent:self token acting on another user, or a missing scope', async () => {
    const self = await t.bearer('consent:self', 'e-self');
    await expectFailsCleanly(() => putConsent('e-new').set('authorization', self).send({ choice: 'granted', surface: 'web' }), 403, 'FORBIDDEN');
    const pipeline = await t.bearer('training:read', 'pipeline');
    await expectFailsCleanly(() => t.http.put('/v1/users/e-new/plan').set('authorization', pipeline).send({ plan: 'free' }), 403, 'FORBIDDEN');
    await expectFailsCleanly(
      () =>
        t.http
          .post('/v1/policies')
          .set('authorization', writer)
          .send({
            version: '2099-forbidden',
            effectiveAt: '2099-01-01T00:00:00.000Z',
            decisionDeadline: '2099-02-01T00:00:00.000Z',
            defaultChoice: 'granted',
            requiresReconsent: false,
            retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 },
          }),
      403,
      'FORBIDDEN',
    );
    await expectUnknown('e-new');
  });

  it('422 UNPROCESSABLE for an unknown policy version, with or without a choice and plan', async () => {
    await expectFailsCleanly(() => postTerms('e-new').send({ policyVersion: '1999-01-01', surface: 'web', presentation: PRESENTATION }), 422, 'UNPROCESSABLE');
    await expectFailsCleanly(
      () => postTerms('e-new').send({ policyVersion: '1999-01-01', surface: 'web', trainingChoice: 'granted', plan: 'pro', presentation: PRESENTATION }),
      422,
      'UNPROCESSABLE',
    );
    await expectFailsCleanly(
      () => postTerms('e-existing').send({ policyVersion: '1999-01-01', surface: 'web', trainingChoice: 'denied', presentation: PRESENTATION }),
      422,
      'UNPROCESSABLE',
    );
    await expectUnknown('e-new');
  });

  it('422 UNPROCESSABLE for a policy that would take effect in the past', async () => {
    await expectFailsCleanly(
      () =>
        t.http
          .post('/v1/policies')
          .set('authorization', admin)
          .set('idempotency-key', key())
          .send({
            version: 'past',
            effectiveAt: '2025-01-01T00:00:00.000Z',
            decisionDeadline: '2099-01-01T00:00:00.000Z',
            defaultChoice: 'granted',
            requiresReconsent: false,
            retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 },
          }),
      422,
      'UNPROCESSABLE',
    );
  });

  it('409 CONFLICT for a duplicate policy version', async () => {
    const policy = {
      version: '2099-once',
      effectiveAt: '2099-01-01T00:00:00.000Z',
      decisionDeadline: '2099-02-01T00:00:00.000Z',
      defaultChoice: 'granted',
      requiresReconsent: false,
      retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 },
    };
    expect((await t.http.post('/v1/policies').set('authorization', admin).send(policy)).status).toBe(201);
    await expectFailsCleanly(() => t.http.post('/v1/policies').set('authorization', admin).set('idempotency-key', key()).send(policy), 409, 'CONFLICT');
  });

  it('412 PRECONDITION_FAILED for a stale If-Match', async () => {
    const before = await t.http.get('/v1/users/e-existing/training-consent').set('authorization', writer);
    expect((await putConsent('e-existing').send({ choice: 'granted', surface: 'web' })).status).toBe(200);
    await expectFailsCleanly(
      () => putConsent('e-existing').set('if-match', before.headers.etag).send({ choice: 'denied', surface: 'web' }),
      412,
      'PRECONDITION_FAILED',
    );
  });

  it('400 for an Idempotency-Key that is not 1-255 visible ASCII characters', async () => {
    for (const bad of ['has space', 'x'.repeat(256)]) {
      await expectFailsCleanly(
        () => t.http.put('/v1/users/e-new/training-consent').set('authorization', writer).set('idempotency-key', bad).send({ choice: 'granted', surface: 'web' }),
        400,
        'VALIDATION_FAILED',
      );
    }
    await expectUnknown('e-new');
  });

  it('409 IDEMPOTENCY_KEY_REUSED for a key reused with another body', async () => {
    const first = await t.http
      .put('/v1/users/e-existing/training-consent')
      .set('authorization', writer)
      .set('idempotency-key', 'reused-key')
      .send({ choice: 'granted', surface: 'web' });
    expect(first.status).toBe(200);
    await expectFailsCleanly(
      () => t.http.put('/v1/users/e-existing/training-consent').set('authorization', writer).set('idempotency-key', 'reused-key').send({ choice: 'denied', surface: 'web' }),
      409,
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('404 NOT_FOUND for reads of unknown users and policies', async () => {
    await expectFailsCleanly(() => t.http.get('/v1/users/e-nobody').set('authorization', writer), 404, 'NOT_FOUND');
    await expectFailsCleanly(() => t.http.get('/v1/users/e-nobody/training-consent').set('authorization', writer), 404, 'NOT_FOUND');
    await expectFailsCleanly(() => t.http.get('/v1/users/e-nobody/terms-acceptances').set('authorization', writer), 404, 'NOT_FOUND');
    await expectFailsCleanly(() => t.http.get('/v1/policies/1999-01-01').set('authorization', writer), 404, 'NOT_FOUND');
  });
});

describe('unknown routes', () => {
  it('answers 404 NOT_FOUND as a problem document', async () => {
    await expectFailsCleanly(() => t.http.get('/v1/nope').set('authorization', writer), 404, 'NOT_FOUND');
    await expectFailsCleanly(() => t.http.get('/nothing/here'), 404, 'NOT_FOUND');
    await expectFailsCleanly(() => t.http.post('/v1/users/e-new/nope').set('authorization', writer).send({ plan: 'free' }), 404, 'NOT_FOUND');
    await expectFailsCleanly(() => t.http.delete('/v1/policies/2025-09-28').set('authorization', admin), 404, 'NOT_FOUND');
    await expectUnknown('e-new');
  });
});

describe('X-Request-Id', () => {
  it('echoes a given X-Request-Id on success and on failure', async () => {
    const ok = await t.http.get('/v1/users/e-existing').set('authorization', writer).set('x-request-id', 'req-ok-1');
    expect(ok.status).toBe(200);
    expect(ok.headers['x-request-id']).toBe('req-ok-1');

    const bad = await putConsent('e-new').set('x-request-id', 'req-bad-1').send({ choice: 'maybe', surface: 'web' });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.headers['x-request-id']).toBe('req-bad-1');
    expect(bad.body.requestId).toBe('req-bad-1');

    const missing = await t.http.get('/v1/nope').set('x-request-id', 'req-404');
    expect(missing.headers['x-request-id']).toBe('req-404');
    expect(missing.body.requestId).toBe('req-404');

    const unauth = await t.http.get('/v1/users/e-existing').set('x-request-id', 'req-401');
    expect(unauth.status).toBe(401);
    expect(unauth.body.requestId).toBe('req-401');

    const tooBig = await putConsent('e-new')
      .set('x-request-id', 'req-413')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(MIB + 10) }));
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers['x-request-id']).toBe('req-413');
    expect(tooBig.body.requestId).toBe('req-413');

    const health = await t.http.get('/healthz').set('x-request-id', 'req-health');
    expect(health.headers['x-request-id']).toBe('req-health');
  });

  it('generates a distinct X-Request-Id when none is given', async () => {
    const a = await t.http.get('/v1/users/e-existing').set('authorization', writer);
    const b = await t.http.get('/v1/users/e-existing').set('authorization', writer);
    const c = await t.http.get('/v1/nope');
    for (const res of [a, b, c]) {
      expect(typeof res.headers['x-request-id']).toBe('string');
      expect(res.headers['x-request-id'].length).toBeGreaterThan(0);
    }
    expect(new Set([a, b, c].map((r) => r.headers['x-request-id'])).size).toBe(3);
    expect(c.body.requestId).toBe(c.headers['x-request-id']);
    expect((await t.http.get('/healthz')).headers['x-request-id']).toBeTruthy();
  });

  it('records the request id on the audit events a write appends', async () => {
    const res = await putConsent('e-existing').set('x-request-id', 'req-audit-1').send({ choice: 'denied', surface: 'web' });
    expect(res.status).toBe(200);
    const rows = await t.db.query<{ request_id: string }>('SELECT request_id FROM audit_event_personal WHERE revision = $1::bigint', [res.body.revision]);
    expect(rows.map((r) => r.request_id)).toEqual(['req-audit-1']);
  });
});

describe('hostile input: text, times and numbers the database cannot hold', () => {
  const terms = (presentation: Record<string, unknown>) => ({ policyVersion: '2025-09-28', surface: 'web', presentation: { ...PRESENTATION, ...presentation } });

  it('refuses U+0000 anywhere in a JSON body, naming the field (never a 500)', async () => {
    const res = await expectFailsCleanly(() => postTerms('e-hostile').send(terms({ locale: 'en\u0000GB' })), 400, 'VALIDATION_FAILED');
    expect(paths(res)).toEqual(['body.presentation.locale']);
    const deep = await expectFailsCleanly(() => postTerms('e-hostile').send({ ...terms({}), extra: { a: [{ b: 'x\u0000' }] } }), 400, 'VALIDATION_FAILED');
    expect(paths(deep)).toEqual(['body.extra.a.0.b']);
    const key = await expectFailsCleanly(() => putConsent('e-hostile').send({ choice: 'granted', surface: 'web', 'k\u0000': 1 }), 400, 'VALIDATION_FAILED');
    expect(paths(key)[0]).toMatch(/^body\.k/);
    await expectUnknown('e-hostile');
  });

  it('refuses JSON nested deeper than any request needs, on every route, before anything recurses over it', async () => {
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const del = await expectFailsCleanly(
      () => t.http.delete('/v1/chats/e-missing').set('authorization', writer).set('idempotency-key', key()).set('content-type', 'application/json').send(deep),
      400,
      'VALIDATION_FAILED',
    );
    expect(del.body.errors[0].message).toMatch(/levels deep/);
    const deepObject = `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`;
    const nested = await expectFailsCleanly(
      () => postTerms('e-hostile').set('content-type', 'application/json').send(`{"policyVersion":"2025-09-28","surface":"web","presentation":${deepObject}}`),
      400,
      'VALIDATION_FAILED',
    );
    expect(paths(nested)).toEqual([`body.presentation${'.a'.repeat(31)}`]);
    expect(nested.body.errors[0].message).toMatch(/levels deep/);
    await expectFailsCleanly(() => putConsent('e-hostile').set('content-type', 'application/json').send(`{"choice":${deep}}`), 400, 'VALIDATION_FAILED');
  });

  it('refuses a lone surrogate, escaped or raw', async () => {
    for (const raw of [
      '{"policyVersion":"2025-09-28","surface":"web","presentation":{"trainingToggleDefault":true,"trainingToggleShown":true,"uiVariant":"\\ud800"}}',
      '{"policyVersion":"2025-09-28","surface":"web","presentation":{"trainingToggleDefault":true,"trainingToggleShown":true,"uiVariant":"a\\udfffb"}}',
    ]) {
      const res = await expectFailsCleanly(() => postTerms('e-hostile').set('content-type', 'application/json').send(raw), 400, 'VALIDATION_FAILED');
      expect(paths(res)).toEqual(['body.presentation.uiVariant']);
    }
    // A surrogate pair (an emoji) is ordinary text.
    const ok = await postTerms('e-emoji').send(terms({ uiVariant: 'toggle-\ud83d\ude00' }));
    expect(ok.status).toBe(201);
  });

  it('refuses U+0000 and lone surrogates in the query string and the path', async () => {
    const auditor = await t.bearer('audit:read', 'auditor');
    for (const types of ['consent.choice_recorded%00', 'a\u0000b']) {
      const res = await t.http.get(`/v1/audit/events?types=${encodeURIComponent(types).replace(/%25/g, '%')}`).set('authorization', auditor);
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
    const nul = await t.http.get('/v1/users/a%00b').set('authorization', writer);
    expectProblem(nul, 400, 'VALIDATION_FAILED');
  });

  it('refuses times the database cannot hold, naming the field', async () => {
    const chat = await t.http.put('/v1/chats/e-hostile-chat').set('authorization', writer).send({ userId: 'e-existing' });
    expect(chat.status).toBe(201);
    for (const at of ['0000-01-01T00:00:00.000Z', '-000001-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z']) {
      const res = await expectFailsCleanly(() => t.http.post('/v1/chats/e-hostile-chat/activity').set('authorization', writer).send({ at }), 400, 'VALIDATION_FAILED');
      expect(paths(res)).toEqual(['body.at']);
    }
    const reader = await t.bearer('training:read', 'pipeline');
    const asOf = await t.http.get('/v1/chats/e-hostile-chat/training-eligibility?asOf=0000-12-31T23:59:59.999Z').set('authorization', reader);
    expectProblem(asOf, 400, 'VALIDATION_FAILED');
    expect(paths(asOf)).toEqual(['query.asOf']);
  });

  it('refuses revisions beyond what a bigint holds, on every cursor', async () => {
    const auditor = await t.bearer('audit:read', 'auditor');
    const reader = await t.bearer('training:read', 'pipeline');
    for (const [path, token, field] of [
      ['/v1/audit/events?after=9999999999999999999', auditor, 'query.after'],
      ['/v1/users/e-existing/audit-events?after=9223372036854775808', auditor, 'query.after'],
      ['/v1/chats/x/training-eligibility?atRevision=9999999999999999999', reader, 'query.atRevision'],
    ] as const) {
      const res = await t.http.get(path).set('authorization', token);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(paths(res)).toEqual([field]);
    }
    const batch = await t.http.post('/v1/training-eligibility/batch').set('authorization', reader).send({ chatIds: ['x'], atRevision: '9999999999999999999' });
    expectProblem(batch, 400, 'VALIDATION_FAILED');
    expect(paths(batch)).toEqual(['body.atRevision']);
  });
});

describe('errors raised before any route', () => {
  it('answers a malformed percent-encoding in the path with a problem document', async () => {
    for (const path of ['/v1/users/%ZZ', '/v1/users/%C0%AF', '/v1/chats/%E0%A4%A/training-eligibility']) {
      const res = await t.http.get(path).set('authorization', writer);
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
  });

  it('answers an id far longer than any with 400, not 414', async () => {
    const res = await t.http.get(`/v1/users/${'a'.repeat(600)}`).set('authorization', writer);
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('answers a request line or headers over the limit with 431 as a problem document', async () => {
    const res = await rawRequest(`GET /v1/audit/events?types=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const body = JSON.parse(res.body);
    expect(body.code).toBe('HEADERS_TOO_LARGE');
    expect(body.requestId).toBe(res.headers['x-request-id']);
  });

  it('answers a request that is not HTTP with 400 as a problem document', async () => {
    const res = await rawRequest('HELLO\r\n\r\n');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).code).toBe('VALIDATION_FAILED');
  });

  /** Sends raw bytes and parses the one response that comes back. */
  async function rawRequest(raw: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const { connect } = await import('node:net');
    if (!t.app.server.listening) await new Promise<void>((resolve) => t.app.server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = t.app.server.address() as { port: number };
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(raw));
      let got = '';
      socket.on('data', (d) => (got += d.toString()));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
    });
    const [head, body] = text.split('\r\n\r\n');
    const [statusLine, ...lines] = head.split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
});
