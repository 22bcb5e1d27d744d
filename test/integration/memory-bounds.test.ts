import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Every in-process cache has a bound, configurable and reported in /metrics: filled past it, a
 * cache holds no more than its bound, and what it answers stays right.
 */
const gauge = (metrics: string, name: string, label: string) => {
  const m = metrics.match(new RegExp(`^${name}\\{${label}\\} (\\d+)$`, 'm'));
  if (m === null) throw new Error(`${name}{${label}} is not in /metrics`);
  return Number(m[1]);
};

const accept = (trainingChoice: 'granted' | 'denied') => ({
  policyVersion: '2025-09-28',
  surface: 'web',
  trainingChoice,
  plan: 'pro',
  presentation: { trainingToggleDefault: true, trainingToggleShown: true, locale: 'en-US' },
});

describe('memory bounds', () => {
  let t: TestApp;
  const USERS = 12;
  beforeAll(async () => {
    t = await startTestApp({ USER_FACTS_CACHE_MAX_ENTRIES: '5', TOKEN_CACHE_MAX_ENTRIES: '3' });
    const writer = await t.bearer('consent:write');
    for (let i = 0; i < USERS; i++) {
      const res = await t.http.post(`/v1/users/bound-u-${i}/terms-acceptances`).set('authorization', writer).send(accept(i % 2 === 0 ? 'granted' : 'denied'));
      expect(res.status).toBe(201);
      expect(
        (await t.http.put(`/v1/chats/bound-c-${i}`).set('authorization', writer).send({ userId: `bound-u-${i}` })).status,
      ).toBeLessThan(300);
    }
  });
  afterAll(async () => t?.close());

  it("the users' facts cache and the verified-token cache hold at most their bounds, and reads stay right past them", async () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < USERS; i++) {
        // A token of its own for every read: more tokens than the token cache holds.
        const reader = await t.bearer('training:read', `pipeline-${i}`);
        const res = await t.http.get(`/v1/chats/bound-c-${i}/training-eligibility`).set('authorization', reader);
        expect(res.status).toBe(200);
        expect(res.body.reason).toBe(i % 2 === 0 ? 'user_choice' : 'opted_out');
      }
    }
    const metrics = (await t.http.get('/metrics')).text;
    const users = gauge(metrics, 'consent_users_facts_cached', 'database="primary"');
    expect(gauge(metrics, 'consent_users_facts_cached_max', 'database="primary"')).toBe(5);
    expect(users).toBeGreaterThan(0);
    expect(users).toBeLessThanOrEqual(5);
    const tokens = gauge(metrics, 'consent_cache_entries', 'cache="verified_tokens"');
    expect(gauge(metrics, 'consent_cache_max_entries', 'cache="verified_tokens"')).toBe(3);
    expect(tokens).toBeGreaterThan(0);
    expect(tokens).toBeLessThanOrEqual(3);
  });

  it('a bound of 0 keeps nothing, and reads still answer', async () => {
    const none = await startTestApp({ USER_FACTS_CACHE_MAX_ENTRIES: '0', TOKEN_CACHE_MAX_ENTRIES: '0' });
    try {
      const writer = await none.bearer('consent:write');
      await none.http.post('/v1/users/zero-u/terms-acceptances').set('authorization', writer).send(accept('granted')).expect(201);
      await none.http.put('/v1/chats/zero-c').set('authorization', writer).send({ userId: 'zero-u' });
      const reader = await none.bearer('training:read');
      for (let i = 0; i < 3; i++) {
        const res = await none.http.get('/v1/chats/zero-c/training-eligibility').set('authorization', reader);
        expect(res.body.reason).toBe('user_choice');
      }
      const metrics = (await none.http.get('/metrics')).text;
      expect(gauge(metrics, 'consent_users_facts_cached', 'database="primary"')).toBe(0);
      expect(gauge(metrics, 'consent_cache_entries', 'cache="verified_tokens"')).toBe(0);
    } finally {
      await none.close();
    }
  });
});
