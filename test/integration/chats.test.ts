import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Chats (SPEC §2 "Chats", §1 conventions, §3 consent:self): registration, activity reports,
 * deletion, flags and reads, through real HTTP against a real database with signed tokens.
 * Audit effects are checked in the log itself (raw SQL), not through the service's own answers.
 */

let t: TestApp;
let writer: string; // consent:write, a chat frontend acting as a service
let reader: string; // consent:read
let pipeline: string; // training:read

const MINUTE = 60_000;
const DAY = 86_400_000;

beforeAll(async () => {
  t = await startTestApp();
  writer = await t.bearer('consent:write', 'frontend');
  reader = await t.bearer('consent:read', 'support');
  pipeline = await t.bearer('training:read', 'pipeline');
});
afterAll(async () => t?.close());

interface EventRow {
  revision: string;
  type: string;
  user_id: string | null;
  chat_id: string | null;
  data: Record<string, unknown>;
  actor_sub: string;
  actor_kind: string;
  occurred_at_ms: number;
}

async function chatEvents(chatId: string): Promise<EventRow[]> {
  return t.db.query<EventRow>(
    `SELECT a.revision::text AS revision, type, user_id, chat_id, data, actor_sub, actor_kind,
            (extract(epoch FROM occurred_at) * 1000)::float8 AS occurred_at_ms
       FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision WHERE p.chat_id = $1 ORDER BY a.revision`,
    [chatId],
  );
}

async function totalEvents(): Promise<number> {
  const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events');
  return Number(rows[0].n);
}

async function activityRows(chatId: string): Promise<number[]> {
  const rows = await t.db.query<{ at: number }>(
    'SELECT (extract(epoch FROM at) * 1000)::float8 AS at FROM chat_activity WHERE chat_id = $1 ORDER BY revision',
    [chatId],
  );
  return rows.map((r) => Number(r.at));
}

