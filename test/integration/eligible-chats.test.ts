import type { IncomingMessage } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * GET /v1/training-eligibility/eligible-chats (SPEC §2 "Training eligibility"): NDJSON, one
 * `{ chatId, userId, retentionUntil }` per line, ordered by chatId in byte order (C collation),
 * every chat eligible at one point, streamed with flat memory however many there are.
 */

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Byte order of ASCII identifiers: what PostgreSQL's C collation gives, and JS's default sort. */
const byteOrder = (ids: readonly string[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

interface Line {
  chatId: string;
  userId: string;
  retentionUntil: string | null;
}

/** Buffers the NDJSON body as text (superagent does not buffer unknown types by itself). */
function text(response: unknown, done: (err: Error | null, body: string) => void) {
  const res = response as IncomingMessage; // superagent hands the parser node's response stream
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (body += chunk));
  res.on('end', () => done(null, body));
  res.on('error', (err) => done(err, body));
}

function parseLines(body: string): Line[] {
  if (body === '') return [];
  expect(body.endsWith('\n')).toBe(true);
  return body
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

function expectProblem(res: { status: number; headers: Record<string, string>; body: unknown }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

describe('the eligible-chats stream', () => {
  let t: TestApp;
  let writer: string;
  let pipeline: string;
  /** Eligible chat -> owner and last activity. */
  const eligible = new Map<string, { userId: string; last: number }>();
  const ineligible: string[] = [];

  const stream = (query: Record<string, string | number> = {}) =>
    t.http.get('/v1/training-eligibility/eligible-chats').query(query).set('authorization', pipeline).buffer(true).parse(text);

  async function lines(query: Record<string, string | number> = {}): Promise<{ lines: Line[]; revision: string; asOf: string; body: string }> {
    const res = await stream(query);
    expect(res.status, String(res.body).slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(res.headers['consent-revision']).toMatch(/^\d+$/);
    return {
      lines: parseLines(res.body as string),
      revision: res.headers['consent-revision'],
      asOf: res.headers['consent-as-of'],
      body: res.body as string,
    };
  }

  async function register(chatId: string, userId: string, extra: Record<string, unknown> = {}) {
    const res = await t.http.put(`/v1/chats/${chatId}`).set('authorization', writer).send({ userId, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return Date.parse(res.body.createdAt);
  }

  async function setUp(userId: string, plan: string, choice?: 'granted' | 'denied') {
    await t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan }).expect(200);
    if (choice) await t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', writer).send({ choice, surface: 'ios' }).expect(200);
  }

  // Upper and lower case, digits and punctuation: byte order ('Z' < '_' < 'a') differs from a
  // locale's order, which interleaves cases and ignores punctuation.
  const ELIGIBLE_IDS = ['alpha', 'Alpha', 'ALPHA', 'a.b', 'a-b', 'a_b', 'a:b', 'a@b', 'B2', 'b1', '0zero', '9nine', 'Zeta', 'zeta', 'm@x', 'M@x', 'm_x', 'm-x', 'x.9', 'x:0'];

  beforeAll(async () => {
    t = await startTestApp();
    writer = await t.bearer('consent:write', 'frontend');
    pipeline = await t.bearer('training:read', 'pipeline');
    await setUp('e-yes', 'pro', 'granted');
    await setUp('e-def', 'free');
    await setUp('e-no', 'pro', 'denied');
    await setUp('e-team', 'team', 'granted');
    for (const [i, id] of ELIGIBLE_IDS.entries()) {
      const userId = i % 2 === 0 ? 'e-yes' : 'e-def';
      eligible.set(id, { userId, last: await register(id, userId) });
    }
    await register('a-incognito', 'e-yes', { incognito: true });
    await register('B-deleted', 'e-yes');
    await t.http.delete('/v1/chats/B-deleted').set('authorization', writer).expect(200);
    await register('b-optout', 'e-no');
    await register('C-team', 'e-team');
    await register('c-noplan', 'e-nobody');
    await register('a-predates', 'e-yes', { createdAt: '2026-01-01T00:00:00.000Z' });
    ineligible.push('a-incognito', 'B-deleted', 'b-optout', 'C-team', 'c-noplan', 'a-predates');
  });
  afterAll(async () => t?.close());

  it('lists exactly the eligible chats, one JSON object a line, in byte order of chatId', async () => {
    const expected = byteOrder([...eligible.keys()]);
    // The fixture is only a test of byte order if a locale would order it differently.
    expect([...expected].sort((a, b) => a.localeCompare(b, 'en'))).not.toEqual(expected);

    const { lines: got } = await lines();
    expect(got.map((l) => l.chatId)).toEqual(expected);
    for (const line of got) {
      const { userId, last } = eligible.get(line.chatId)!;
      expect(line).toEqual({ chatId: line.chatId, userId, retentionUntil: iso(last + 1825 * DAY) });
    }
    for (const id of ineligible) expect(got.map((l) => l.chatId)).not.toContain(id);
  });

  it('pages with after and limit, in the same order', async () => {
    const { lines: all, revision } = await lines();
    const ids = all.map((l) => l.chatId);
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await lines({ atRevision: revision, limit: 3, ...(after ? { after } : {}) });
      expect(page.lines.length).toBeLessThanOrEqual(3);
      if (page.lines.length === 0) break;
      paged.push(...page.lines.map((l) => l.chatId));
      after = page.lines.at(-1)!.chatId;
    }
    expect(paged).toEqual(ids);

    // `after` need not name a chat; it is compared in byte order too.
    expect((await lines({ after: 'a' })).lines.map((l) => l.chatId)).toEqual(ids.filter((id) => id > 'a'));
    expect((await lines({ after: 'Z' })).lines.map((l) => l.chatId)).toEqual(ids.filter((id) => id > 'Z'));
    expect((await lines({ after: ids.at(-1)! })).lines).toEqual([]);
    expect((await lines({ limit: 1 })).lines.map((l) => l.chatId)).toEqual([ids[0]]);
    expect((await lines({ after: 'a-b', limit: 2 })).lines.map((l) => l.chatId)).toEqual(ids.filter((id) => id > 'a-b').slice(0, 2));
  });

  it('answers the same chats at a revision after later writes', async () => {
    const first = await lines();
    const atR = await lines({ atRevision: first.revision });
    expect(atR.revision).toBe(first.revision);
    expect(atR.body).toBe(first.body);

    // Later writes that change the present: a deletion, an opt-out, a plan change, new chats, a
    // flag, and activity reported now but dated just before the revision's time (recorded after
    // the revision, so it must not count there): it resumes a-predates and moves x.9's retention.
    const pointTime = Date.parse(atR.asOf);
    expect(pointTime).toBeGreaterThan(eligible.get('x.9')!.last + 1);
    await t.http.delete('/v1/chats/alpha').set('authorization', writer).expect(200);
    await t.http.put('/v1/users/e-def/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'web' }).expect(200);
    await register('a-new', 'e-yes');
    await register('Zz-new', 'e-yes');
    await t.http.post('/v1/chats/a-predates/activity').set('authorization', writer).send({ at: iso(pointTime - 1) }).expect(204);
    await t.http.post('/v1/chats/x.9/activity').set('authorization', writer).send({ at: iso(pointTime - 1) }).expect(204);
    await t.http.post('/v1/chats/a.b/flags').set('authorization', writer).send({ type: 'policy_violation' }).expect(200);
    await setUp('e-yes', 'max');

    const now = await lines();
    expect(now.body).not.toBe(first.body);
    expect(now.lines.map((l) => l.chatId)).toEqual(expect.arrayContaining(['a-new', 'Zz-new', 'a-predates']));
    expect(now.lines.map((l) => l.chatId)).not.toContain('alpha');
    expect(now.lines.find((l) => l.chatId === 'x.9')?.retentionUntil).toBe(iso(pointTime - 1 + 1825 * DAY));

    const again = await lines({ atRevision: first.revision });
    expect(again.revision).toBe(first.revision);
    expect(again.body).toBe(first.body);
    // Paging at the revision agrees too.
    const tail = await lines({ atRevision: first.revision, after: 'Zeta', limit: 4 });
    expect(tail.lines).toEqual(first.lines.filter((l) => l.chatId > 'Zeta').slice(0, 4));
  });

  it('validates its query', async () => {
    const get = (query: Record<string, string>) => t.http.get('/v1/training-eligibility/eligible-chats').query(query).set('authorization', pipeline);
    expectProblem(await get({ after: '-bad' }), 400, 'VALIDATION_FAILED');
    expectProblem(await get({ limit: '0' }), 400, 'VALIDATION_FAILED');
    expectProblem(await get({ limit: 'many' }), 400, 'VALIDATION_FAILED');
    expectProblem(await get({ asOf: iso(Date.now() + 60_000) }), 400, 'VALIDATION_FAILED');
    expectProblem(await get({ asOf: iso(Date.now() - 60_000), atRevision: '1' }), 400, 'VALIDATION_FAILED');
    expectProblem(await get({ atRevision: '999999999' }), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.get('/v1/training-eligibility/eligible-chats').set('authorization', writer), 403, 'FORBIDDEN');
  });
});

describe('a stream over 100,000 chats', () => {
  const ELIGIBLE = 100_000;
  const INELIGIBLE = 10_000;
  let t: TestApp;
  let pipeline: string;
  let seededAt: number;
  let expected: string[];

  beforeAll(async () => {
    t = await startTestApp();
    const writer = await t.bearer('consent:write', 'frontend');
    pipeline = await t.bearer('training:read', 'pipeline');
    const owners = Array.from({ length: 8 }, (_, i) => `bulk-u${i}`);
    for (const u of owners) {
      await t.http.put(`/v1/users/${u}/plan`).set('authorization', writer).send({ plan: 'pro' }).expect(200);
      await t.http.put(`/v1/users/${u}/training-consent`).set('authorization', writer).send({ choice: 'granted', surface: 'web' }).expect(200);
    }
    await t.http.put('/v1/users/bulk-no/plan').set('authorization', writer).send({ plan: 'pro' }).expect(200);
    await t.http.put('/v1/users/bulk-no/training-consent').set('authorization', writer).send({ choice: 'denied', surface: 'web' }).expect(200);
    await sleep(5);
    seededAt = Date.now();

    // Mixed case, digits and punctuation, so that byte order is not insertion or locale order.
    const heads = ['A', 'a', 'B', 'b', 'Z', 'z', '0', '9', 'M', 'm'];
    const marks = ['.', '-', '_', ':', '@'];
    const id = (i: number) => `${heads[i % heads.length]}${marks[(i >> 3) % marks.length]}${i.toString(36)}`;
    const rows: { chatId: string; userId: string; incognito: boolean }[] = [];
    for (let i = 0; i < ELIGIBLE + INELIGIBLE; i++) {
      if (i < ELIGIBLE) rows.push({ chatId: id(i), userId: owners[i % owners.length], incognito: false });
      else if (i % 2 === 0) rows.push({ chatId: id(i), userId: 'bulk-no', incognito: false });
      else rows.push({ chatId: id(i), userId: owners[i % owners.length], incognito: true });
    }
    expected = byteOrder(rows.slice(0, ELIGIBLE).map((r) => r.chatId));
    expect(new Set(expected).size).toBe(ELIGIBLE);

    // Fixture shortcut: registering 110,000 chats through the API takes too long, so they are
    // written in bulk in the shape ChatService.register writes (a chats row with a registered
    // revision from revision_seq, and a chat_activity row at creation under the same revision),
    // without their chat.registered audit events. Their owners' consent went through the API.
    for (let start = 0; start < rows.length; start += 10_000) {
      const chunk = rows.slice(start, start + 10_000);
      await t.db.query(
        `WITH x AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS x(chat_id, user_id, incognito)),
              ins AS (INSERT INTO chats (chat_id, user_id, created_at, incognito, registered_at, registered_revision)
                      SELECT chat_id, user_id, $4::timestamptz, incognito::boolean, $4::timestamptz, nextval('revision_seq') FROM x
                      RETURNING chat_id, registered_revision)
         INSERT INTO chat_activity (chat_id, revision, at, recorded_at) SELECT chat_id, registered_revision, $4::timestamptz, $4::timestamptz FROM ins`,
        [chunk.map((r) => r.chatId), chunk.map((r) => r.userId), chunk.map((r) => String(r.incognito)), iso(seededAt)],
      );
    }
    const count = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM chats');
    expect(Number(count[0].n)).toBe(ELIGIBLE + INELIGIBLE);
  }, 120_000);
  afterAll(async () => t?.close());

  it('streams every eligible chat once, in byte order, read slowly, with flat server memory', async () => {
    const retention = iso(seededAt + 1825 * DAY);
    const state = { index: 0, mismatches: [] as string[], partial: '', lines: 0, chunks: 0, bytes: 0 };
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    const sample = () => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    };

    // Live heap (after a full collection) at points along the stream: what the server holds on to,
    // as opposed to garbage not collected yet. A server that buffered the whole answer would hold
    // every row here; one that streams holds a page or two.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const liveBase = process.memoryUsage().heapUsed;
    let livePeak = liveBase;
    const liveSamples: number[] = [];

    const check = (line: string) => {
      state.lines++;
      const parsed = JSON.parse(line) as Line;
      const want = expected[state.index++];
      if (state.mismatches.length < 5 && (parsed.chatId !== want || parsed.retentionUntil !== retention || !/^bulk-u\d$/.test(parsed.userId))) {
        state.mismatches.push(`line ${state.lines}: ${line} (expected ${want})`);
      }
    };

    const res = await t.http
      .get('/v1/training-eligibility/eligible-chats')
      .set('authorization', pipeline)
      .buffer(true)
      .parse((response: unknown, done: (err: Error | null, body: unknown) => void) => {
        const stream = response as IncomingMessage;
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          state.chunks++;
          state.bytes += Buffer.byteLength(chunk);
          const parts = (state.partial + chunk).split('\n');
          state.partial = parts.pop()!;
          for (const p of parts) check(p);
          sample();
          if (state.chunks % 15 === 1) {
            gc();
            const live = process.memoryUsage().heapUsed;
            liveSamples.push(live - liveBase);
            livePeak = Math.max(livePeak, live);
          }
          // A slow consumer: the server must wait for it rather than read ahead into memory.
          stream.pause();
          setTimeout(() => stream.resume(), 5);
        });
        stream.on('end', () => done(null, null));
        stream.on('error', (err) => done(err, null));
      });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(state.partial).toBe('');
    expect(state.mismatches).toEqual([]);
    expect(state.lines).toBe(ELIGIBLE);
    expect(state.index).toBe(expected.length);
    expect(state.chunks).toBeGreaterThan(10);
    const MB = 1024 * 1024;
    console.info(
      `eligible-chats 100k: ${state.chunks} chunks; rss growth ${((peakRss - base.rss) / MB).toFixed(1)} MB, heap growth ${((peakHeap - base.heapUsed) / MB).toFixed(1)} MB, ` +
        `live heap growth ${liveSamples.map((b) => (b / MB).toFixed(1)).join(' ')} MB; body ${(state.bytes / MB).toFixed(1)} MB`,
    );
    expect(peakHeap - base.heapUsed).toBeLessThan(150 * MB);
    expect(peakRss - base.rss).toBeLessThan(150 * MB);
    // Streaming holds about a page at a time (under 2 MB measured); holding the whole answer, or
    // the rows behind it, needs at least the answer's own size (about 7.5 MB here).
    expect(liveSamples.length).toBeGreaterThan(5);
    expect(livePeak - liveBase).toBeLessThan(state.bytes);
  });
});
