import { getIntrospectionQuery } from 'graphql';
import { graphqlJs } from '../../src/graphql/graphql-js.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaSdl } from '../../src/graphql/schema.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { badCredentials } from '../helpers/bad-credentials.js';
import { codes, data, FIELDS, graphql } from '../helpers/graphql.js';
import { countingStatements } from '../helpers/statements.js';

/**
 * SPEC §5 "Authentication" and errors through GraphQL: bad tokens are HTTP 401, scope and `sub`
 * rules as over REST, the catalogue's codes in `extensions.code`, internals never told; limits
 * refuse a query before it runs; nested fields cost a constant number of statements.
 */

let t: TestApp;
let statements: () => number;
let writer: string;
let selfA: string;
let reader: string;
let pipeline: string;
let auditor: string;

beforeAll(async () => {
  t = await startTestApp({}, {
    wrapDb: (db) => {
      const c = countingStatements(db);
      statements = c.count;
      return c.db;
    },
  });
  writer = await t.bearer('consent:write', 'frontend');
  selfA = await t.bearer('consent:self', 'owner-a');
  reader = await t.bearer('consent:read', 'support');
  pipeline = await t.bearer('training:read', 'pipeline');
  auditor = await t.bearer('audit:read', 'auditor');
  for (const u of ['owner-a', 'owner-b']) {
    await t.http.put(`/v1/users/${u}/training-consent`).set('authorization', writer).send({ choice: 'granted', surface: 'web' }).expect(200);
    await t.http.put(`/v1/users/${u}/plan`).set('authorization', writer).send({ plan: 'pro' }).expect(200);
    await t.http.put(`/v1/chats/chat-${u}`).set('authorization', writer).send({ userId: u }).expect(201);
  }
});
afterAll(async () => t?.close());

const eventCount = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events'))[0].n;