function expectProblem(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

const register = (chatId: string, body: Record<string, unknown>, auth = writer) =>
  t.http.put(`/v1/chats/${encodeURIComponent(chatId)}`).set('authorization', auth).send(body);

const activity = (chatId: string, body?: Record<string, unknown>, auth = writer) => {
  const req = t.http.post(`/v1/chats/${encodeURIComponent(chatId)}/activity`).set('authorization', auth);
  return body === undefined ? req : req.send(body);
};

const getChat = (chatId: string, auth = reader) => t.http.get(`/v1/chats/${encodeURIComponent(chatId)}`).set('authorization', auth);

const eligibility = (chatId: string) =>
  t.http.get(`/v1/chats/${encodeURIComponent(chatId)}/training-eligibility`).set('authorization', pipeline);

/** A consumer user with a plan (so a default grant applies from the moment the plan is set). */
async function consumer(userId: string, plan = 'pro'): Promise<number> {
  const res = await t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return Date.parse(res.body.trainingConsent.asOf);
}

describe('PUT /v1/chats/{chatId}', () => {
  it('registers a new chat with 201 and one chat.registered event; a repeat answers 200 and appends none', async () => {
    const before = Date.now();
    const first = await register('reg-1', { userId: 'alice' });
    const after = Date.now();
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ chatId: 'reg-1', userId: 'alice', incognito: false, deletedAt: null, flags: [] });
    expect(first.body.revision).toMatch(/^\d+$/);
    const createdAt = Date.parse(first.body.createdAt);
    expect(first.body.createdAt).toBe(new Date(createdAt).toISOString());
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(createdAt).toBeLessThanOrEqual(after);

    const events = await chatEvents('reg-1');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'chat.registered', user_id: 'alice', chat_id: 'reg-1', revision: first.body.revision });
    expect(events[0].data).toMatchObject({ createdAt: first.body.createdAt, incognito: false });

    const total = await totalEvents();
    const again = await register('reg-1', { userId: 'alice' });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toEqual(first.body);
    const explicit = await register('reg-1', { userId: 'alice', incognito: false, createdAt: first.body.createdAt });
    expect(explicit.status, JSON.stringify(explicit.body)).toBe(200);
    expect(explicit.body).toEqual(first.body);
    expect(await totalEvents()).toBe(total);
    expect(await chatEvents('reg-1')).toHaveLength(1);
  });

  it('refuses a change of userId with 409 and leaves no trace (no event, no new user)', async () => {
    await register('reg-owner', { userId: 'alice' }).expect(201);
    const total = await totalEvents();
    const res = await register('reg-owner', { userId: 'mallory' });
    expectProblem(res, 409, 'CONFLICT');
    expect(await totalEvents()).toBe(total);
    expect((await t.http.get('/v1/users/mallory').set('authorization', reader)).status).toBe(404);
    const chat = await getChat('reg-owner');
    expect(chat.status).toBe(200);
    expect(chat.body.userId).toBe('alice');
  });

  it('refuses a change of incognito either way with 409', async () => {
    await register('reg-incog', { userId: 'alice', incognito: true }).expect(201);
    await register('reg-plain', { userId: 'alice' }).expect(201);
    const total = await totalEvents();
    expectProblem(await register('reg-incog', { userId: 'alice', incognito: false }), 409, 'CONFLICT');
    expectProblem(await register('reg-plain', { userId: 'alice', incognito: true }), 409, 'CONFLICT');
    expect(await totalEvents()).toBe(total);
    expect((await getChat('reg-incog')).body.incognito).toBe(true);
    expect((await getChat('reg-plain')).body.incognito).toBe(false);
    // Leaving incognito out of a repeat is not a change.
    const repeat = await register('reg-incog', { userId: 'alice' });
    expect(repeat.status).toBe(200);
    expect(repeat.body.incognito).toBe(true);
  });

  it('never changes createdAt on a repeat registration', async () => {
    const first = await register('reg-created', { userId: 'alice', createdAt: '2026-02-01T00:00:00.000Z' });
    expect(first.status).toBe(201);
    const total = await totalEvents();
    // SPEC names userId and incognito; the service's decision note (docs/decisions/0003) makes an
    // explicit, different createdAt a 409 as well. Either way it must not change.
    const other = await register('reg-created', { userId: 'alice', createdAt: '2026-03-01T00:00:00.000Z' });
    expectProblem(other, 409, 'CONFLICT');
    expect(await totalEvents()).toBe(total);
    expect((await getChat('reg-created')).body.createdAt).toBe('2026-02-01T00:00:00.000Z');
    expect(await activityRows('reg-created')).toEqual([Date.parse('2026-02-01T00:00:00.000Z')]);
  });

  it('defaults createdAt to now and counts it as activity', async () => {
    await consumer('carol');
    const before = Date.now();
    const res = await register('reg-now', { userId: 'carol' });
    const after = Date.now();
    expect(res.status).toBe(201);
    const createdAt = Date.parse(res.body.createdAt);
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(createdAt).toBeLessThanOrEqual(after);
    expect(res.body.lastActivityAt).toBe(res.body.createdAt);
    expect(await activityRows('reg-now')).toEqual([createdAt]);
    const chat = await getChat('reg-now');
    expect(chat.body.lastActivityAt).toBe(res.body.createdAt);
    // The creation is activity inside the user's granted period: the chat is eligible on it alone.
    const decision = await eligibility('reg-now');
    expect(decision.status).toBe(200);
    expect(decision.body).toMatchObject({ eligible: true, reason: 'default_after_deadline' });
    expect(decision.body.retentionUntil).toBe(new Date(createdAt + 1825 * DAY).toISOString());
  });

  it('keeps a backdated createdAt, normalised to UTC milliseconds, and counts it as activity at that time', async () => {
    await consumer('dave');
    const res = await register('reg-backdated', { userId: 'dave', createdAt: '2026-01-15T12:00:00+02:00' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.createdAt).toBe('2026-01-15T10:00:00.000Z');
    expect(res.body.lastActivityAt).toBe('2026-01-15T10:00:00.000Z');
    expect((await getChat('reg-backdated')).body).toMatchObject({
      createdAt: '2026-01-15T10:00:00.000Z',
      lastActivityAt: '2026-01-15T10:00:00.000Z',
    });
    expect(await activityRows('reg-backdated')).toEqual([Date.parse('2026-01-15T10:00:00.000Z')]);
    const events = await chatEvents('reg-backdated');
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ createdAt: '2026-01-15T10:00:00.000Z' });
    // Its only activity predates dave's consent (the plan was set just now), until he resumes it.
    expect((await eligibility('reg-backdated')).body).toMatchObject({ eligible: false, reason: 'predates_consent' });
    await activity('reg-backdated', {}).expect(204);
    expect((await eligibility('reg-backdated')).body).toMatchObject({ eligible: true });
  });

  it('refuses a createdAt more than 5 minutes in the future with 400 and accepts one a little ahead', async () => {
    await consumer('erin');
    const total = await totalEvents();
    const far = new Date(Date.now() + 6 * MINUTE).toISOString();
    expectProblem(await register('reg-future', { userId: 'erin', createdAt: far }), 400, 'VALIDATION_FAILED');
    expect(await totalEvents()).toBe(total);
    expect((await getChat('reg-future')).status).toBe(404);
    expect(await activityRows('reg-future')).toEqual([]);

    const near = new Date(Date.now() + 2 * MINUTE).toISOString();
    const ok = await register('reg-future', { userId: 'erin', createdAt: near });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.createdAt).toBe(near);
    // Activity counts at T only once it is <= T: two minutes ahead it does not count yet.
    expect((await eligibility('reg-future')).body).toMatchObject({ eligible: false, reason: 'predates_consent' });
  });

  it('validates the chat id and the body', async () => {
    expectProblem(await register('-starts-with-dash', { userId: 'alice' }), 400, 'VALIDATION_FAILED');
    expectProblem(await register('x'.repeat(129), { userId: 'alice' }), 400, 'VALIDATION_FAILED');
    expectProblem(await register('reg-valid', { userId: 'has space' }), 400, 'VALIDATION_FAILED');
    expectProblem(await register('reg-valid', { userId: 'alice', extra: 1 }), 400, 'VALIDATION_FAILED');
    expectProblem(await register('reg-valid', { userId: 'alice', createdAt: 'yesterday' }), 400, 'VALIDATION_FAILED');
    expect((await getChat('reg-valid')).status).toBe(404);
    const longest = 'a'.repeat(128);
    expect((await register(longest, { userId: 'alice' })).status).toBe(201);
  });
});

