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
