import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('service start', () => {
  it('answers health and readiness', async () => {
    expect((await t.http.get('/healthz')).status).toBe(200);
    const ready = await t.http.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });

  it('records a terms acceptance with a choice and answers a pipeline', async () => {
    const frontend = await t.bearer('consent:write', 'frontend');
    const accepted = await t.http
      .post('/v1/users/alice/terms-acceptances')
      .set('authorization', frontend)
      .send({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', plan: 'pro', presentation: { trainingToggleDefault: true, trainingToggleShown: true } });
    expect(accepted.status).toBe(201);
    await t.http.put('/v1/chats/chat-1').set('authorization', frontend).send({ userId: 'alice' }).expect(201);
    const pipeline = await t.bearer('training:read', 'pipeline');
    const decision = await t.http.get('/v1/chats/chat-1/training-eligibility').set('authorization', pipeline);
    expect(decision.status).toBe(200);
    expect(decision.body).toMatchObject({ chatId: 'chat-1', userId: 'alice', eligible: true, reason: 'user_choice' });
  });
});
