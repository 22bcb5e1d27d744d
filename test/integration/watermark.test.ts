import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AUDIENCE, ISSUER } from '../helpers/tokens.js';

/**
 * The revision watermark (docs/decisions/0001): a read never reports a revision below which a
 * writer could still commit. These tests hold transactions open on connections of their own, which
 * needs a server with more than one connection: PostgreSQL only.
 */
let t: TestApp;
let sql: postgres.Sql;
beforeAll(async () => {
  t = await startTestApp();
  if (t.url) sql = postgres(t.url, { max: 4, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end();
  await t?.close();
});

const settles = async (maxWaitMs: number) => (await sql`SELECT consent_settled_revision(${maxWaitMs})::text AS r`)[0].r as string;

describe.runIf(process.env.TEST_DATABASE === 'postgres')('revision watermark', () => {
  it('settles at once when no writer is in flight', async () => {
    expect(BigInt(await settles(50))).toBeGreaterThanOrEqual(1n);
  });

  it('does not wait for a transaction in flight that is not a writer', async () => {
    const other = await sql.reserve();
    try {
      await other`BEGIN`;
      await other`SELECT pg_current_xact_id()`;
      expect(BigInt(await settles(50))).toBeGreaterThanOrEqual(1n);
    } finally {
      await other`ROLLBACK`;
      other.release();
    }
  });

  it('waits for a writer holding a revision, and settles past it once it commits', async () => {
    const writer = await sql.reserve();
    try {
      await writer`BEGIN`;
      await writer`SELECT consent_begin_write()`;
      const [{ r }] = await writer`SELECT nextval('revision_seq')::text AS r`;
      // A later revision commits while the earlier one is still open.
      const frontend = await t.bearer('consent:write');
      const later = await t.http
        .put('/v1/users/wm-user/training-consent')
        .set('authorization', frontend)
        .send({ choice: 'granted', surface: 'web' });
      expect(later.status).toBe(200);
      expect(BigInt(later.body.revision)).toBeGreaterThan(BigInt(r));

      // The settled revision waits for the open writer rather than answer past it.
      let settled: string | null = null;
      const waiting = sql`SELECT consent_settled_revision(10000)::text AS r`.then((rows) => {
        settled = rows[0].r as string;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(settled).toBeNull();
      await writer`COMMIT`;
      await waiting;
      expect(BigInt(settled!)).toBeGreaterThanOrEqual(BigInt(later.body.revision));
    } finally {
      writer.release();
    }
  });

  it('gives up with 503 rather than answer past a writer that does not finish', async () => {
    const writer = await sql.reserve();
    try {
      await writer`BEGIN`;
      await writer`SELECT consent_begin_write()`;
      await writer`SELECT nextval('revision_seq')`;
      await expect(sql`SELECT consent_settled_revision(50)`).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await writer`ROLLBACK`;
      writer.release();
    }
  });

  it('skips the look at the locks only while no revision beyond a known settled one was taken', async () => {
    const [{ settled }] = await sql`SELECT settled::text FROM consent_settled_point(50, -1)`;
    const [again] = await sql`SELECT settled::text FROM consent_settled_point(50, ${settled})`;
    expect(again.settled).toBe(settled);
    const writer = await sql.reserve();
    try {
      await writer`BEGIN`;
      await writer`SELECT consent_begin_write()`;
      await writer`SELECT nextval('revision_seq')`;
      // The writer's revision is beyond the known one: settling has to wait for it, and gives up.
      await expect(sql`SELECT * FROM consent_settled_point(50, ${settled})`).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await writer`ROLLBACK`;
      writer.release();
    }
    const [after] = await sql`SELECT settled::text FROM consent_settled_point(50, ${settled})`;
    expect(BigInt(after.settled)).toBeGreaterThan(BigInt(settled));
  });

  it("a stream's first page, read in its settling's round trip, holds what a writer it waited for committed", async () => {
    const frontend = await t.bearer('consent:write');
    const pipeline = await t.bearer('training:read');
    await t.http.put('/v1/users/wm-streamer/plan').set('authorization', frontend).send({ plan: 'pro' }).expect(200);
    await t.http.put('/v1/users/wm-streamer/training-consent').set('authorization', frontend).send({ choice: 'granted', surface: 'web' }).expect(200);
    await t.http.put('/v1/chats/wm-stream-a').set('authorization', frontend).send({ userId: 'wm-streamer' }).expect(201);
    const writer = await sql.reserve();
    try {
      // A writer holds a revision and registers a chat with it, then commits while the stream's
      // settling waits for it: the page, sent behind the settling, must see the chat.
      await writer`BEGIN`;
      await writer`SELECT consent_begin_write()`;
      const [{ r }] = await writer`SELECT nextval('revision_seq')::text AS r`;
      await writer`INSERT INTO chats (chat_id, user_id, created_at, incognito, registered_at, registered_revision, last_activity_at, last_activity_revision, last_activity_recorded_at)
        VALUES ('wm-stream-b', 'wm-streamer', now(), false, now(), ${r}, now(), ${r}, now())`;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const streaming = t.http
        .get('/v1/training-eligibility/eligible-chats')
        .query({ after: 'wm-stream-', limit: 5 })
        .set('authorization', pipeline)
        .buffer(true)
        .parse((res, done) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => done(null, body));
        });
      setTimeout(() => writer`COMMIT`.execute(), 150);
      const res = await streaming;
      expect(res.status).toBe(200);
      expect(BigInt(res.headers['consent-revision'])).toBeGreaterThanOrEqual(BigInt(r));
      const ids = (res.body as string).trim().split('\n').map((l) => JSON.parse(l).chatId);
      expect(ids.filter((id) => id.startsWith('wm-stream-'))).toEqual(['wm-stream-a', 'wm-stream-b']);
    } finally {
      writer.release();
    }
  });

  it('a stream whose settling gives up answers 503 and sends no line', async () => {
    const pipeline = await t.bearer('training:read');
    const writer = await sql.reserve();
    try {
      await writer`BEGIN`;
      await writer`SELECT consent_begin_write()`;
      await writer`SELECT nextval('revision_seq')`;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const res = await t.http.get('/v1/training-eligibility/eligible-chats').query({ limit: 5 }).set('authorization', pipeline);
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('UNAVAILABLE');
    } finally {
      await writer`ROLLBACK`;
      writer.release();
    }
    // The connection the stream settled on is usable again.
    const again = await t.http.get('/v1/training-eligibility/eligible-chats').query({ limit: 1 }).set('authorization', pipeline);
    expect(again.status).toBe(200);
  }, 20_000);

  it('answers reads while a writer is in flight with a revision below it', async () => {
    const reader = await t.bearer('consent:read');
    const writer = await sql.reserve();
    try {
      await writer`BEGIN`;
      await writer`SELECT consent_begin_write()`;
      const [{ r }] = await writer`SELECT nextval('revision_seq')::text AS r`;
      // Past the few milliseconds a settled revision is reused for, the read has to settle anew.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const reading = t.http.get('/v1/users/wm-user/training-consent').set('authorization', reader);
      setTimeout(() => writer`COMMIT`.execute(), 100);
      const res = await reading;
      expect(res.status).toBe(200);
      // The read waited for the open writer, so its revision covers it.
      expect(BigInt(res.body.revision)).toBeGreaterThanOrEqual(BigInt(r));
    } finally {
      writer.release();
    }
  });
});

describe('users whose facts changed, as settling names them', () => {
  type Changes = { settled: string; changed_users: string[] | null };
  const settle = async (known: string, maxUsers = 100) =>
    (await t.db.query<Changes>('SELECT settled::text, changed_users FROM consent_settled_changes(50, $1, $2)', [known, maxUsers]))[0];

  it('names each user with a plan change or a choice since a known settled revision, and no one else', async () => {
    const writer = await t.bearer('consent:write');
    const first = await settle('-1');
    // Nothing was settled before: the caller must forget everyone.
    expect(first.changed_users).toBeNull();
    expect(await settle(first.settled)).toEqual({ settled: first.settled, changed_users: [] });

    for (const [path, body] of [
      ['/v1/users/ch-a/training-consent', { choice: 'granted', surface: 'web' }],
      ['/v1/users/ch-a/training-consent', { choice: 'denied', surface: 'web' }],
      ['/v1/users/ch-b/plan', { plan: 'pro' }],
      ['/v1/chats/ch-c-chat', { userId: 'ch-c' }],
    ] as const) {
      expect((await t.http.put(path).set('authorization', writer).send(body)).status).toBeLessThan(300);
    }
    const next = await settle(first.settled);
    expect(BigInt(next.settled)).toBeGreaterThan(BigInt(first.settled));
    // Each named once; a chat registration is not a fact of its owner's consent.
    expect([...next.changed_users!].sort()).toEqual(['ch-a', 'ch-b']);
    // More facts than the caller will hear of by name: it must forget everyone.
    expect((await settle(first.settled, 2)).changed_users).toBeNull();
    expect((await settle(first.settled, 3)).changed_users).toHaveLength(2);
    expect((await settle(next.settled)).changed_users).toEqual([]);
  });
});

describe.runIf(process.env.TEST_DATABASE === 'postgres')('two instances on one database', () => {
  const instance = () =>
    buildApp(loadConfig({ LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_JWKS_FILE: t.keys.jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, DATABASE_URL: t.url! }));
  /** Past the few milliseconds a settled revision is reused for. */
  const settleAnew = () => new Promise((resolve) => setTimeout(resolve, 20));

  it("a change one instance records reaches the other's reads, which had the user's facts cached", async () => {
    const other = await instance();
    try {
      await other.ready();
      const admin = await t.bearer('admin');
      const write = (path: string, body: object) => t.http.put(path).set('authorization', admin).send(body);
      expect((await write('/v1/users/cached-elsewhere/plan', { plan: 'pro' })).status).toBe(200);
      expect((await write('/v1/users/cached-elsewhere/training-consent', { choice: 'granted', surface: 'web' })).status).toBe(200);
      expect((await write('/v1/chats/cached-elsewhere-chat', { userId: 'cached-elsewhere' })).status).toBe(201);
      await settleAnew();
      const consent = () => supertest(other.server).get('/v1/users/cached-elsewhere/training-consent').set('authorization', admin);
      const single = () => supertest(other.server).get('/v1/chats/cached-elsewhere-chat/training-eligibility').set('authorization', admin);
      const batch = () =>
        supertest(other.server).post('/v1/training-eligibility/batch').set('authorization', admin).send({ chatIds: ['cached-elsewhere-chat'] });
      const stream = async () =>
        (await supertest(other.server).get('/v1/training-eligibility/eligible-chats').set('authorization', admin)).text.includes(
          '"cached-elsewhere-chat"',
        );

      // Read through every path, twice: the second answer comes from the other instance's cache.
      for (let i = 0; i < 2; i++) {
        expect((await consent()).body).toMatchObject({ plan: 'pro', effective: 'granted' });
        expect((await single()).body).toMatchObject({ eligible: true });
        expect((await batch()).body.results[0]).toMatchObject({ eligible: true });
        expect(await stream()).toBe(true);
      }

      const denied = await write('/v1/users/cached-elsewhere/training-consent', { choice: 'denied', surface: 'web' });
      expect(denied.status).toBe(200);
      await settleAnew();
      const after = await consent();
      expect(after.body).toMatchObject({ effective: 'denied', choice: 'denied' });
      expect(after.headers.etag).toBe(`"${denied.body.revision}"`);
      expect((await single()).body).toMatchObject({ eligible: false, reason: 'opted_out' });
      expect((await batch()).body.results[0]).toMatchObject({ eligible: false, reason: 'opted_out' });
      expect(await stream()).toBe(false);

      expect((await write('/v1/users/cached-elsewhere/plan', { plan: 'team' })).status).toBe(200);
      await settleAnew();
      expect((await consent()).body).toMatchObject({ plan: 'team' });
      expect((await single()).body).toMatchObject({ eligible: false, reason: 'commercial_plan' });
    } finally {
      await other.close();
    }
  });

  it('a policy one instance adds is counted by the next read of the other', async () => {
    const other = await buildApp(
      loadConfig({ LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_JWKS_FILE: t.keys.jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, DATABASE_URL: t.url! }),
    );
    try {
      await other.ready();
      const admin = await t.bearer('admin');
      const put = await t.http
        .put('/v1/users/two-instances/training-consent')
        .set('authorization', admin)
        .send({ choice: 'granted', surface: 'web' });
      expect(put.status).toBe(200);
      const readOther = () => supertest(other.server).get('/v1/users/two-instances/training-consent').set('authorization', admin);
      const before = await readOther();
      expect(before.status).toBe(200);
      expect(before.headers.etag).toBe(`"${put.body.revision}"`);

      // Created through this instance: the other one has its policies cached, and no write of its own to go by.
      const created = await t.http.post('/v1/policies').set('authorization', admin).send({
        version: '2099-03-01',
        effectiveAt: '2099-03-01T00:00:00Z',
        decisionDeadline: '2099-04-01T00:00:00Z',
        defaultChoice: 'granted',
        requiresReconsent: true,
        retention: { grantedDays: 1825, deniedDays: 30, violationDays: 730 },
      });
      expect(created.status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const after = await readOther();
      expect(after.headers.etag).toBe(`"${created.body.revision}"`);
      const future = await supertest(other.server)
        .get('/v1/users/two-instances/training-consent')
        .query({ asOf: new Date().toISOString() })
        .set('authorization', admin);
      expect(BigInt(future.body.revision)).toBeGreaterThanOrEqual(BigInt(created.body.revision));
      const listed = await supertest(other.server).get('/v1/policies/2099-03-01').set('authorization', admin);
      expect(listed.status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe.runIf(process.env.TEST_DATABASE !== 'postgres')('revision watermark (embedded)', () => {
  it('settles at once: the single connection never has another writer in flight', async () => {
    const rows = await t.db.query<{ r: string }>('SELECT consent_settled_revision(50)::text AS r');
    expect(BigInt(rows[0].r)).toBeGreaterThanOrEqual(1n);
  });
});
