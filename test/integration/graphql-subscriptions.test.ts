import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { connectPostgres, type Database } from '../../src/db/client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { FIELDS, listening, subscribe, wsClient } from '../helpers/graphql.js';
import { AUDIENCE, ISSUER } from '../helpers/tokens.js';

/**
 * SPEC §5 subscriptions, with the graphql-ws client over a real socket: authenticated at
 * connection_init, the audit events exactly once in revision order (replayed, then live, with
 * concurrent writers and through another instance), a user's consent after each change, the end
 * of a subscription whose token expires, and of one whose consumer falls too far behind.
 */

let t: TestApp;
let url: string;
let writer: string;
let feedReader: string;
const clients: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  t = await startTestApp({ GRAPHQL_MAX_SUBSCRIPTIONS: '12' });
  url = await listening(t);
  writer = await t.bearer('consent:write', 'frontend');
  feedReader = await t.bearer('training:read', 'pipeline');
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await t?.close();
});

const client = (params: Record<string, unknown> | undefined, headers?: Record<string, string>, target = url) => {
  const c = wsClient(target, params, headers);
  clients.push(c);
  return c;
};

const EVENTS = `subscription($after: Revision, $types: [String!]) { auditEvents(after: $after, types: $types) { revision type userId chatId } }`;
type Event = { revision: string; type: string; userId: string | null; chatId: string | null };

