import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginUserWrite } from '../../src/audit/append.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The global change feed, GET /v1/audit/events (SPEC §2 "Audit log"): in revision order, and a
 * consumer that follows nextCursor sees every event exactly once, even while many writers commit
 * concurrently (a revision that commits late must not be skipped). The log itself is read with
 * raw SQL to know what "every event" is.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface FeedEvent {
  revision: string;
  type: string;
  userId: string | null;
  chatId?: string;
  hash: string;
}

interface Page {
  items: FeedEvent[];
  nextCursor: string | null;
}

let t: TestApp;
let reader: string; // training:read, a pipeline following revocations
let auditor: string; // audit:read

beforeAll(async () => {
  t = await startTestApp();
  reader = await t.bearer('training:read', 'pipeline');
  auditor = await t.bearer('audit:read', 'auditor');
});
afterAll(async () => t?.close());

const feed = (query: Record<string, string | number>, auth = reader) => t.http.get('/v1/audit/events').query(query).set('authorization', auth);

async function page(query: Record<string, string | number>, auth = reader): Promise<Page> {
  const res = await feed(query, auth);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function logRevisions(types?: string[]): Promise<{ revision: string; hash: string }[]> {
  return types
    ? t.db.query('SELECT revision::text AS revision, hash FROM audit_events WHERE type = ANY($1::text[]) ORDER BY audit_events.revision', [types])
    : t.db.query('SELECT revision::text AS revision, hash FROM audit_events ORDER BY audit_events.revision');
}

async function newestRevision(): Promise<bigint> {
  const rows = await t.db.query<{ r: string }>(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END::text AS r FROM revision_seq`);
  return BigInt(rows[0].r);
}

function expectProblem(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

/**
 * Follows the feed from `after` until `done()` says no more writes will come and a page then
 * comes back empty at or past the newest audit event. Checks each page on the way.
 */
async function follow(options: { after?: string; types?: string; limits: number[]; done: () => boolean }): Promise<FeedEvent[]> {
  const seen: FeedEvent[] = [];
  let cursor = options.after ?? '0';
  for (let poll = 0; ; poll++) {
    const limit = options.limits[poll % options.limits.length];
    const finished = options.done();
    const body = await page({ after: cursor, limit, ...(options.types ? { types: options.types } : {}) });
    expect(body.items.length).toBeLessThanOrEqual(limit);
    let previous = BigInt(cursor);
    for (const item of body.items) {
      expect(BigInt(item.revision)).toBeGreaterThan(previous);
      previous = BigInt(item.revision);
    }
    seen.push(...body.items);
    expect(body.nextCursor).toMatch(/^\d+$/);
    expect(BigInt(body.nextCursor!)).toBeGreaterThanOrEqual(previous);
    cursor = body.nextCursor!;
    if (finished && body.items.length === 0) {
      const newest = (await logRevisions()).at(-1)!.revision;
      if (BigInt(cursor) >= BigInt(newest)) return seen;
    }
    if (body.items.length < limit) await sleep(2);
  }
}

describe('GET /v1/audit/events', () => {
  it('a follower sees every event exactly once, in order, while 8 writers commit concurrently', async () => {
    const WRITERS = 8;
    const ROUNDS = 12;
    const PLANS = ['free', 'pro', 'max', 'team', 'enterprise'];
    let writing = true;
    const writer = await t.bearer('consent:write', 'frontend');
    const statuses: number[] = [];

    // Each writer acts on its own users: plan changes, choices, chat registrations (one event
    // each), terms acceptances with a plan and a choice (three events in one transaction),
    // activity reports (a revision, no event: a gap the feed must step over), deletions, flags.
    async function writerLoop(w: number) {
      const user = (k: number) => `w${w}-u${k % 3}`;
      for (let i = 0; i < ROUNDS; i++) {
        const u = user(i);
        const chat = `w${w}-c${i}`;
        const results = [
          await t.http.put(`/v1/users/${u}/plan`).set('authorization', writer).send({ plan: PLANS[(i + w) % PLANS.length] }),
          await t.http
            .put(`/v1/users/${u}/training-consent`)
            .set('authorization', writer)
            .send({ choice: (i + w) % 2 === 0 ? 'granted' : 'denied', surface: 'web' }),
          await t.http.put(`/v1/chats/${chat}`).set('authorization', writer).send({ userId: u }),
          await t.http.post(`/v1/chats/${chat}/activity`).set('authorization', writer).send({}),
        ];
        if (i % 3 === 0) {
          results.push(
            await t.http
              .post(`/v1/users/${u}/terms-acceptances`)
              .set('authorization', writer)
              .send({ policyVersion: '2025-09-28', surface: 'android', trainingChoice: 'granted', plan: 'pro', presentation: { trainingToggleDefault: true, trainingToggleShown: true } }),
          );
        }
        if (i % 4 === 1) results.push(await t.http.post(`/v1/chats/${chat}/flags`).set('authorization', writer).send({ type: 'policy_violation' }));
        if (i % 4 === 2) results.push(await t.http.delete(`/v1/chats/${chat}`).set('authorization', writer));
        statuses.push(...results.map((r) => r.status));
      }
    }

    // A revision that commits late, for certain: a write through the service's own append path
    // (beginUserWrite + ChainAppender, what every audited write uses) that takes its revision and
    // then holds its transaction open while the writers above commit later revisions. On
    // PostgreSQL it waits until a higher revision is visible before committing; the embedded
    // database has one connection, so there it can only pause everyone for a moment.
    let lateRevision: string | null = null;
    let overtaken = false;
    async function lateWriter() {
      await sleep(150);
      await t.db.transaction(async (tx) => {
        const { chain } = await beginUserWrite(tx, { actor: { sub: 'slow-writer', kind: 'service' }, requestId: 'slow-write-1', now: new Date() }, 'late-user');
        const [event] = await chain.append({ type: 'user.plan_changed', data: { plan: 'pro' } });
        lateRevision = event.revision;
        if (t.kind === 'postgres') {
          for (let i = 0; i < 100 && !overtaken; i++) {
            await sleep(10);
            const rows = await t.db.query<{ r: string | null }>('SELECT max(revision)::text AS r FROM audit_events');
            overtaken = rows[0].r !== null && BigInt(rows[0].r) > BigInt(event.revision);
          }
        }
        await sleep(300);
      });
    }

    const startedAt = (await logRevisions()).length;
    const follower = follow({ limits: [7, 50, 13, 100, 1], done: () => !writing });
    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writerLoop(w)), lateWriter()]);
    writing = false;
    const seen = await follower;

    expect(statuses.every((s) => s >= 200 && s < 300), `write statuses: ${[...new Set(statuses)].join(',')}`).toBe(true);
    const log = await logRevisions();
    expect(log.length - startedAt).toBeGreaterThan(WRITERS * ROUNDS * 3);
    const revisions = seen.map((e) => e.revision);
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(revisions).toEqual(log.map((r) => r.revision));
    expect(seen.map((e) => e.hash)).toEqual(log.map((r) => r.hash));
    expect(lateRevision).not.toBeNull();
    expect(revisions).toContain(lateRevision);
    // On PostgreSQL the late revision really was overtaken by later ones committing first.
    if (t.kind === 'postgres') expect(overtaken).toBe(true);
  });

  it('filters by types, and a filtered follower still sees each matching event once', async () => {
    const writer = await t.bearer('consent:write', 'frontend');
    await t.http.put('/v1/users/typed-u/plan').set('authorization', writer).send({ plan: 'pro' }).expect(200);
    await t.http.put('/v1/chats/typed-c').set('authorization', writer).send({ userId: 'typed-u' }).expect(201);
    await t.http.delete('/v1/chats/typed-c').set('authorization', writer).expect(200);

    const types = ['consent.choice_recorded', 'chat.deleted'];
    const seen = await follow({ types: types.join(','), limits: [9, 40], done: () => true });
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen.map((e) => e.type))).toEqual(new Set(types));
    expect(seen.map((e) => e.revision)).toEqual((await logRevisions(types)).map((r) => r.revision));

    const one = await page({ types: 'policy.created' });
    expect(one.items.map((e) => [e.revision, e.type])).toEqual([['1', 'policy.created']]);
    const none = await page({ types: 'no.such.type' });
    expect(none.items).toEqual([]);
    expect(BigInt(none.nextCursor!)).toBeGreaterThanOrEqual(BigInt((await logRevisions()).at(-1)!.revision));
  });

  it('pages with limit: full pages end at their last item, and consecutive pages neither overlap nor skip', async () => {
    const log = (await logRevisions()).map((r) => r.revision);
    expect(log.length).toBeGreaterThan(120);
    const first = await page({ limit: 5 });
    expect(first.items.map((e) => e.revision)).toEqual(log.slice(0, 5));
    expect(first.nextCursor).toBe(log[4]);
    const second = await page({ after: first.nextCursor!, limit: 5 });
    expect(second.items.map((e) => e.revision)).toEqual(log.slice(5, 10));
    expect(second.nextCursor).toBe(log[9]);
    const middle = await page({ after: log[59], limit: 1000 });
    expect(middle.items.map((e) => e.revision)).toEqual(log.slice(60));
    const byDefault = await page({});
    expect(byDefault.items.map((e) => e.revision)).toEqual(log.slice(0, 100));
    expect(byDefault.nextCursor).toBe(log[99]);
    // Through the auditor's scope, the same feed.
    expect((await page({ limit: 5 }, auditor)).items).toEqual(first.items);
  });

  it('refuses an after beyond the newest revision, and malformed paging, with 400', async () => {
    const newest = await newestRevision();
    const atNewest = await page({ after: newest.toString() });
    expect(atNewest.items).toEqual([]);
    expect(BigInt(atNewest.nextCursor!)).toBeGreaterThanOrEqual(newest);
    expectProblem(await feed({ after: (newest + 1n).toString() }), 400, 'VALIDATION_FAILED');
    expectProblem(await feed({ after: (newest + 1000n).toString() }), 400, 'VALIDATION_FAILED');
    expectProblem(await feed({ after: 'abc' }), 400, 'VALIDATION_FAILED');
    expectProblem(await feed({ after: '-1' }), 400, 'VALIDATION_FAILED');
    expectProblem(await feed({ limit: 0 }), 400, 'VALIDATION_FAILED');
    expectProblem(await feed({ limit: 1001 }), 400, 'VALIDATION_FAILED');
    expectProblem(await feed({ limit: 'ten' }), 400, 'VALIDATION_FAILED');
    expectProblem(await feed({}, await t.bearer('consent:write', 'frontend')), 403, 'FORBIDDEN');
    expectProblem(await t.http.get('/v1/audit/events'), 401, 'UNAUTHENTICATED');
  });
});