describe('tokens', () => {
  it('every kind of bad credential is HTTP 401 with UNAUTHENTICATED, for queries and mutations alike', async () => {
    const before = await eventCount();
    for (const bad of badCredentials(t.keys)) {
      const header = await bad.header();
      for (const query of ['{ policies { version } }', 'mutation { setPlan(userId: "victim", plan: pro) { userId } }']) {
        const res = await graphql(t, header, query);
        expect(res.status, `${bad.kind}: ${query}`).toBe(401);
        expect(res.body.data, bad.kind).toBeNull();
        expect(res.body.errors!.map((e) => e.extensions.code), bad.kind).toEqual(['UNAUTHENTICATED']);
      }
    }
    expect(await eventCount()).toBe(before);
  });

  it('a query over GET needs a token as over POST; a POST without one is 401 before its body is read', async () => {
    const query = encodeURIComponent('{ policies { version } }');
    const unauthenticated = await t.http.get(`/graphql?query=${query}`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
    const ok = await t.http.get(`/graphql?query=${query}`).set('authorization', pipeline);
    expect(ok.status).toBe(200);
    expect(ok.body.data.policies.length).toBeGreaterThan(0);
    // A body that does not parse: with a token it is a 400, without one the token is what is refused.
    const malformed = (token: string | null) => {
      const req = t.http.post('/graphql').set('content-type', 'application/json');
      return (token === null ? req : req.set('authorization', token)).send('{"query": ');
    };
    expect((await malformed(pipeline)).status).toBe(400);
    const refused = await malformed(null);
    expect(refused.status).toBe(401);
    expect(refused.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('introspection needs a token too; GraphiQL, the page, is public', async () => {
    expect((await graphql(t, null, '{ __schema { queryType { name } } }')).status).toBe(401);
    expect((await data(t, pipeline, '{ __schema { queryType { name } } }')).__schema.queryType.name).toBe('Query');
    const page = await t.http.get('/graphiql');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<html/i);
  });
});

describe('scopes and sub, as over REST', () => {
  const forbidden: [string, () => string, string][] = [
    ['a consent:self token reads another user', () => selfA, '{ user(userId: "owner-b") { userId } }'],
    ['a consent:self token reads another consent', () => selfA, '{ trainingConsent(userId: "owner-b") { effective } }'],
    ['a consent:self token reads another user\'s acceptances', () => selfA, '{ termsAcceptances(userId: "owner-b") { acceptanceId } }'],
    ['a consent:self token reads another user\'s chat', () => selfA, '{ chat(chatId: "chat-owner-b") { chatId } }'],
    ['a consent:self token reads another user\'s events', () => selfA, '{ auditEvents(userId: "owner-b") { nextCursor } }'],
    ['a consent:self token sets another consent', () => selfA, 'mutation { setTrainingConsent(userId: "owner-b", choice: denied, surface: web) { effective } }'],
    ['a consent:self token accepts for another', () => selfA, 'mutation { acceptTerms(userId: "owner-b", input: { policyVersion: "2025-09-28", surface: web, presentation: { trainingToggleDefault: true, trainingToggleShown: true } }) { revision } }'],
    ['a consent:self token registers a chat for another', () => selfA, 'mutation { registerChat(chatId: "stolen", userId: "owner-b") { chatId } }'],
    ['a consent:self token reports activity on another\'s chat', () => selfA, 'mutation { reportChatActivity(chatId: "chat-owner-b") }'],
    ['a consent:self token deletes another\'s chat', () => selfA, 'mutation { deleteChat(chatId: "chat-owner-b") { chatId } }'],
    ['a consent:self token sets its own plan', () => selfA, 'mutation { setPlan(userId: "owner-a", plan: max) { plan } }'],
    ['a consent:self token flags its own chat', () => selfA, 'mutation { flagChat(chatId: "chat-owner-a", type: policy_violation) { chatId } }'],
    ['a consent:write token asks about eligibility', () => writer, '{ trainingEligibility(chatId: "chat-owner-a") { eligible } }'],
    ['a consent:write token asks for a batch', () => writer, '{ trainingEligibilityBatch(chatIds: ["chat-owner-a"]) { revision } }'],
    ['a consent:read token reads the change feed', () => reader, '{ changeFeed { nextCursor } }'],
    ['a consent:read token writes', () => reader, 'mutation { setTrainingConsent(userId: "owner-a", choice: denied, surface: web) { effective } }'],
    ['a training:read token reads a user', () => pipeline, '{ user(userId: "owner-a") { userId } }'],
    ['a consent:write token creates a policy', () => writer, 'mutation { createPolicy(input: { version: "v-nope", effectiveAt: "2099-01-01T00:00:00.000Z", decisionDeadline: "2099-02-01T00:00:00.000Z", defaultChoice: granted, requiresReconsent: false, retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 } }) { version } }'],
    ['an audit:read token reads a consent', () => auditor, '{ trainingConsent(userId: "owner-a") { effective } }'],
  ];
  it.each(forbidden)('%s: FORBIDDEN, and nothing written', async (_name, token, query) => {
    const before = await eventCount();
    expect(await codes(t, token(), query)).toEqual(['FORBIDDEN']);
    expect(await eventCount()).toBe(before);
  });

  it('a nested field keeps its own rule: a consent reader sees the chat, not its eligibility', async () => {
    const res = await graphql(t, reader, '{ chat(chatId: "chat-owner-a") { chatId trainingEligibility { eligible } } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ chat: null });
    expect(res.body.errors!.map((e) => [e.extensions.code, e.path])).toEqual([['FORBIDDEN', ['chat', 'trainingEligibility']]]);
  });

  it('a consent:self token acts on its own user, and the audit actor is the user', async () => {
    const d = await data(t, selfA, 'mutation { setTrainingConsent(userId: "owner-a", choice: denied, surface: ios) { effective basis } }');
    expect(d.setTrainingConsent).toEqual({ effective: 'denied', basis: 'user_choice' });
    const own = await data(t, selfA, `{ user(userId: "owner-a") { userId chats { items { chatId } } auditEvents { items { type actor { sub kind } } } } }`);
    expect(own.user.chats.items).toEqual([{ chatId: 'chat-owner-a' }]);
    expect(own.user.auditEvents.items.at(-1)).toEqual({ type: 'consent.choice_recorded', actor: { sub: 'owner-a', kind: 'user' } });
  });
});

describe('errors', () => {
  it('invalid arguments are VALIDATION_FAILED with the REST messages, per argument, and write nothing', async () => {
    const before = await eventCount();
    const res = await graphql(t, writer, 'mutation { registerChat(chatId: "bad id!", userId: "owner-a", createdAt: "yesterday") { chatId } }');
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'args.chatId', message: expect.stringMatching(/must be 1-128 characters/) }] });
    const restMessage = (await t.http.put('/v1/chats/x').set('authorization', writer).send({ userId: 'owner-a', createdAt: 'yesterday' })).body.errors[0].message;
    const second = await graphql(t, writer, 'mutation { registerChat(chatId: "x", userId: "owner-a", createdAt: "yesterday") { chatId } }');
    expect(second.body.errors![0].extensions.errors).toEqual([{ path: 'args.createdAt', message: restMessage }]);
    const both = await graphql(t, writer, '{ trainingConsent(userId: "owner-a", asOf: "2025-10-01T00:00:00Z", atRevision: "1") { effective } }');
    expect(both.body.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'args.asOf' }] });
    const future = await graphql(t, pipeline, '{ trainingEligibility(chatId: "chat-owner-a", asOf: "2999-01-01T00:00:00Z") { eligible } }');
    expect(future.body.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'args.asOf', message: 'must not be in the future' }] });
    expect(await codes(t, writer, 'mutation { setPlan(userId: "owner-a", plan: pro, idempotencyKey: "") { plan } }')).toEqual(['VALIDATION_FAILED']);
    expect(await codes(t, writer, 'mutation { acceptTerms(userId: "owner-a", input: { policyVersion: "no-such-version", surface: web, presentation: { trainingToggleDefault: true, trainingToggleShown: true } }) { revision } }')).toEqual(['UNPROCESSABLE']);
    expect(await codes(t, writer, 'mutation { deleteChat(chatId: "never-registered") { chatId } }')).toEqual(['NOT_FOUND']);
    expect(await codes(t, writer, 'mutation { registerChat(chatId: "chat-owner-a", userId: "owner-b") { chatId } }')).toEqual(['CONFLICT']);
    expect(await eventCount()).toBe(before);
  });

  it('a malformed query, an unknown field, a bad enum value or variable are HTTP 400 VALIDATION_FAILED', async () => {
    expect(await codes(t, writer, '{ user(userId: "owner-a") { userId ', {}, 400)).toEqual(['VALIDATION_FAILED']);
    expect(await codes(t, writer, '{ user(userId: "owner-a") { password } }', {}, 400)).toEqual(['VALIDATION_FAILED']);
    expect(await codes(t, writer, 'mutation { setPlan(userId: "owner-a", plan: platinum) { plan } }', {}, 400)).toEqual(['VALIDATION_FAILED']);
    expect(await codes(t, writer, 'mutation($p: Plan!) { setPlan(userId: "owner-a", plan: $p) { plan } }', { p: 'gold' }, 400)).toEqual(['VALIDATION_FAILED']);
  });

  it('the batch keeps its 10,000-id limit, and a full batch of 128-character ids fits the request body', async () => {
    const id = (i: number) => `${String(i).padStart(6, '0')}-${'x'.repeat(121)}`;
    const full = Array.from({ length: 10_000 }, (_, i) => id(i));
    const ok = await data(t, pipeline, 'query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { results { reason } } }', { ids: full });
    expect(ok.trainingEligibilityBatch.results).toHaveLength(10_000);
    const over = await graphql(t, pipeline, 'query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { revision } }', { ids: [...full.slice(0, 9_999), 'a', 'b'] });
    expect(over.body.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'args.chatIds' }] });
    const huge = await graphql(t, pipeline, 'query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { revision } }', { ids: [...full, ...full] });
    expect(huge.status).toBe(413);
    expect(huge.body.errors![0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('an internal failure is INTERNAL, and says nothing of what failed', async () => {
    await t.db.query('ALTER TABLE chats RENAME TO chats_hidden_by_test');
    try {
      const res = await graphql(t, writer, '{ chat(chatId: "chat-owner-a") { chatId } }');
      expect(res.status).toBe(200);
      expect(res.body.errors).toEqual([
        { message: 'an internal error occurred; quote the requestId when reporting it', path: ['chat'], locations: expect.any(Array), extensions: { code: 'INTERNAL', requestId: expect.any(String) } },
      ]);
      expect(JSON.stringify(res.body)).not.toMatch(/chats|relation|exist|SELECT/i);
    } finally {
      await t.db.query('ALTER TABLE chats_hidden_by_test RENAME TO chats');
    }
  });
});

