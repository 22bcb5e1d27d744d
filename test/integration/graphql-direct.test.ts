import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { FIELDS } from '../helpers/graphql.js';
import { countingStatements } from '../helpers/statements.js';
import { BATCH_SHAPE } from '../../src/graphql/queries.js';

/**
 * Direct answers (src/graphql/direct.ts): the hot reads asked for plain fields skip the executor.
 * Each must be the executor's answer byte for byte. The executor's answer is had by asking the
 * same query with `@include(if: true)` on its root field, which a direct answer never takes, and
 * both are asked at a fixed point (`atRevision`) so that the two agree to the byte. /metrics tells
 * which way a query went (`graphql_direct_answers_total`). The executor's answer is asked twice:
 * graphql-js runs a query the first time, its compiled form (GRAPHQL_JIT) the second.
 */

let t: TestApp;
let pipeline: string;
let reader: string;
let at: string;
let statements: () => number;
const CACHE = 8;

const counterOf = (metrics: string, name: string) => {
  const m = metrics.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  if (m === null) throw new Error(`${name} is not in /metrics`);
  return Number(m[1]);
};
const direct = async () => counterOf((await t.http.get('/metrics')).text, 'graphql_direct_answers_total');

async function post(token: string, body: Record<string, unknown>) {
  const res = await t.http.post('/graphql').set('authorization', token).send(body);
  return { status: res.status, type: res.headers['content-type'], text: res.text };
}

/** A response's body without the request ids its errors carry (each request has its own). */
const withoutRequestIds = (text: string) => text.replace(/"requestId":"[^"]*"/g, '"requestId":"…"');

/** The query as the executor answers it: the root field marked `@include(if: true)`. */
function viaExecutor(query: string, root: string): string {
  const i = query.indexOf(`${root}(`);
  if (i < 0) throw new Error(`${root}( is not in ${query}`);
  const close = query.indexOf(')', i);
  return `${query.slice(0, close + 1)} @include(if: true)${query.slice(close + 1)}`;
}

/** Asks `query` directly and through the executor; they must agree byte for byte, and only the first be direct. */
async function agree(token: string, root: string, query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const before = await direct();
  const fast = await post(token, { query, variables, ...(operationName ? { operationName } : {}) });
  const middle = await direct();
  // Twice: interpreted by graphql-js the first time, compiled (GRAPHQL_JIT) the second.
  const slow = await post(token, { query: viaExecutor(query, root), variables, ...(operationName ? { operationName } : {}) });
  const compiled = await post(token, { query: viaExecutor(query, root), variables, ...(operationName ? { operationName } : {}) });
  expect(compiled.text).toBe(slow.text);
  expect(await direct()).toBe(middle);
  expect(middle, `not answered directly: ${query}`).toBe(before + 1);
  expect(fast.status).toBe(200);
  expect(fast.text).toBe(slow.text);
  expect(fast.status).toBe(slow.status);
  expect(fast.type).toBe(slow.type);
  return JSON.parse(fast.text) as { data: Record<string, any> };
}