async function logAfter(after: string): Promise<Event[]> {
  return t.db.query<Event>(
    `SELECT a.revision::text AS revision, a.type, p.user_id AS "userId", p.chat_id AS "chatId"
       FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision WHERE a.revision > $1::bigint ORDER BY a.revision`,
    [after],
  );
}
/** Waits until this many subscriptions follow the log (the /metrics gauge): from then on every commit reaches them. */
async function following(n: number, app: { inject: TestApp['app']['inject'] } = t.app): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    if (Number(/^graphql_subscriptions (\d+)$/m.exec(text)?.[1]) === n) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the subscriptions never numbered ${n}`);
}

// Each test starts with no subscription left from the one before.
afterEach(async () => {
  for (const c of clients.splice(0)) await c.dispose();
  await following(0);
});
const newest = async () => (await t.db.query<{ r: string }>('SELECT coalesce(max(revision), 0)::text AS r FROM audit_events'))[0].r;

describe('connection_init', () => {
  it('no token, a bad token: the socket closes with 4401 and no subscription starts', async () => {
    for (const params of [undefined, { authorization: 'Bearer not-a-token' }, { authorization: `Bearer ${await t.keys.token({ scope: 'admin', expiresIn: -120 })}` }]) {
      const sub = subscribe(client(params), EVENTS);
      expect(await sub.ended).toMatchObject({ code: 4401 });
      expect(sub.values).toEqual([]);
    }
  });

  it('a token no subscription accepts closes with 4403', async () => {
    const sub = subscribe(client({ authorization: await t.bearer('', 'nobody') }), EVENTS);
    expect(await sub.ended).toMatchObject({ code: 4403 });
  });

  it('a subscription the token may not make is refused with FORBIDDEN', async () => {
    const self = client({ authorization: await t.bearer('consent:self', 'alice') });
    const other = subscribe(self, 'subscription { trainingConsentChanged(userId: "bob") { effective } }');
    expect(await other.ended).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
    const feed = subscribe(self, EVENTS);
    expect(await feed.ended).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
  });

  it('the token may come in the upgrade request instead, and a token that expires ends the subscription with 4401', async () => {
    // Expired 27 s ago: accepted within the 30 s clock tolerance, for a few seconds more.
    const soon = `Bearer ${await t.keys.token({ scope: 'training:read', expiresIn: -27 })}`;
    const sub = subscribe(client(undefined, { authorization: soon }), EVENTS);
    await following(1);
    await t.http.put('/v1/users/expiry-user/plan').set('authorization', writer).send({ plan: 'pro' }).expect(200);
    expect((await sub.take(1))[0]).toMatchObject({ auditEvents: { type: 'user.plan_changed', userId: 'expiry-user' } });
    expect(await sub.ended).toMatchObject({ code: 4401 });
  });
});

describe('auditEvents', () => {
  it('replays the events after `after`, then goes live, each once, in revision order', async () => {
    const start = await newest();
    for (let i = 0; i < 3; i++) await t.http.put(`/v1/users/replay-${i}/plan`).set('authorization', writer).send({ plan: 'max' }).expect(200);
    const sub = subscribe(client({ authorization: feedReader }), EVENTS, { after: start }, (d) => d.auditEvents as Event);
    expect(await sub.take(3)).toEqual(await logAfter(start));
    await t.http.put('/v1/chats/replay-chat').set('authorization', writer).send({ userId: 'replay-0' }).expect(201);
    await t.http.put('/v1/users/replay-1/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'web' }).expect(200);
    expect(await sub.take(5)).toEqual(await logAfter(start));
    sub.stop();
  });

  it('filters by type, and starts from now without `after`', async () => {
    const sub = subscribe(client({ authorization: feedReader }), EVENTS, { types: ['consent.choice_recorded'] }, (d) => d.auditEvents as Event);
    await following(1);
    const from = await newest();
    await t.http.put('/v1/users/typed-user/plan').set('authorization', writer).send({ plan: 'pro' }).expect(200);
    await t.http.put('/v1/users/typed-user/training-consent').set('authorization', writer).send({ choice: 'granted', surface: 'web' }).expect(200);
    const [first] = await sub.take(1);
    expect(first).toMatchObject({ type: 'consent.choice_recorded', userId: 'typed-user' });
    expect(BigInt(first.revision)).toBeGreaterThan(BigInt(from));
    sub.stop();
  });

  it('delivers every event exactly once, in order, while 8 writers commit concurrently', async () => {
    const start = await newest();
    const sub = subscribe(client({ authorization: feedReader }), EVENTS, { after: start }, (d) => d.auditEvents as Event);
    const WRITERS = 8;
    const ROUNDS = 6;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < ROUNDS; i++) {
          const user = `writer-${w}-${i % 2}`;
          await t.http.put(`/v1/users/${user}/training-consent`).set('authorization', writer).send({ choice: i % 2 ? 'granted' : 'denied', surface: 'web' }).expect(200);
          await t.http.put(`/v1/chats/w${w}-c${i}`).set('authorization', writer).send({ userId: user }).expect(201);
          await t.http.post(`/v1/chats/w${w}-c${i}/activity`).set('authorization', writer).send({}).expect(204);
          if (i % 3 === 0) {
            await t.http
              .post(`/v1/users/${user}/terms-acceptances`)
              .set('authorization', writer)
              .send({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', plan: 'pro', presentation: { trainingToggleDefault: true, trainingToggleShown: true } })
              .expect(201);
          }
        }
      }),
    );
    const expected = await logAfter(start);
    expect(expected.length).toBe(WRITERS * (ROUNDS * 2 + 2 * 3));
    const got = await sub.take(expected.length);
    if (process.env.DEBUG_SUB) console.log('START', start, JSON.stringify(got.slice(0, 5)), JSON.stringify(expected.slice(0, 5)));
    expect(got).toEqual(expected);
    sub.stop();
  });
});

describe('trainingConsentChanged', () => {
  it("sends the user's consent after each choice, plan change and terms acceptance with a choice; not other users'", async () => {
    const self = client({ authorization: await t.bearer('consent:self', 'carol') });
    const sub = subscribe(self, `subscription { trainingConsentChanged(userId: "carol") { etag ${FIELDS.consent} } }`, {}, (d) => d.trainingConsentChanged);
    await following(1);
    await t.http.put('/v1/users/carol/plan').set('authorization', writer).send({ plan: 'free' }).expect(200);
    await t.http.put('/v1/users/dave/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'web' }).expect(200);
    await t.http.put('/v1/users/carol/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'ios' }).expect(200);
    const accepted = await t.http
      .post('/v1/users/carol/terms-acceptances')
      .set('authorization', writer)
      .send({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', presentation: { trainingToggleDefault: true, trainingToggleShown: true } })
      .expect(201);
    const got = await sub.take(3);
    expect(got.map((c) => [c.userId, c.plan, c.choice, c.basis])).toEqual([
      ['carol', 'free', null, expect.any(String)],
      ['carol', 'free', 'denied', 'user_choice'],
      ['carol', 'free', 'granted', 'user_choice'],
    ]);
    // Each is the consent at its event's revision, as REST answers it.
    const rest = await t.http.get(`/v1/users/carol/training-consent?atRevision=${accepted.body.revision}`).set('authorization', writer).expect(200);
    expect(got[2]).toEqual({ ...rest.body, etag: rest.headers.etag });
    sub.stop();
  });
});

describe('bounds', () => {
  it('refuses a subscription beyond GRAPHQL_MAX_SUBSCRIPTIONS with UNAVAILABLE', async () => {
    const c = client({ authorization: feedReader });
    const subs = Array.from({ length: 12 }, () => subscribe(c, EVENTS));
    await following(12);
    const refused = subscribe(c, EVENTS);
    expect(await refused.ended).toMatchObject([{ extensions: { code: 'UNAVAILABLE' } }]);
    for (const s of subs) s.stop();
  });

  it('ends a subscription whose consumer is more than 10,000 events behind with TOO_FAR_BEHIND', async () => {
    const sub = subscribe(client({ authorization: feedReader }), EVENTS, {}, (d) => d.auditEvents as Event);
    await following(1);
    await t.http.put('/v1/users/behind-user/plan').set('authorization', writer).send({ plan: 'pro' }).expect(200);
    await sub.take(1);
    // 10,001 events committed at once (bulk rows, written here in SQL): the consumer is that far behind.
    await t.db.transaction(async (tx) => {
      await tx.query('SELECT consent_begin_write()');
      await tx.query(`WITH e AS (INSERT INTO audit_events (revision, event_id, type, actor_kind, occurred_at, prev_hash, hash)
        SELECT nextval('revision_seq'), gen_random_uuid()::text, 'test.bulk', 'service', now(), repeat('0', 64), repeat('0', 64)
          FROM generate_series(1, 10001) RETURNING revision)
        INSERT INTO audit_event_personal (revision, data, actor_sub, request_id) SELECT revision, '{}'::jsonb, 'test', 'bulk' FROM e`);
    });
    await t.http.put('/v1/users/behind-user/plan').set('authorization', writer).send({ plan: 'max' }).expect(200);
    expect(await sub.ended).toMatchObject([{ extensions: { code: 'TOO_FAR_BEHIND' } }]);
    expect(sub.values.length).toBeLessThan(10_002);
    // Asking to replay more than that is refused at once.
    const replay = subscribe(client({ authorization: feedReader }), EVENTS, { after: '0' });
    expect(await replay.ended).toMatchObject([{ extensions: { code: 'TOO_FAR_BEHIND' } }]);
  });
});

describe('two instances on one PostgreSQL', () => {
  let other: { app: FastifyInstance; db: Database } | null = null;
  afterAll(async () => {
    await other?.app.close();
    await other?.db.close();
  });

  it.skipIf(process.env.TEST_DATABASE !== 'postgres')('a subscription on one instance gets what is written through the other, in order', async () => {
    const db = connectPostgres(t.url!, 4);
    const config = loadConfig({ LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_JWKS_FILE: t.keys.jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, DATABASE_URL: t.url!, DATA_DIR: '/nonexistent-test-data-dir' });
    const app = await buildApp(config, { db });
    other = { app, db };
    await app.listen({ port: 0, host: '127.0.0.1' });
    const otherUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/graphql`;
    const start = await newest();
    const sub = subscribe(client({ authorization: feedReader }, undefined, otherUrl), EVENTS, { after: start }, (d) => d.auditEvents as Event);
    for (let i = 0; i < 5; i++) {
      await t.http.put(`/v1/users/remote-${i}/training-consent`).set('authorization', writer).send({ choice: 'granted', surface: 'web' }).expect(200);
    }
    const expected = await logAfter(start);
    expect(expected).toHaveLength(5);
    expect(await sub.take(5)).toEqual(expected);
    const consent = subscribe(client({ authorization: writer }, undefined, otherUrl), 'subscription { trainingConsentChanged(userId: "remote-0") { choice } }', {}, (d) => d.trainingConsentChanged);
    await following(2, app);
    await t.http.put('/v1/users/remote-0/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'web' }).expect(200);
    expect(await consent.take(1)).toEqual([{ choice: 'denied' }]);
    sub.stop();
    consent.stop();
  });
});
