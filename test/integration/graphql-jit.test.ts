import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { FIELDS, graphql, USER_FIELDS } from '../helpers/graphql.js';

/**
 * A query is run by graphql-js the first time and by its compiled form (graphql-jit, GRAPHQL_JIT
 * runs later) after that: both must answer alike, data, errors, codes and HTTP status, whatever
 * the query does (nested loaders, nulls for unknown ids, errors of resolvers, bad variables,
 * scope refusals).
 */

let t: TestApp;
let tokens: Record<string, string>;
let revision: string;

beforeAll(async () => {
  t = await startTestApp({ GRAPHQL_JIT: '1' });
  const writer = await t.bearer('consent:write', 'frontend');
  tokens = {
    reader: await t.bearer('consent:read', 'support'),
    pipeline: await t.bearer('training:read', 'pipeline'),
    auditor: await t.bearer('audit:read', 'auditor'),
    self: await t.bearer('consent:self', 'jit-a'),
  };
  for (const u of ['jit-a', 'jit-b']) {
    await t.http.put(`/v1/users/${u}/plan`).set('authorization', writer).send({ plan: 'pro' }).expect(200);
    await t.http.put(`/v1/users/${u}/training-consent`).set('authorization', writer).send({ choice: u === 'jit-a' ? 'granted' : 'denied', surface: 'web' }).expect(200);
    await t.http.put(`/v1/chats/chat-${u}`).set('authorization', writer).send({ userId: u }).expect(201);
  }
  const incognito = await t.http.put('/v1/chats/chat-jit-incognito').set('authorization', writer).send({ userId: 'jit-a', incognito: true }).expect(201);
  revision = incognito.body.revision;
});
afterAll(async () => t?.close());

/** What may differ between two runs of one query: the time it was answered at, and the request's id. */
function steady(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(steady);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== 'asOf' && k !== 'requestId')
      .map(([k, v]) => [k, steady(v)]),
  );
}

const CASES: { name: string; token: keyof typeof tokens; query: string; variables?: Record<string, unknown> }[] = [
  { name: 'consent with variables', token: 'reader', query: `query($id: ID!) { trainingConsent(userId: $id) { ${FIELDS.consent} etag } }`, variables: { id: 'jit-a' } },
  { name: 'consent of an unknown user', token: 'reader', query: `query($id: ID!) { trainingConsent(userId: $id) { ${FIELDS.consent} } }`, variables: { id: 'jit-nobody' } },
  // `r: 'seeded'` stands for the revision the seeding ended at, known once it ran.
  { name: 'consent at a revision', token: 'reader', query: `query($id: ID!, $r: Revision) { trainingConsent(userId: $id, atRevision: $r) { ${FIELDS.consent} } }`, variables: { id: 'jit-b', r: 'seeded' } },
  { name: 'eligibility, literal arguments', token: 'pipeline', query: `{ a: trainingEligibility(chatId: "chat-jit-a") { ${FIELDS.decision} } b: trainingEligibility(chatId: "chat-jit-incognito") { ${FIELDS.decision} } }` },
  { name: 'batch with unknown and repeated ids', token: 'pipeline', query: `query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { revision results { ${FIELDS.decision} } } }`, variables: { ids: ['chat-jit-b', 'chat-none', 'chat-jit-a', 'chat-jit-b'] } },
  { name: 'nested user, chats and their eligibility', token: 'reader', query: `{ user(userId: "jit-a") { ${USER_FIELDS} chats(first: 10) { items { ${FIELDS.chat} } } } }` },
  { name: 'a chat and its user', token: 'reader', query: `{ chat(chatId: "chat-jit-b") { ${FIELDS.chat} user { userId plan } } }` },
  { name: 'policies', token: 'reader', query: `{ policies { ${FIELDS.policy} } policy(version: "nope") { version } }` },
  { name: 'a user\'s audit events', token: 'auditor', query: `{ auditEvents(userId: "jit-a", first: 2) { items { ${FIELDS.event} } } }` },
  { name: 'the change feed with types', token: 'auditor', query: `query($after: Revision) { changeFeed(after: $after, first: 3, types: ["chat.registered"]) { items { revision type chatId } } }`, variables: { after: '0' } },
  { name: 'statistics', token: 'auditor', query: '{ consentStatistics { revision } }' },
  { name: 'a resolver\'s validation error beside data', token: 'pipeline', query: `{ ok: trainingEligibility(chatId: "chat-jit-a") { eligible } bad: trainingEligibility(chatId: "chat-jit-a", asOf: "yesterday") { eligible } }` },
  { name: 'a revision beyond the newest', token: 'reader', query: `query($r: Revision) { trainingConsent(userId: "jit-a", atRevision: $r) { choice } }`, variables: { r: '999999999' } },
  { name: 'another user under consent:self', token: 'self', query: '{ a: trainingConsent(userId: "jit-a") { choice } b: trainingConsent(userId: "jit-b") { choice } }' },
  { name: 'a field outside the scope', token: 'reader', query: '{ trainingEligibility(chatId: "chat-jit-a") { eligible } }' },
  { name: 'a variable of the wrong type', token: 'reader', query: 'query($id: ID!) { trainingConsent(userId: $id) { choice } }', variables: { id: { nested: true } } },
  { name: 'a missing variable', token: 'reader', query: 'query($id: ID!) { trainingConsent(userId: $id) { choice } }', variables: {} },
];

describe('compiled queries (GRAPHQL_JIT)', () => {
  it.each(CASES)('answer as the first, interpreted run did: $name', async ({ token, query, variables }) => {
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await graphql(t, tokens[token], query, { ...variables, ...(variables?.r === 'seeded' ? { r: revision } : {}) }));
    for (const run of runs.slice(1)) {
      expect(run.status).toBe(runs[0].status);
      expect(steady(run.body)).toEqual(steady(runs[0].body));
    }
  });

});
