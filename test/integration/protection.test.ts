import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * What keeps one caller or an overload from taking the service down, and browsers safe: per-caller
 * rate limits, load shedding, security headers, CORS for configured origins only, and logs that
 * carry the request id and never a token.
 */
describe('per-caller rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(async () => t?.close());

  it('answers 429 RATE_LIMITED with Retry-After once a caller spent its budget, keyed by the token subject', async () => {
    const a = await t.bearer('consent:read', 'caller-a');
    const a2 = await t.bearer('consent:read', 'caller-a');
    const b = await t.bearer('consent:read', 'caller-b');
    const statuses: number[] = [];
    // Two tokens of the same subject share one budget.
    for (let i = 0; i < 6; i++) statuses.push((await t.http.get('/v1/policies').set('authorization', i % 2 ? a : a2)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await t.http.get('/v1/policies').set('authorization', a);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(limited.body.requestId).toBe(limited.headers['x-request-id']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another caller still has its own budget; probes are never limited.
    expect((await t.http.get('/v1/policies').set('authorization', b)).status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await t.http.get('/healthz')).status).toBe(200);
  });

  it('limits GraphQL callers the same way', async () => {
    const c = await t.bearer('consent:read', 'caller-c');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await t.http.post('/graphql').set('authorization', c).send({ query: '{ policies { version } }' })).status);
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[5]).toBe(429);
  });

  it('writes nothing for a refused write', async () => {
    const w = await t.bearer('consent:write', 'caller-w');
    for (let i = 0; i < 5; i++) await t.http.put(`/v1/users/rl-${i}/plan`).set('authorization', w).send({ plan: 'free' });
    const refused = await t.http.put('/v1/users/rl-over/plan').set('authorization', w).send({ plan: 'free' });
    expect(refused.status).toBe(429);
    expect((await t.db.query('SELECT 1 FROM users WHERE user_id = $1', ['rl-over'])).length).toBe(0);
  });
});

describe('load shedding', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The smallest event-loop delay that counts, so that blocking the loop sheds load.
    t = await startTestApp({ MAX_EVENT_LOOP_DELAY_MS: '1' });
  });
  afterAll(async () => t?.close());

  it('answers 503 UNAVAILABLE with Retry-After while the event loop lags, and never sheds the probes', async () => {
    const reader = await t.bearer('consent:read', 'shed-reader');
    // Block the event loop again and again until a sample of its delay passes the bound.
    let shed = await t.http.get('/v1/policies').set('authorization', reader);
    for (let i = 0; i < 100 && shed.status !== 503; i++) {
      const until = Date.now() + 60;
      while (Date.now() < until);
      await new Promise((r) => setTimeout(r, 5));
      shed = await t.http.get('/v1/policies').set('authorization', reader);
    }
    expect(shed.status).toBe(503);
    expect(shed.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(shed.body.code).toBe('UNAVAILABLE');
    expect(Number(shed.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.http.get('/healthz')).status).toBe(200);
    expect((await t.http.get('/metrics')).status).toBe(200);
  });
});

describe('load shedding is not set off by one long request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_EVENT_LOOP_DELAY_MS: '1000' });
  });
  afterAll(async () => t?.close());

  it('serves the request after one that held the event loop longer than a sample but less than the bound', async () => {
    const reader = await t.bearer('consent:read', 'long-reader');
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      // As a large batch on a slow machine: the loop held for longer than a quarter of a second.
      const until = Date.now() + 300 + (i % 4) * 60;
      while (Date.now() < until);
      statuses.push((await t.http.get('/v1/policies').set('authorization', reader)).status);
    }
    expect(statuses).toEqual(statuses.map(() => 200));
  });
});

describe.runIf(process.env.TEST_DATABASE === 'postgres')('load shedding when the database pool is saturated', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DATABASE_MAX_QUEUE: '4' });
  });
  afterAll(async () => t?.close());

  it('answers 503 while more statements wait on the database than DATABASE_MAX_QUEUE, and serves again after', async () => {
    const reader = await t.bearer('consent:read', 'pool-reader');
    const slow = Array.from({ length: 24 }, () => t.db.query('SELECT pg_sleep(0.6)'));
    await new Promise((r) => setTimeout(r, 250));
    const shed = await t.http.get('/v1/policies').set('authorization', reader);
    expect(shed.status).toBe(503);
    expect(shed.body.code).toBe('UNAVAILABLE');
    expect(Number(shed.headers['retry-after'])).toBeGreaterThan(0);
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toMatch(/^consent_db_pool_queued (2[0-9]|1[0-9]|[5-9])$/m);
    await Promise.all(slow);
    await new Promise((r) => setTimeout(r, 250));
    expect((await t.http.get('/v1/policies').set('authorization', reader)).status).toBe(200);
  });
});

describe('security headers and CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: 'https://chat.example.com' });
  });
  afterAll(async () => t?.close());

  it('sends security headers and a CSP that loads nothing on API answers', async () => {
    const reader = await t.bearer('consent:read');
    const res = await t.http.get('/v1/policies').set('authorization', reader);
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const problem = await t.http.get('/v1/policies');
    expect(problem.headers['x-content-type-options']).toBe('nosniff');
  });

  it('gives the documentation page a policy that lets it load its own scripts', async () => {
    const docs = await t.http.get('/docs/').redirects(1);
    expect(docs.status).toBe(200);
    expect(docs.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('gives the console a policy with its own scripts and styles only, none inline', async () => {
    for (const path of ['/console', '/console/app.js', '/console/console.css']) {
      const res = await t.http.get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-security-policy']).toBe(
        "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';base-uri 'none';form-action 'none';frame-ancestors 'none'",
      );
    }
  });

  it('answers a configured origin, preflight included, and no other', async () => {
    const reader = await t.bearer('consent:read');
    const preflight = await t.http
      .options('/v1/users/u1/training-consent')
      .set('origin', 'https://chat.example.com')
      .set('access-control-request-method', 'PUT')
      .set('access-control-request-headers', 'authorization, content-type, if-match, idempotency-key');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://chat.example.com');
    expect(preflight.headers['access-control-allow-headers']).toContain('if-match');
    const allowed = await t.http.get('/v1/policies').set('authorization', reader).set('origin', 'https://chat.example.com');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://chat.example.com');
    expect(allowed.headers['access-control-expose-headers']).toContain('etag');
    const other = await t.http.get('/v1/policies').set('authorization', reader).set('origin', 'https://evil.example.net');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('logs', () => {
  let t: TestApp;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    t = await startTestApp({ LOG_LEVEL: 'trace' }, { logStream: sink });
  });
  afterAll(async () => t?.close());

  it('carry the request id and never the token', async () => {
    const token = await t.keys.token({ scope: 'consent:read', sub: 'log-reader' });
    const bad = `${token.slice(0, -4)}AAAA`;
    await t.http.get('/v1/users/log-nobody').set('authorization', `Bearer ${token}`).set('x-request-id', 'log-req-1');
    await t.http.get('/v1/users/log-nobody').set('authorization', `Bearer ${bad}`).set('x-request-id', 'log-req-2');
    await t.http.post('/graphql').set('authorization', `Bearer ${bad}`).set('x-request-id', 'log-req-3').send({ query: '{ policies { version } }' });
    const text = lines.join('');
    expect(text).toContain('"reqId":"log-req-1"');
    expect(text).toContain('"reqId":"log-req-2"');
    for (const secret of [token, bad, token.split('.')[2], bad.split('.')[2]]) expect(text).not.toContain(secret);
  });
});