beforeAll(async () => {
  t = await startTestApp(
    { GRAPHQL_QUERY_CACHE: String(CACHE), GRAPHQL_JIT: '1' },
    {
      wrapDb: (db) => {
        const c = countingStatements(db);
        statements = c.count;
        return c.db;
      },
    },
  );
  const writer = await t.bearer('consent:write', 'frontend');
  pipeline = await t.bearer('training:read', 'pipeline');
  reader = await t.bearer('consent:read', 'support');
  for (const [u, choice] of [['direct-a', 'granted'], ['direct-b', 'denied'], ['direct-c:x@y.z', 'granted']] as const) {
    await t.http.put(`/v1/users/${encodeURIComponent(u)}/plan`).set('authorization', writer).send({ plan: 'pro' }).expect(200);
    await t.http.put(`/v1/users/${encodeURIComponent(u)}/training-consent`).set('authorization', writer).send({ choice, surface: 'web' }).expect(200);
    await t.http.put(`/v1/chats/${encodeURIComponent(`chat-${u}`)}`).set('authorization', writer).send({ userId: u }).expect(201);
  }
  await t.http.put('/v1/users/direct-team/plan').set('authorization', writer).send({ plan: 'team' }).expect(200);
  await t.http.put('/v1/chats/chat-direct-team').set('authorization', writer).send({ userId: 'direct-team' }).expect(201);
  await t.http.put('/v1/chats/chat-direct-incognito').set('authorization', writer).send({ userId: 'direct-a', incognito: true }).expect(201);
  await t.http.put('/v1/chats/chat-direct-gone').set('authorization', writer).send({ userId: 'direct-a' }).expect(201);
  const gone = await t.http.delete('/v1/chats/chat-direct-gone').set('authorization', writer);
  expect(gone.status).toBeLessThan(300);
  at = (await t.http.get('/v1/chats/chat-direct-a/training-eligibility').set('authorization', pipeline).expect(200)).body.revision;
});
afterAll(async () => t?.close());

const IDS = ['chat-direct-b', 'chat-none', 'chat-direct-a', 'chat-direct-incognito', 'chat-direct-c:x@y.z', 'chat-direct-gone', 'chat-direct-team', 'chat-direct-b'];
const DECISION = FIELDS.decision.split(' ');