describe('POST /v1/chats/{chatId}/activity', () => {
  it('answers 204 without a body or an audit event and moves lastActivityAt', async () => {
    await register('act-1', { userId: 'alice', createdAt: '2026-03-01T00:00:00.000Z' }).expect(201);
    const total = await totalEvents();
    const res = await activity('act-1', { at: '2026-04-01T00:00:00.000Z' });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await getChat('act-1')).body.lastActivityAt).toBe('2026-04-01T00:00:00.000Z');
    // An earlier report is recorded but does not move the latest activity back.
    await activity('act-1', { at: '2026-03-15T00:00:00.000Z' }).expect(204);
    expect((await getChat('act-1')).body.lastActivityAt).toBe('2026-04-01T00:00:00.000Z');
    // With an empty body the activity is now.
    const before = Date.now();
    await activity('act-1', {}).expect(204);
    const last = Date.parse((await getChat('act-1')).body.lastActivityAt);
    expect(last).toBeGreaterThanOrEqual(before);
    expect(last).toBeLessThanOrEqual(Date.now());
    expect(await totalEvents()).toBe(total);
    expect(await chatEvents('act-1')).toHaveLength(1);
    expect(await activityRows('act-1')).toHaveLength(4);
  });

  it('accepts a report without a body (its only field is optional), recorded as now', async () => {
    await register('act-nobody', { userId: 'alice', createdAt: '2026-03-01T00:00:00.000Z' }).expect(201);
    const before = Date.now();
    const res = await activity('act-nobody');
    expect(res.status, res.text).toBe(204);
    const rows = await activityRows('act-nobody');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toBeGreaterThanOrEqual(before);
    expect(rows[1]).toBeLessThanOrEqual(Date.now());
  });

  it('refuses an activity more than 5 minutes in the future with 400 and records nothing', async () => {
    await register('act-future', { userId: 'alice' }).expect(201);
    const rows = await activityRows('act-future');
    expectProblem(await activity('act-future', { at: new Date(Date.now() + 6 * MINUTE).toISOString() }), 400, 'VALIDATION_FAILED');
    expectProblem(await activity('act-future', { at: 'not-a-time' }), 400, 'VALIDATION_FAILED');
    expectProblem(await activity('act-future', { at: '2026-01-01T00:00:00.000Z', extra: true }), 400, 'VALIDATION_FAILED');
    expect(await activityRows('act-future')).toEqual(rows);
    await activity('act-future', { at: new Date(Date.now() + 2 * MINUTE).toISOString() }).expect(204);
    expect(await activityRows('act-future')).toHaveLength(rows.length + 1);
  });

  it('answers 404 for an unknown chat and 409 for a deleted one, recording nothing', async () => {
    expectProblem(await activity('act-unknown', {}), 404, 'NOT_FOUND');
    expect(await activityRows('act-unknown')).toEqual([]);

    await register('act-deleted', { userId: 'alice' }).expect(201);
    await t.http.delete('/v1/chats/act-deleted').set('authorization', writer).expect(200);
    const rows = await activityRows('act-deleted');
    const total = await totalEvents();
    expectProblem(await activity('act-deleted', {}), 409, 'CONFLICT');
    expectProblem(await activity('act-deleted', { at: '2026-01-01T00:00:00.000Z' }), 409, 'CONFLICT');
    expect(await activityRows('act-deleted')).toEqual(rows);
    expect(await totalEvents()).toBe(total);
  });
});

