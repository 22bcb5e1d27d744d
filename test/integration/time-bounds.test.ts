import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('time bounds', () => {
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
