import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { listening, subscribe, wsClient } from '../helpers/graphql.js';

/**
 * Every request has a bounded time (REQUEST_TIMEOUT_MS), and the responses meant to last have
 * bounds of their own instead of being cut off at it: a GraphQL subscription here, the NDJSON
 * stream in eligible-chats.test.ts (100,000 chats read slowly, on the embedded database).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ REQUEST_TIMEOUT_MS: '1000', STREAM_TIMEOUT_MS: '60000' });
  const writer = await t.bearer('consent:write');
  const accepted = await t.http.post('/v1/users/tb-user/terms-acceptances').set('authorization', writer).send({
    policyVersion: '2025-09-28',
    surface: 'web',
    trainingChoice: 'granted',
    plan: 'pro',
    presentation: { trainingToggleDefault: true, trainingToggleShown: true },
  });
  expect(accepted.status).toBe(201);
});
afterAll(async () => t?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The database, with a gate that holds every statement sent while it is closed. */
function gated(db: Database) {
  let open: Promise<void> | null = null;
  let release = () => {};
  const wrapped: Database = Object.create(db);
  wrapped.query = async (text, params) => {
    if (open) await open;
    return db.query(text, params);
  };
  wrapped.transaction = async (fn) => {
    if (open) await open;
    return db.transaction(fn);
  };
  return {
    wrapped,
    close: () => {
      open = new Promise((resolve) => (release = resolve));
    },
    open: () => {
      open = null;
      release();
    },
  };
}

describe('time bounds', () => {
  it('answers 503 UNAVAILABLE, as problem+json, a request the database does not answer within REQUEST_TIMEOUT_MS, and serves again after', async () => {
    let gate: ReturnType<typeof gated> | undefined;
    const slow = await startTestApp({ REQUEST_TIMEOUT_MS: '300' }, { wrapDb: (db) => (gate = gated(db)).wrapped });
    try {
      const reader = await slow.bearer('consent:read');
      const user = await slow.bearer('consent:write');
      expect((await slow.http.put('/v1/users/tb-slow/training-consent').set('authorization', user).send({ choice: 'denied', surface: 'web' })).status).toBe(200);
      gate!.close();
      const started = Date.now();
      const [held, other] = await Promise.all([
        slow.http.get('/v1/users/tb-slow-unknown/training-consent').set('authorization', reader).set('x-request-id', 'held-request'),
        slow.http.post('/graphql').set('authorization', reader).send({ query: '{ trainingConsent(userId: "tb-slow-other") { choice } }' }),
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(held.status).toBe(503);
      expect(held.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(held.headers['retry-after']).toBe('1');
      expect(held.headers['x-request-id']).toBe('held-request');
      expect(held.body).toMatchObject({ code: 'UNAVAILABLE', status: 503, requestId: 'held-request' });
      expect(other.status).toBe(503);
      expect(other.body.errors[0].extensions).toMatchObject({ code: 'UNAVAILABLE' });
      gate!.open();
      const again = await slow.http.get('/v1/users/tb-slow/training-consent').set('authorization', reader);
      expect(again.status).toBe(200);
      expect(again.body.choice).toBe('denied');
    } finally {
      gate?.open();
      await slow.close();
    }
  });

  it('keeps a GraphQL subscription open past the request timeout', async () => {
    const url = await listening(t);
    const client = wsClient(url, { authorization: await t.bearer('audit:read') });
    try {
      const sub = subscribe(client, 'subscription { auditEvents { revision type } }', {}, (d) => d.auditEvents.type as string);
      await sleep(2_500);
      const writer = await t.bearer('consent:write');
      expect((await t.http.put('/v1/chats/tb-chat-late').set('authorization', writer).send({ userId: 'tb-user' })).status).toBe(201);
      expect(await sub.take(1)).toEqual(['chat.registered']);
      sub.stop();
    } finally {
      await client.dispose();
    }
  });
});