describe('direct answers of GraphQL reads', () => {
  it('a batch asked in the REST body\'s shape is the REST body, written as bytes, inside the GraphQL envelope', async () => {
    const query = `query($ids: [ID!]!, $r: Revision) { trainingEligibilityBatch(chatIds: $ids, atRevision: $r) { asOf revision results { ${FIELDS.decision} } } }`;
    const body = await agree(pipeline, 'trainingEligibilityBatch', query, { ids: IDS, r: at });
    const rest = await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds: IDS, atRevision: at }).expect(200);
    expect(body.data.trainingEligibilityBatch).toEqual(rest.body);
    expect(new Set(rest.body.results.map((d: { reason: string }) => d.reason)).size).toBeGreaterThanOrEqual(5);
    // Aliased at the root, with literal arguments, by operation name.
    await agree(pipeline, 'trainingEligibilityBatch', `query Named { mine: trainingEligibilityBatch(chatIds: ${JSON.stringify(IDS)}, atRevision: "${at}") { asOf revision results { ${FIELDS.decision} } } }`, {}, 'Named');
    // At a time rather than a revision.
    const asOf = rest.body.asOf;
    await agree(pipeline, 'trainingEligibilityBatch', `query($ids: [ID!]!, $t: DateTime) { trainingEligibilityBatch(chatIds: $ids, asOf: $t) { asOf revision results { ${FIELDS.decision} } } }`, { ids: IDS, t: asOf });
  });

  it('single reads and other selections are written from the resolver\'s value as the executor writes them', async () => {
    await agree(pipeline, 'trainingEligibility', `query($id: ID!, $r: Revision) { trainingEligibility(chatId: $id, atRevision: $r) { ${FIELDS.decision} } }`, { id: 'chat-direct-a', r: at });
    await agree(pipeline, 'trainingEligibility', `{ e: trainingEligibility(chatId: "chat-direct-c:x@y.z", atRevision: "${at}") { __typename eligible why: reason chatId } }`);
    const consent = await agree(reader, 'trainingConsent', `query($id: ID!, $r: Revision) { trainingConsent(userId: $id, atRevision: $r) { ${FIELDS.consent} etag } }`, { id: 'direct-b', r: at });
    expect(consent.data.trainingConsent.choice).toBe('denied');
    const nobody = await agree(reader, 'trainingConsent', `query($id: ID!, $r: Revision) { trainingConsent(userId: $id, atRevision: $r) { choice } }`, { id: 'direct-nobody', r: at });
    expect(nobody.data.trainingConsent).toBeNull();
    await agree(pipeline, 'trainingEligibilityBatch', `query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids, atRevision: "${at}") { revision results { __typename chatId eligible } } }`, { ids: IDS });
  });

  it('any selection of a decision\'s fields, in any order, aliased or not, matches the executor', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 25; round++) {
      const fields = [...DECISION, '__typename'].filter(() => rand(3) > 0);
      if (fields.length === 0) fields.push('chatId');
      for (let i = fields.length - 1; i > 0; i--) {
        const j = rand(i + 1);
        [fields[i], fields[j]] = [fields[j], fields[i]];
      }
      const selection = fields.map((f, i) => (rand(4) === 0 ? `x${i}: ${f}` : f)).join(' ');
      const head = rand(2) === 0 ? 'asOf revision' : 'revision';
      await agree(pipeline, 'trainingEligibilityBatch', `query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids, atRevision: "${at}") { ${head} results { ${selection} } } }`, { ids: IDS });
    }
  });

  it('what a direct answer cannot give exactly goes to the executor, which answers as before', async () => {
    // `same`: a direct answer was tried and its resolver failed; the executor's answer is the
    // same error, whichever way the query came in.
    const cases: { token: string; query: string; variables?: Record<string, unknown>; code?: string; same?: boolean }[] = [
      // Fragments, two root fields, a field with a loader below: planned as not direct.
      { token: pipeline, query: `query { trainingEligibility(chatId: "chat-direct-a") { ...D } } fragment D on EligibilityDecision { chatId eligible }` },
      { token: pipeline, query: '{ a: trainingEligibility(chatId: "chat-direct-a") { eligible } b: trainingEligibility(chatId: "chat-direct-b") { eligible } }' },
      { token: reader, query: '{ chat(chatId: "chat-direct-a") { chatId user { userId } } }' },
      // Variables that do not coerce, arguments the resolver refuses, a scope that is refused.
      { token: pipeline, query: 'query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { revision } }', variables: { ids: [{ no: 1 }] }, code: 'VALIDATION_FAILED' },
      { token: pipeline, query: 'query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { revision } }', variables: { ids: [] }, code: 'VALIDATION_FAILED', same: true },
      { token: pipeline, query: `query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { ${BATCH_SHAPE} } }`, variables: { ids: [] }, code: 'VALIDATION_FAILED', same: true },
      { token: pipeline, query: '{ trainingEligibility(chatId: "chat-direct-a", asOf: "yesterday") { eligible } }', code: 'VALIDATION_FAILED', same: true },
      { token: reader, query: '{ trainingEligibility(chatId: "chat-direct-a") { eligible } }', code: 'FORBIDDEN', same: true },
      { token: pipeline, query: '{ trainingConsent(userId: "direct-a") { choice } }', code: 'FORBIDDEN', same: true },
      { token: pipeline, query: '{ trainingEligibility(chatId: "chat-direct-a") { nope } }', code: 'VALIDATION_FAILED' },
    ];
    for (const c of cases) {
      const before = await direct();
      const res = await post(c.token, { query: c.query, variables: c.variables ?? {} });
      expect(await direct(), c.query).toBe(before);
      const body = JSON.parse(res.text);
      if (c.code === undefined) {
        expect(res.status).toBe(200);
        expect(body.errors, res.text).toBeUndefined();
      } else {
        expect(body.errors?.[0]?.extensions?.code, res.text).toBe(c.code);
      }
      if (c.same) {
        const executor = await post(c.token, { query: viaExecutor(c.query, c.query.includes('Batch') ? 'trainingEligibilityBatch' : c.query.includes('Consent') ? 'trainingConsent' : 'trainingEligibility'), variables: c.variables ?? {} });
        expect(executor.status).toBe(res.status);
        expect(withoutRequestIds(res.text)).toEqual(withoutRequestIds(executor.text));
      }
    }
  });

  it('a read that fails is not read again: the executor answers with the failure the direct answer met', async () => {
    // A revision beyond the newest: the resolver reads before it refuses.
    const query = 'query($id: ID!) { trainingEligibility(chatId: $id, atRevision: "999999999") { eligible } }';
    // Each request starts past the few milliseconds a settled revision is reused for, so that both
    // settle as many times: the counts differ only by what is read again.
    const stale = () => new Promise((resolve) => setTimeout(resolve, 50));
    const before = await direct();
    await stale();
    const s0 = statements();
    const tried = await post(pipeline, { query, variables: { id: 'chat-direct-a' } });
    const s1 = statements();
    await stale();
    const executor = await post(pipeline, { query: viaExecutor(query, 'trainingEligibility'), variables: { id: 'chat-direct-a' } });
    const s2 = statements();
    expect(await direct()).toBe(before);
    expect(JSON.parse(tried.text).errors[0].extensions.code, tried.text).toBe('VALIDATION_FAILED');
    expect(s1 - s0).toBeGreaterThan(0);
    expect(s1 - s0).toBe(s2 - s1);
    expect(tried.status).toBe(executor.status);
    expect(withoutRequestIds(tried.text)).toEqual(withoutRequestIds(executor.text));
  });

  it('a query sent by its hash alone (automatic persisted queries) is answered as its text is, once it is kept', async () => {
    const query = `query($id: ID!) { trainingEligibility(chatId: $id, atRevision: "${at}") { ${FIELDS.decision} } }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const variables = { id: 'chat-direct-a' };
    const unknown = await post(pipeline, { extensions, variables });
    // As the protocol has it, the client is told to send the text too (status 200, as mercurius answers).
    expect(unknown.status).toBe(200);
    expect(JSON.parse(unknown.text).errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    // Sent with its text, the query is mercurius's to check against its hash and keep.
    const before = await direct();
    const kept = await post(pipeline, { query, extensions, variables });
    expect(kept.status).toBe(200);
    expect(await direct()).toBe(before);
    const byHash = await post(pipeline, { extensions, variables });
    expect(await direct()).toBe(before + 1);
    expect(byHash.text).toBe(kept.text);
    expect(byHash.type).toBe(kept.type);
    // Another variable, and a hash that is not the text's.
    expect(JSON.parse((await post(pipeline, { extensions, variables: { id: 'chat-direct-b' } })).text).data.trainingEligibility.chatId).toBe('chat-direct-b');
    const mismatch = await post(pipeline, { query, extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } }, variables });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain('provided sha does not match query');
    // The store is bounded as the plans are, and reported beside them.
    for (let i = 0; i < CACHE * 2; i++) {
      const q = `{ policies { version v${i}: version } }`;
      const res = await post(pipeline, { query: q, extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(q).digest('hex') } } });
      expect(res.status).toBe(200);
    }
    const metrics = (await t.http.get('/metrics')).text;
    expect(metrics).toMatch(new RegExp(`^consent_cache_entries\\{cache="graphql_persisted_queries"\\} ${CACHE}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^consent_cache_max_entries\\{cache="graphql_persisted_queries"\\} ${CACHE}$`, 'm'));
    // The first query was the oldest: it is out, and its hash alone is not found again.
    expect((await post(pipeline, { extensions, variables })).text).toContain('PersistedQueryNotFound');
  });

  it('its plans are bounded by GRAPHQL_QUERY_CACHE and reported in /metrics', async () => {
    for (let i = 0; i < CACHE * 2; i++) {
      const res = await post(pipeline, { query: `{ trainingEligibility(chatId: "chat-direct-a") { chatId eligible c${i}: reason } }` });
      expect(JSON.parse(res.text).data.trainingEligibility[`c${i}`]).toBe('user_choice');
    }
    const metrics = (await t.http.get('/metrics')).text;
    const entries = Number(metrics.match(/^consent_cache_entries\{cache="graphql_direct_plans"\} (\d+)$/m)?.[1]);
    expect(entries).toBe(CACHE);
    expect(metrics).toMatch(new RegExp(`^consent_cache_max_entries\\{cache="graphql_direct_plans"\\} ${CACHE}$`, 'm'));
  });
});
