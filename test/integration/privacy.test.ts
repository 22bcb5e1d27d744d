import { execFileSync } from 'node:child_process';
import { compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains, type LoggedEvent } from '../../src/audit/hash.js';
import { leafHash } from '../../src/merkle/hashes.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { data } from '../helpers/graphql.js';
import { expectProblem } from '../helpers/problems.js';

/** Embedded databases started in this process block its event loop for seconds: no overload to shed. */
const NO_SHEDDING = { MAX_EVENT_LOOP_DELAY_MS: '0' };

let t: TestApp;
let admin: string;
let auditor: string;
let pipeline: string;

beforeAll(async () => {
  t = await startTestApp(NO_SHEDDING);
  admin = await t.bearer('admin');
  auditor = await t.bearer('audit:read');
  pipeline = await t.bearer('training:read');
});

afterAll(async () => {
  await t?.close();
});

const DAY = 86_400_000;
const hex = (s: string) => Buffer.from(s, 'hex');

async function accept(userId: string, token: string, extra: Record<string, unknown> = {}) {
  return t.http
    .post(`/v1/users/${userId}/terms-acceptances`)
    .set('authorization', token)
    .send({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', plan: 'pro', presentation: { trainingToggleDefault: true, trainingToggleShown: true }, ...extra })
    .expect(201);
}

async function everyEvent(): Promise<LoggedEvent[]> {
  const all: LoggedEvent[] = [];
  for (let after = '0'; ; ) {
    const page = await t.http.get(`/v1/audit/events?after=${after}&limit=1000`).set('authorization', auditor).expect(200);
    all.push(...page.body.items);
    if (page.body.items.length < 1000) return all;
    after = page.body.nextCursor;
  }
}

/** Every row of every table of the service, as text. */
async function everyRow(): Promise<string[]> {
  const tables = await t.db.query<{ s: string; n: string }>(
    `SELECT table_schema AS s, table_name AS n FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  expect(tables.map((x) => x.n)).toEqual(expect.arrayContaining(['audit_events', 'audit_event_personal', 'users', 'chats', 'chat_activity', 'idempotency_keys', 'merkle_tiles', 'audit_checkpoints']));
  const rows: string[] = [];
  for (const { s, n } of tables) {
    for (const r of await t.db.query<{ row: string }>(`SELECT x::text AS row FROM "${s}"."${n}" x`)) rows.push(`${n}: ${r.row}`);
    // bytea as text is hex: look for the ids in it as well.
    if (n === 'merkle_tiles') for (const r of await t.db.query<{ h: Uint8Array }>('SELECT hashes AS h FROM merkle_tiles')) rows.push(Buffer.from(r.h).toString('latin1'));
  }
  return rows;
}

describe('erasure', () => {
  const user = 'erase-me-alice';
  const secrets = ['erase-me', 'ERASEME'];
  let self: string;
  let before: { treeSize: number; rootHash: string; lastRevision: string };
  let eventsBefore: LoggedEvent[];

  beforeAll(async () => {
    self = await t.bearer('consent:self', user);
    await accept(user, self, { presentation: { trainingToggleDefault: true, trainingToggleShown: true, locale: 'xx-ERASEME', uiVariant: 'variant-ERASEME' } });
    await t.http.put(`/v1/users/${user}/training-consent`).set('authorization', self).set('idempotency-key', 'self-key-erase-me').send({ choice: 'granted', surface: 'ios' }).expect(200);
    for (const i of [1, 2, 3]) {
      await t.http.put(`/v1/chats/erase-me-chat-${i}`).set('authorization', admin).set('idempotency-key', `chat-erase-me-${i}`).send({ userId: user }).expect(201);
      await t.http.post(`/v1/chats/erase-me-chat-${i}/activity`).set('authorization', self).send({}).expect(204);
    }
    await t.http.post('/v1/chats/erase-me-chat-1/flags').set('authorization', admin).send({ type: 'policy_violation' }).expect(200);
    await t.http.delete('/v1/chats/erase-me-chat-2').set('authorization', self).expect(200);
    await accept('keep-bob', admin);
    await t.http.put('/v1/chats/keep-bob-chat').set('authorization', admin).send({ userId: 'keep-bob' }).expect(201);
    before = (await t.http.post('/v1/audit/checkpoints').set('authorization', admin).expect(201)).body;
    eventsBefore = (await t.http.get(`/v1/users/${user}/audit-events?limit=1000`).set('authorization', self).expect(200)).body.items;
    expect(eventsBefore.length).toBe(9);
    expect((await everyRow()).some((r) => r.includes('ERASEME'))).toBe(true);
  });

  it('erases the user while other users are written to, and a retry with its key gets the same answer', async () => {
    const others = Array.from({ length: 24 }, (_, i) =>
      t.http.put(`/v1/users/busy-${i % 6}/training-consent`).set('authorization', admin).send({ choice: i % 2 ? 'granted' : 'denied', surface: 'web' }),
    );
    // Activity on the user's chat races the erasure: either lands before it (and is erased) or finds no chat.
    const activity = Array.from({ length: 8 }, () => t.http.post('/v1/chats/erase-me-chat-3/activity').set('authorization', admin).send({}));
    const erase = t.http.delete(`/v1/users/${user}`).set('authorization', self).set('idempotency-key', 'erase-erase-me-alice');
    const [erased, ...written] = await Promise.all([erase, ...others]);
    for (const a of await Promise.all(activity)) expect([204, 404]).toContain(a.status);
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(Object.keys(erased.body).sort()).toEqual(['erasedAt', 'revision', 'userId']);
    expect(erased.body.userId).toBe(user);
    for (const w of written) expect(w.status).toBe(200);

    const retry = await t.http.delete(`/v1/users/${user}`).set('authorization', self).set('idempotency-key', 'erase-erase-me-alice');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(erased.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expectProblem(await t.http.delete(`/v1/users/${user}`).set('authorization', self), 404, 'NOT_FOUND');
    // The other users' writes all landed.
    for (let i = 0; i < 6; i++) expect((await t.http.get(`/v1/users/busy-${i}/audit-events`).set('authorization', auditor).expect(200)).body.items.length).toBe(4);
  });

  it('leaves the user unknown everywhere and its chats chat_not_found', async () => {
    expectProblem(await t.http.get(`/v1/users/${user}`).set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.get(`/v1/users/${user}/training-consent`).set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.get(`/v1/users/${user}/terms-acceptances`).set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.get(`/v1/users/${user}/audit-events`).set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.get(`/v1/users/${user}/export`).set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.get(`/v1/users/${user}/consent-receipts/${eventsBefore[0].eventId}`).set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.get('/v1/chats/erase-me-chat-1').set('authorization', admin), 404, 'NOT_FOUND');
    expectProblem(await t.http.post('/v1/chats/erase-me-chat-3/activity').set('authorization', admin).send({}), 404, 'NOT_FOUND');
    expectProblem(await t.http.delete('/v1/chats/erase-me-chat-3').set('authorization', admin), 404, 'NOT_FOUND');
    const single = await t.http.get('/v1/chats/erase-me-chat-1/training-eligibility').set('authorization', pipeline).expect(200);
    expect(single.body).toMatchObject({ eligible: false, reason: 'chat_not_found', userId: null });
    const earlier = await t.http.get(`/v1/chats/erase-me-chat-3/training-eligibility?atRevision=${before.lastRevision}`).set('authorization', pipeline).expect(200);
    expect(earlier.body.reason).toBe('chat_not_found');
    const batch = await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds: ['erase-me-chat-1', 'erase-me-chat-3', 'keep-bob-chat'] }).expect(200);
    expect(batch.body.results.map((r: { reason: string }) => r.reason)).toEqual(['chat_not_found', 'chat_not_found', 'user_choice']);
    const stream = await t.http.get('/v1/training-eligibility/eligible-chats').set('authorization', pipeline).expect(200);
    expect(stream.text).not.toContain('erase-me');
  });

  it('leaves no plaintext id, chat id or free text of the user in any table', async () => {
    const rows = await everyRow();
    for (const secret of secrets) expect(rows.filter((r) => r.toLowerCase().includes(secret.toLowerCase()))).toEqual([]);
    expect(rows.some((r) => r.includes('keep-bob'))).toBe(true);
  });

  it.runIf(process.env.TEST_DATABASE === 'postgres')('leaves none in a pg_dump of the database either', () => {
    const dump = execFileSync('pg_dump', ['--no-owner', t.url!], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
    expect(dump).toContain('keep-bob');
    for (const secret of secrets) expect(dump.toLowerCase().includes(secret.toLowerCase()), secret).toBe(false);
  });

  it('returns the events redacted with their hashes, closed by a user.erased event that names no one, and every chain verifies', async () => {
    const all = await everyEvent();
    const byRevision = new Map(all.map((e) => [e.revision, e]));
    for (const e of eventsBefore) {
      const now = byRevision.get(e.revision)!;
      expect(now).toEqual({ revision: e.revision, eventId: e.eventId, type: e.type, redacted: true, occurredAt: e.occurredAt, prevHash: e.prevHash, hash: e.hash });
    }
    const erased = all.find((e) => e.type === 'user.erased')!;
    expect(erased).toMatchObject({ userId: null, data: { redactedEvents: 9 }, actor: { sub: 'erased-user', kind: 'user' }, prevHash: eventsBefore.at(-1)!.hash });
    expect(verifyChains(all)).toEqual([]);
    // A redacted event cannot be slipped into another chain.
    const forged = all.map((e) => (e.revision === erased.revision ? { ...e, prevHash: all[0].hash } : e));
    expect(verifyChains(forged).length).toBeGreaterThan(0);
  });

  it('returns them redacted through GraphQL too', async () => {
    const feed = await data(t, auditor, '{ changeFeed(after: "0", first: 1000) { items { revision type userId data actor { sub } requestId prevHash hash redacted } } }');
    const items = feed.changeFeed.items as Record<string, unknown>[];
    for (const e of eventsBefore) {
      expect(items.find((i) => i.revision === e.revision)).toEqual({
        revision: e.revision, type: e.type, userId: null, data: null, actor: null, requestId: null, prevHash: e.prevHash, hash: e.hash, redacted: true,
      });
    }
    expect(items.find((i) => i.type === 'user.erased')).toMatchObject({ userId: null, data: { redactedEvents: 9 }, actor: { sub: 'erased-user' }, redacted: null });
  });

  it('keeps checkpoints and proofs verifying, and the log append-only', async () => {
    const after = (await t.http.post('/v1/audit/checkpoints').set('authorization', admin).expect(201)).body;
    const consistency = await t.http.get(`/v1/audit/proofs/consistency?from=${before.treeSize}&to=${after.treeSize}`).set('authorization', auditor).expect(200);
    expect(verifyConsistency(before.treeSize, after.treeSize, hex(before.rootHash), hex(after.rootHash), consistency.body.path.map(hex))).toBe(true);
    for (const e of eventsBefore) {
      const proof = await t.http.get(`/v1/audit/proofs/inclusion?revision=${e.revision}`).set('authorization', auditor).expect(200);
      expect(verifyInclusion(proof.body.leafIndex, after.treeSize, leafHash(hex(e.hash)), proof.body.path.map(hex), hex(after.rootHash))).toBe(true);
    }
    await expect(t.db.query('UPDATE audit_events SET hash = prev_hash')).rejects.toThrow();
    await expect(t.db.query('DELETE FROM audit_events')).rejects.toThrow();
    await expect(t.db.query('TRUNCATE audit_events')).rejects.toThrow();
    await expect(t.db.query('DELETE FROM audit_checkpoints')).rejects.toThrow();
  });

  it('lets a new user take the id afresh, on a chain of its own', async () => {
    await t.http.put(`/v1/users/${user}/plan`).set('authorization', admin).send({ plan: 'free' }).expect(200);
    const events = (await t.http.get(`/v1/users/${user}/audit-events`).set('authorization', admin).expect(200)).body.items;
    expect(events).toHaveLength(1);
    expect(events[0].prevHash).toBe('0'.repeat(64));
    expect(verifyChains(await everyEvent())).toEqual([]);
  });

  it('is refused to other callers and for unknown users', async () => {
    expectProblem(await t.http.delete('/v1/users/keep-bob').set('authorization', await t.bearer('consent:self', 'someone-else')), 403, 'FORBIDDEN');
    expectProblem(await t.http.delete('/v1/users/keep-bob').set('authorization', await t.bearer('consent:write')), 403, 'FORBIDDEN');
    expectProblem(await t.http.delete('/v1/users/never-was').set('authorization', admin), 404, 'NOT_FOUND');
    // The key of another request is not taken for an erasure.
    await t.http.put('/v1/users/keep-bob/plan').set('authorization', admin).set('idempotency-key', 'used-before').send({ plan: 'pro' }).expect(200);
    expectProblem(await t.http.delete('/v1/users/keep-bob').set('authorization', admin).set('idempotency-key', 'used-before'), 409, 'IDEMPOTENCY_KEY_REUSED');
    await t.http.get('/v1/users/keep-bob').set('authorization', admin).expect(200);
  });
});

describe('consent receipts', () => {
  it('signs an ISO/IEC TS 27560 record of a choice, with what the pop-up showed, and of a terms acceptance', async () => {
    const token = await t.bearer('consent:self', 'receipt-carol');
    await accept('receipt-carol', token, { trainingChoice: 'denied', presentation: { trainingToggleDefault: true, trainingToggleShown: true, locale: 'de-DE' } });
    const events = (await t.http.get('/v1/users/receipt-carol/audit-events').set('authorization', token).expect(200)).body.items;
    const choice = events.find((e: { type: string }) => e.type === 'consent.choice_recorded');
    const terms = events.find((e: { type: string }) => e.type === 'terms.accepted');
    const plan = events.find((e: { type: string }) => e.type === 'user.plan_changed');
    const keys = createLocalJWKSet((await t.http.get('/.well-known/jwks.json')).body);

    const res = await t.http.get(`/v1/users/receipt-carol/consent-receipts/${choice.eventId}`).set('authorization', token).expect(200);
    expect(res.body.record).toMatchObject({
      schemaVersion: 'ISO/IEC TS 27560:2023',
      recordId: choice.eventId,
      principal: { id: 'receipt-carol' },
      controller: { id: 'consent-service' },
      purposes: [{ purpose: 'model training' }],
      notice: { policyVersion: '2025-09-28', presentation: { trainingToggleDefault: true, trainingToggleShown: true, locale: 'de-DE' } },
      method: { surface: 'web', actor: 'user' },
      timestamp: choice.occurredAt,
      state: 'refused',
      evidence: { revision: choice.revision, eventHash: choice.hash },
    });
    expect(res.body.record.withdrawal.method).toContain('training-consent');
    const { payload, protectedHeader } = await compactVerify(res.body.jws, keys);
    expect(protectedHeader.typ).toBe('consent-receipt+jws');
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(res.body.record);

    const acceptance = await t.http.get(`/v1/users/receipt-carol/consent-receipts/${terms.eventId}`).set('authorization', auditor).expect(200);
    expect(acceptance.body.record).toMatchObject({ state: 'refused', notice: { policyVersion: '2025-09-28' }, method: { event: 'terms.accepted' } });

    expectProblem(await t.http.get(`/v1/users/receipt-carol/consent-receipts/${plan.eventId}`).set('authorization', auditor), 404, 'NOT_FOUND');
    expectProblem(await t.http.get(`/v1/users/keep-bob/consent-receipts/${choice.eventId}`).set('authorization', auditor), 404, 'NOT_FOUND');
    expectProblem(await t.http.get(`/v1/users/receipt-carol/consent-receipts/${choice.eventId}`).set('authorization', pipeline), 403, 'FORBIDDEN');
    expectProblem(
      await t.http.get(`/v1/users/receipt-carol/consent-receipts/${choice.eventId}`).set('authorization', await t.bearer('consent:self', 'keep-bob')),
      403,
      'FORBIDDEN',
    );
  });
});

describe('export', () => {
  it('holds everything about a user with 1,000 events, each with an inclusion proof against the checkpoint', async () => {
    const u = 'export-dave';
    const token = await t.bearer('consent:self', u);
    await accept(u, token);
    await t.http.put('/v1/chats/export-dave-chat').set('authorization', token).send({ userId: u }).expect(201);
    for (let i = 0; i < 996; i++) {
      await t.http.put(`/v1/users/${u}/training-consent`).set('authorization', admin).send({ choice: i % 2 ? 'granted' : 'denied', surface: 'web' }).expect(200);
    }
    const res = await t.http.get(`/v1/users/${u}/export`).set('authorization', token).expect(200);
    const body = res.body;
    expect(Object.keys(body).sort()).toEqual(['chats', 'checkpoint', 'events', 'proofs', 'termsAcceptances', 'trainingConsent', 'user']);
    expect(body.events).toHaveLength(1000);
    expect(body.user.userId).toBe(u);
    expect(body.trainingConsent.choice).toBe('granted');
    expect(body.termsAcceptances).toHaveLength(1);
    expect(body.chats.map((c: { chatId: string }) => c.chatId)).toEqual(['export-dave-chat']);
    expect(verifyChains(body.events)).toEqual([]);
    const keys = createLocalJWKSet((await t.http.get('/.well-known/jwks.json')).body);
    await compactVerify(body.checkpoint.jws, keys);
    const root = hex(body.checkpoint.rootHash);
    expect(body.proofs).toHaveLength(1000);
    for (const [i, e] of body.events.entries()) {
      const p = body.proofs[i];
      expect(p.revision).toBe(e.revision);
      expect(verifyInclusion(p.leafIndex, body.checkpoint.treeSize, leafHash(hex(e.hash)), p.path.map(hex), root), e.revision).toBe(true);
    }
    expectProblem(await t.http.get(`/v1/users/${u}/export`).set('authorization', await t.bearer('consent:self', 'keep-bob')), 403, 'FORBIDDEN');
    expectProblem(await t.http.get(`/v1/users/${u}/export`).set('authorization', await t.bearer('consent:read')), 403, 'FORBIDDEN');
  });
});

describe('retention', () => {
  it('streams the chats whose retention ran out, in chatId order, and no others', async () => {
    const now = Date.now();
    const old = new Date(now - 40 * DAY).toISOString();
    await accept('ret-denier', admin, { trainingChoice: 'denied' });
    await accept('ret-granter', admin);
    await t.http.put('/v1/users/ret-corp/plan').set('authorization', admin).send({ plan: 'enterprise' }).expect(200);
    const register = (chatId: string, userId: string, extra: Record<string, unknown> = {}) =>
      t.http.put(`/v1/chats/${chatId}`).set('authorization', admin).send({ userId, createdAt: old, ...extra }).expect(201);
    await register('ret-b-denied-old', 'ret-denier');
    await register('ret-a-denied-incognito', 'ret-denier', { incognito: true });
    await register('ret-c-denied-deleted', 'ret-denier');
    await t.http.delete('/v1/chats/ret-c-denied-deleted').set('authorization', admin).expect(200);
    await t.http.put('/v1/chats/ret-d-denied-new').set('authorization', admin).send({ userId: 'ret-denier' }).expect(201);
    await register('ret-e-granted-old', 'ret-granter');
    await register('ret-f-commercial-old', 'ret-corp');
    await register('ret-g-denied-flagged', 'ret-denier');
    await t.http.post('/v1/chats/ret-g-denied-flagged/flags').set('authorization', admin).send({ type: 'policy_violation' }).expect(200);

    const res = await t.http.get('/v1/retention/expired-chats?after=ret-').set('authorization', pipeline).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(res.headers['consent-revision']).toMatch(/^\d+$/);
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l)).filter((c) => c.chatId.startsWith('ret-'));
    // ret-e's owner granted after the chat's last activity: it predates consent, so the denied retention applies.
    expect(lines.map((c) => c.chatId)).toEqual(['ret-a-denied-incognito', 'ret-b-denied-old', 'ret-e-granted-old']);
    expect(lines[1]).toEqual({ chatId: 'ret-b-denied-old', userId: 'ret-denier', retentionUntil: new Date(Date.parse(old) + 30 * DAY).toISOString() });

    const limited = await t.http.get('/v1/retention/expired-chats?after=ret-&limit=1').set('authorization', pipeline).expect(200);
    expect(limited.text.trim().split('\n')).toHaveLength(1);
    const earlier = await t.http.get(`/v1/retention/expired-chats?after=ret-&asOf=${new Date(now - 20 * DAY).toISOString()}`).set('authorization', pipeline).expect(200);
    expect(earlier.text).toBe('');
    expectProblem(await t.http.get('/v1/retention/expired-chats?atRevision=1').set('authorization', pipeline), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.get('/v1/retention/expired-chats').set('authorization', auditor), 403, 'FORBIDDEN');
  });
});

describe.runIf(process.env.TEST_DATABASE === 'postgres')('erasure seen by another instance', () => {
  it("forgets the erased user's facts it had cached", async () => {
    const { buildApp } = await import('../../src/app.js');
    const { loadConfig } = await import('../../src/config.js');
    const { ISSUER, AUDIENCE } = await import('../helpers/tokens.js');
    const supertest = (await import('supertest')).default;
    const other = await buildApp(
      loadConfig({ LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_JWKS_FILE: t.keys.jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, DATABASE_URL: t.url!, SIGNING_KEYS_FILE: t.keys.signingKeysFile, CHECKPOINT_INTERVAL_S: '0' }),
    );
    try {
      await other.ready();
      await accept('cached-erin', admin);
      const elsewhere = supertest(other.server);
      // Read twice there: the second read is answered from that instance's cache.
      for (let i = 0; i < 2; i++) await elsewhere.get('/v1/users/cached-erin/training-consent').set('authorization', admin).expect(200);
      await t.http.delete('/v1/users/cached-erin').set('authorization', admin).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expectProblem(await elsewhere.get('/v1/users/cached-erin/training-consent').set('authorization', admin), 404, 'NOT_FOUND');
    } finally {
      await other.close();
    }
  });
});