describe('DELETE /v1/chats/{chatId}', () => {
  it('sets deletedAt and appends exactly one chat.deleted event; a repeat appends none', async () => {
    await consumer('frank');
    const created = await register('del-1', { userId: 'frank' });
    expect(created.status).toBe(201);
    const before = Date.now();
    const res = await t.http.delete('/v1/chats/del-1').set('authorization', writer);
    const after = Date.now();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ chatId: 'del-1', userId: 'frank', createdAt: created.body.createdAt, incognito: false, flags: [] });
    const deletedAt = Date.parse(res.body.deletedAt);
    expect(deletedAt).toBeGreaterThanOrEqual(before);
    expect(deletedAt).toBeLessThanOrEqual(after);
    expect(BigInt(res.body.revision)).toBeGreaterThan(BigInt(created.body.revision));

    let events = await chatEvents('del-1');
    expect(events.map((e) => e.type)).toEqual(['chat.registered', 'chat.deleted']);
    expect(events[1]).toMatchObject({ revision: res.body.revision, user_id: 'frank', actor_sub: 'frontend', actor_kind: 'service' });
    expect(events[1].occurred_at_ms).toBe(deletedAt);

    const total = await totalEvents();
    const again = await t.http.delete('/v1/chats/del-1').set('authorization', writer);
    expect(again.status).toBe(200);
    expect(again.body.deletedAt).toBe(res.body.deletedAt);
    expect(again.body.revision).toBe(res.body.revision);
    expect(await totalEvents()).toBe(total);
    events = await chatEvents('del-1');
    expect(events.filter((e) => e.type === 'chat.deleted')).toHaveLength(1);

    expect((await getChat('del-1')).body.deletedAt).toBe(res.body.deletedAt);
    expect((await eligibility('del-1')).body).toMatchObject({ eligible: false, reason: 'chat_deleted', retentionUntil: null });
    // A deleted chat stays registered: registering it again changes nothing.
    const reRegister = await register('del-1', { userId: 'frank' });
    expect(reRegister.status).toBe(200);
    expect(reRegister.body.deletedAt).toBe(res.body.deletedAt);
  });

  it('answers 404 for an unknown chat', async () => {
    const total = await totalEvents();
    expectProblem(await t.http.delete('/v1/chats/del-unknown').set('authorization', writer), 404, 'NOT_FOUND');
    expect(await totalEvents()).toBe(total);
  });
});

describe('POST /v1/chats/{chatId}/flags', () => {
  it('records a policy_violation flag with one chat.flagged event and answers the chat', async () => {
    await register('flag-1', { userId: 'alice' }).expect(201);
    const before = Date.now();
    const res = await t.http.post('/v1/chats/flag-1/flags').set('authorization', writer).send({ type: 'policy_violation' });
    const after = Date.now();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ chatId: 'flag-1', userId: 'alice', deletedAt: null });
    expect(res.body.flags).toHaveLength(1);
    expect(res.body.flags[0].type).toBe('policy_violation');
    const flaggedAt = Date.parse(res.body.flags[0].flaggedAt);
    expect(flaggedAt).toBeGreaterThanOrEqual(before);
    expect(flaggedAt).toBeLessThanOrEqual(after);

    const events = await chatEvents('flag-1');
    expect(events.map((e) => e.type)).toEqual(['chat.registered', 'chat.flagged']);
    expect(events[1].revision).toBe(res.body.revision);
    expect(events[1].data).toMatchObject({ type: 'policy_violation' });
    const read = await getChat('flag-1');
    expect(read.body.flags).toEqual(res.body.flags);
    // The chat's revision is that of its latest change, the flag.
    expect(read.body.revision).toBe(res.body.revision);
  });

  it('refuses other flag types and unknown fields with 400, and unknown chats with 404', async () => {
    await register('flag-2', { userId: 'alice' }).expect(201);
    const total = await totalEvents();
    expectProblem(await t.http.post('/v1/chats/flag-2/flags').set('authorization', writer).send({ type: 'spam' }), 400, 'VALIDATION_FAILED');
    expectProblem(
      await t.http.post('/v1/chats/flag-2/flags').set('authorization', writer).send({ type: 'policy_violation', note: 'x' }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await t.http.post('/v1/chats/flag-unknown/flags').set('authorization', writer).send({ type: 'policy_violation' }), 404, 'NOT_FOUND');
    expect(await totalEvents()).toBe(total);
    expect((await getChat('flag-2')).body.flags).toEqual([]);
  });
});