describe('limits, refused before anything runs', () => {
  it('too deep, too costly, too many aliases: QUERY_TOO_COMPLEX, HTTP 400, nothing written', async () => {
    const before = await eventCount();
    const deep = 'mutation { setPlan(userId: "owner-a", plan: max) { chats { items { user { chats { items { user { chats { items { chatId } } } } } } } } } }';
    expect(new Set(await codes(t, writer, deep, {}, 400))).toEqual(new Set(['QUERY_TOO_COMPLEX']));
    const costly = 'mutation { setPlan(userId: "owner-a", plan: max) { chats(first: 1000) { items { user { chats(first: 1000) { items { chatId } } } } } } }';
    expect(await codes(t, writer, costly, {}, 400)).toEqual(['QUERY_TOO_COMPLEX']);
    const aliases = `mutation { ${Array.from({ length: 31 }, (_, i) => `p${i}: setPlan(userId: "owner-a", plan: max) { plan }`).join(' ')} }`;
    expect(await codes(t, writer, aliases, {}, 400)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(await eventCount()).toBe(before);
  });

  it('a document nested thousands deep is QUERY_TOO_COMPLEX before it is parsed, never a 500', async () => {
    const list = `${'['.repeat(3_000)}"x"${']'.repeat(3_000)}`;
    expect(await codes(t, writer, `{ trainingEligibilityBatch(chatIds: ${list}) { revision } }`, {}, 400)).toEqual(['QUERY_TOO_COMPLEX']);
    const braces = `{ policies ${'{ version '.repeat(2_000)}${'}'.repeat(2_000)} }`;
    expect(await codes(t, writer, braces, {}, 400)).toEqual(['QUERY_TOO_COMPLEX']);
    // Brackets inside strings and comments do not count.
    expect(await data(t, writer, `# ${'['.repeat(500)}\n{ policy(version: "${'['.repeat(60)}") { version } }`)).toEqual({ policy: null });
  });

  it("admits GraphiQL's standard introspection query, not an endless ofType chain", async () => {
    const d = await data(t, pipeline, getIntrospectionQuery());
    expect(d.__schema.types.length).toBeGreaterThan(20);
    let chain = 'name';
    for (let i = 0; i < 25; i++) chain = `ofType { ${chain} }`;
    expect(await codes(t, pipeline, `{ __type(name: "User") { ${chain} } }`, {}, 400)).toEqual(['QUERY_TOO_COMPLEX']);
  });
});

describe('the schema', () => {
  it('served is the SDL in schema/', () => {
    expect(graphqlJs.printSchema(t.app.graphql.schema as never)).toBe(graphqlJs.printSchema(graphqlJs.buildSchema(loadSchemaSdl())));
  });
});

describe('nested fields through loaders', () => {
  it('100 chats with their users\' consent and their eligibility cost a constant, small number of statements', async () => {
    const users = Array.from({ length: 5 }, (_, u) => `loaded-${u}`);
    for (const [u, user] of users.entries()) {
      await t.http.put(`/v1/users/${user}/plan`).set('authorization', writer).send({ plan: u === 4 ? 'team' : 'pro' }).expect(200);
      for (let c = 0; c < 20; c++) await t.http.put(`/v1/chats/${user}-chat-${String(c).padStart(2, '0')}`).set('authorization', writer).send({ userId: user }).expect(201);
    }
    const token = await t.bearer('consent:read training:read', 'support-and-pipeline');
    const query = (first: number) =>
      `{ ${users.map((u, i) => `u${i}: user(userId: "${u}") { chats(first: ${first}) { items { chatId user { userId trainingConsent { effective basis } } trainingEligibility { ${FIELDS.decision} } } } }`).join(' ')} }`;
    const measure = async (first: number) => {
      const before = statements();
      const d = await data(t, token, query(first));
      const items = Object.values(d).flatMap((u: any) => u.chats.items);
      expect(items).toHaveLength(5 * first);
      expect(items.filter((c: any) => c.trainingEligibility.reason === 'commercial_plan')).toHaveLength(first);
      return statements() - before;
    };
    const cold = await measure(20);
    const warm = await measure(20);
    const small = await measure(2);
    // The users (one statement), their chats (one), the chats' users (one), the consents (from the
    // users' facts cache, or one), the decisions (one for the chats, one for owners' facts when not
    // cached, one for activity when not on the row), and a settling of the watermark per read at
    // most: the same bound for 10 chats as for 100.
    for (const n of [cold, warm, small]) expect(n).toBeLessThanOrEqual(10);
  });
});
