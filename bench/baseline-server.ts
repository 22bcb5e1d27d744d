/**
 * The bench's floor: plain Fastify + postgres.js, no auth, no validation, ONE primary-key SELECT per
 * request against the service's own tables. What the service costs is measured against this.
 *
 *   GET  /users/:id   SELECT ... FROM users WHERE user_id = $1
 *   GET  /chats/:id   SELECT ... FROM chats WHERE chat_id = $1
 *   POST /batch       { chatIds: [...] } -> SELECT ... FROM chats WHERE chat_id = ANY($1), the rows
 *                     and the server time of the request (serverMs)
 *   GET  /stream      every chat that is not incognito, ordered by chat_id, through a server-side
 *                     cursor (5,000 rows a fetch), written as the service's NDJSON lines
 *                     ({"chatId","userId","retentionUntil"}, the time formatted by PostgreSQL)
 *   GET  /memory/:id  a consent-shaped object held in memory, no SQL: the floor of a read the
 *                     service answers from its caches (the consent read)
 *   POST /graphql     mercurius (queries compiled with graphql-jit from their second run, as the
 *                     service's): `chat(id)` and `user(id)` each the same primary-key SELECT, and
 *                     `memory(id)` the object of /memory: the floor of a GraphQL read, beside the
 *                     floor of a REST one
 *
 * Env: PORT, DATABASE_URL, DATABASE_POOL_SIZE (the same pool size as the service's).
 */
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import mercurius, { type IResolvers } from 'mercurius';
import postgres from 'postgres';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const port = Number(process.env.PORT ?? 0);

const sql = postgres(url, {
  max: Number(process.env.DATABASE_POOL_SIZE ?? 16),
  prepare: true,
  onnotice: () => {},
  connection: { application_name: 'consent-bench-baseline' },
});

const userSql = 'SELECT user_id, created_at, head_revision::text AS head_revision FROM users WHERE user_id = $1';
const chatColumns = 'chat_id, user_id, created_at, incognito, deleted_at, flags';
const chatSql = `SELECT ${chatColumns} FROM chats WHERE chat_id = $1`;
const batchSql = `SELECT ${chatColumns} FROM chats WHERE chat_id = ANY($1::text[])`;

const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });

app.get('/healthz', async () => ({ status: 'ok' }));

app.get<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
  const rows = await sql.unsafe(userSql, [request.params.id], { prepare: true });
  if (rows.length === 0) return reply.code(404).send({ error: 'not found' });
  return rows[0];
});

app.get<{ Params: { id: string } }>('/chats/:id', async (request, reply) => {
  const rows = await sql.unsafe(chatSql, [request.params.id], { prepare: true });
  if (rows.length === 0) return reply.code(404).send({ error: 'not found' });
  return rows[0];
});

app.post<{ Body: { chatIds: string[] } }>('/batch', async (request) => {
  const started = performance.now();
  const rows = await sql.unsafe(batchSql, [request.body.chatIds], { prepare: true });
  return { serverMs: performance.now() - started, count: rows.length, rows };
});

/** As the service's consent read answers, from memory; the id is echoed. */
const remembered = (id: string) => ({
  userId: id,
  plan: 'pro',
  choice: 'granted',
  choiceAt: '2026-01-01T00:00:00.000Z',
  choiceSurface: 'web',
  effective: 'granted',
  basis: 'user_choice',
  decisionRequired: false,
  policyVersion: '2025-09-28',
  decisionDeadline: '2025-09-28T00:00:00.000Z',
  retentionDays: 1825,
  consentSince: '2026-01-01T00:00:00.000Z',
  asOf: new Date().toISOString(),
  revision: '1',
});

app.get<{ Params: { id: string } }>('/memory/:id', async (request) => remembered(request.params.id));

await app.register(mercurius, {
  schema: `
    type User { user_id: ID! created_at: String head_revision: String }
    type Chat { chat_id: ID! user_id: ID! created_at: String incognito: Boolean deleted_at: String }
    type Memory { userId: ID! plan: String choice: String choiceAt: String choiceSurface: String effective: String basis: String
      decisionRequired: Boolean policyVersion: String decisionDeadline: String retentionDays: Int consentSince: String asOf: String revision: String }
    type Query { chat(id: ID!): Chat user(id: ID!): User memory(id: ID!): Memory }`,
  resolvers: {
    Query: {
      chat: async (_root: unknown, { id }: { id: string }) => (await sql.unsafe(chatSql, [id], { prepare: true }))[0] ?? null,
      user: async (_root: unknown, { id }: { id: string }) => (await sql.unsafe(userSql, [id], { prepare: true }))[0] ?? null,
      memory: async (_root: unknown, { id }: { id: string }) => remembered(id),
    },
    // Its own schema, not the service's, whose resolver types the generated code declares for mercurius.
  } as unknown as IResolvers,
  jit: 1,
  cache: 1024,
});

const streamSql = `SELECT chat_id, user_id,
    to_char((last_activity_at + interval '1825 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS retention_until
  FROM chats WHERE NOT incognito ORDER BY chat_id`;

app.get('/stream', async (_request, reply) => {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'content-type': 'application/x-ndjson' });
  await sql.unsafe(streamSql).cursor(5_000, async (rows) => {
    let chunk = '';
    for (const r of rows) chunk += `${JSON.stringify({ chatId: r.chat_id, userId: r.user_id, retentionUntil: r.retention_until })}\n`;
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
  });
  out.end();
});

await app.listen({ port, host: '127.0.0.1' });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app
      .close()
      .then(() => sql.end({ timeout: 5 }))
      .finally(() => process.exit(0));
  });
}