describe('GET /v1/chats/{chatId}', () => {
  it('answers the chat to readers and writers, 404 when unknown, 403 to a pipeline, 401 without a token', async () => {
    const created = await register('get-1', { userId: 'alice', createdAt: '2026-05-05T05:05:05.005Z', incognito: true });
    expect(created.status).toBe(201);
    const res = await getChat('get-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      chatId: 'get-1',
      userId: 'alice',
      createdAt: '2026-05-05T05:05:05.005Z',
      lastActivityAt: '2026-05-05T05:05:05.005Z',
      incognito: true,
      deletedAt: null,
      flags: [],
      revision: created.body.revision,
    });
    expect((await getChat('get-1', writer)).body).toEqual(res.body);
    expectProblem(await getChat('get-unknown'), 404, 'NOT_FOUND');
    expectProblem(await getChat('get-1', pipeline), 403, 'FORBIDDEN');
    expectProblem(await t.http.get('/v1/chats/get-1'), 401, 'UNAUTHENTICATED');
  });
});

describe('consent:self', () => {
  it('registers, reports, reads and deletes its own chats, acting as the user', async () => {
    const sam = await t.bearer('consent:self', 'sam');
    const created = await register('self-1', { userId: 'sam' }, sam);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await activity('self-1', {}, sam).expect(204);
    const read = await getChat('self-1', sam);
    expect(read.status).toBe(200);
    expect(read.body.userId).toBe('sam');
    const deleted = await t.http.delete('/v1/chats/self-1').set('authorization', sam);
    expect(deleted.status).toBe(200);
    expect(deleted.body.deletedAt).not.toBeNull();
    const events = await chatEvents('self-1');
    expect(events.map((e) => [e.type, e.actor_sub, e.actor_kind])).toEqual([
      ['chat.registered', 'sam', 'user'],
      ['chat.deleted', 'sam', 'user'],
    ]);
  });

  it('may not register a chat for another user', async () => {
    const sam = await t.bearer('consent:self', 'sam');
    const total = await totalEvents();
    expectProblem(await register('self-other', { userId: 'tina' }, sam), 403, 'FORBIDDEN');
    expect(await totalEvents()).toBe(total);
    expect((await getChat('self-other')).status).toBe(404);
    expect((await t.http.get('/v1/users/tina').set('authorization', reader)).status).toBe(404);
  });

  it("may not report on, read, delete or flag another user's chat", async () => {
    const sam = await t.bearer('consent:self', 'sam');
    await register('self-tina', { userId: 'tina' }).expect(201);
    const rows = await activityRows('self-tina');
    const total = await totalEvents();
    expectProblem(await activity('self-tina', {}, sam), 403, 'FORBIDDEN');
    expectProblem(await getChat('self-tina', sam), 403, 'FORBIDDEN');
    expectProblem(await t.http.delete('/v1/chats/self-tina').set('authorization', sam), 403, 'FORBIDDEN');
    expectProblem(await t.http.post('/v1/chats/self-tina/flags').set('authorization', sam).send({ type: 'policy_violation' }), 403, 'FORBIDDEN');
    expect(await activityRows('self-tina')).toEqual(rows);
    expect(await totalEvents()).toBe(total);
    expect((await getChat('self-tina')).body).toMatchObject({ deletedAt: null, flags: [] });
  });

  it('other scopes cannot write chats', async () => {
    expectProblem(await register('scope-1', { userId: 'alice' }, reader), 403, 'FORBIDDEN');
    expectProblem(await register('scope-1', { userId: 'alice' }, pipeline), 403, 'FORBIDDEN');
    expectProblem(await t.http.put('/v1/chats/scope-1').send({ userId: 'alice' }), 401, 'UNAUTHENTICATED');
    expect((await getChat('scope-1')).status).toBe(404);
  });
});
