import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/*
 * SPEC §2 "Audit log": anyone holding the events can verify the chain without the service. The
 * canonical JSON and the chain check below are written from RFC 8785 and the SPEC alone, and on
 * purpose share no code with src/audit: the test proves the API output meets the contract.
 */

interface AuditEventJson {
  revision: string;
  eventId: string;
  type: string;
  userId: string | null;
  chatId?: string;
  data: Record<string, unknown>;
  actor: { sub: string; kind: 'user' | 'service' };
  occurredAt: string;
  requestId: string;
  prevHash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;

// ---- RFC 8785 (JSON Canonicalization Scheme), written for this test --------------------------

const SHORT_ESCAPES: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

function jcsString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new TypeError('lone surrogate has no I-JSON form');
      out += s[i] + s[i + 1];
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new TypeError('lone surrogate has no I-JSON form');
    } else if (SHORT_ESCAPES[c] !== undefined) {
      out += SHORT_ESCAPES[c];
    } else if (c < 0x20) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else {
      out += s[i];
    }
  }
  return `${out}"`;
}

/** RFC 8785 §3.2.2.3: ECMAScript Number.prototype.toString, which String() applies; -0 is 0. */
function jcsNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError('NaN and Infinity have no JSON form');
  return Object.is(n, -0) ? '0' : String(n);
}

/** RFC 8785 §3.2.3: property names sorted by their UTF-16 code units. */
function byUtf16(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function jcs(value: unknown): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return jcsNumber(value);
  if (typeof value === 'string') return jcsString(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort(byUtf16);
    return `{${keys.map((k) => `${jcsString(k)}:${jcs(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`${typeof value} has no JSON form`);
}

/** Lowercase hex SHA-256 of the UTF-8 canonical JSON of the event as returned, minus `hash`. */
function expectedHash(event: AuditEventJson): string {
  const { hash: _hash, ...rest } = event;
  return createHash('sha256').update(Buffer.from(jcs(rest), 'utf8')).digest('hex');
}

interface ChainBreak {
  index: number;
  revision: string;
  problem: 'hash' | 'prevHash' | 'order' | 'chain';
}

/**
 * Verifies one chain given in revision order: every event belongs to `chain` (a userId, or null
 * for events about no user), revisions grow, each hash is the hash of the event, and each
 * prevHash is the previous event's hash (64 zeros for the first one).
 */
function verifyChain(events: readonly AuditEventJson[], chain: string | null): ChainBreak[] {
  const breaks: ChainBreak[] = [];
  let prev = GENESIS;
  let prevRevision = -1n;
  events.forEach((e, index) => {
    if (e.userId !== chain) breaks.push({ index, revision: e.revision, problem: 'chain' });
    if (!/^\d+$/.test(e.revision) || BigInt(e.revision) <= prevRevision) breaks.push({ index, revision: e.revision, problem: 'order' });
    else prevRevision = BigInt(e.revision);
    if (expectedHash(e) !== e.hash) breaks.push({ index, revision: e.revision, problem: 'hash' });
    if (e.prevHash !== prev) breaks.push({ index, revision: e.revision, problem: 'prevHash' });
    prev = e.hash;
  });
  return breaks;
}

/** Groups a feed into its chains (by userId, null for no user), each kept in feed order. */
function chainsOf(events: readonly AuditEventJson[]): Map<string | null, AuditEventJson[]> {
  const chains = new Map<string | null, AuditEventJson[]>();
  for (const e of events) {
    const list = chains.get(e.userId) ?? [];
    list.push(e);
    chains.set(e.userId, list);
  }
  return chains;
}

// ---- the service --------------------------------------------------------------------------

let t: TestApp;
let admin: string;
let writer: string;
let auditor: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer('admin', 'admin-1');
  writer = await t.bearer('consent:write', 'frontend-1');
  auditor = await t.bearer('audit:read', 'auditor-1');
});
afterAll(async () => t?.close());

/** A user's events, read page by page through `nextCursor`. */
async function userEvents(userId: string, limit = 100, token = auditor): Promise<AuditEventJson[]> {
  const all: AuditEventJson[] = [];
  let after: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const query: string = after === null ? `?limit=${limit}` : `?limit=${limit}&after=${after}`;
    const res = await t.http.get(`/v1/users/${userId}/audit-events${query}`).set('authorization', token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const items = res.body.items as AuditEventJson[];
    expect(items.length).toBeLessThanOrEqual(limit);
    all.push(...items);
    if (res.body.nextCursor === null || items.length === 0) return all;
    after = res.body.nextCursor as string;
  }
  throw new Error('nextCursor never ended');
}

/** The global change feed from the start, followed through `nextCursor` until a page is empty. */
async function feed(limit = 100, token = auditor, extra = ''): Promise<AuditEventJson[]> {
  const all: AuditEventJson[] = [];
  let after = '0';
  for (let page = 0; page < 1000; page++) {
    const res = await t.http.get(`/v1/audit/events?after=${after}&limit=${limit}${extra}`).set('authorization', token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const items = res.body.items as AuditEventJson[];
    all.push(...items);
    if (items.length === 0 || res.body.nextCursor === null) return all;
    after = res.body.nextCursor as string;
  }
  throw new Error('the feed never ran dry');
}

const presentation = { trainingToggleDefault: true, trainingToggleShown: true, locale: 'de-CH', uiVariant: 'Ünïcødé € 😀 "q" \\ \t\u001f\u2028 </script>' };

describe('the test verifier itself (RFC 8785)', () => {
  it('canonicalizes the RFC 8785 examples byte for byte', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(jcs(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    const sorted = JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}');
    // JavaScript lists integer-like keys first; the canonical form must not.
    expect(jcs(sorted)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });
});

describe('per-user hash chain', () => {
  const userId = 'chain-alice';
  const chatId = 'chain-alice-chat-1';
  let self: string;
  /** Each write: the revision it answered with and the event types it must have appended. */
  const writes: { revision: string; types: string[]; actor: { sub: string; kind: 'user' | 'service' }; requestId: string }[] = [];

  beforeAll(async () => {
    self = await t.bearer('consent:self', userId);
    const record = (res: { status: number; body: { revision: string }; headers: Record<string, string> }, status: number, types: string[], actor: { sub: string; kind: 'user' | 'service' }) => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      writes.push({ revision: res.body.revision, types, actor, requestId: res.headers['x-request-id'] });
    };
    const asUser = { sub: userId, kind: 'user' as const };
    const asService = { sub: 'frontend-1', kind: 'service' as const };

    record(
      await t.http
        .post(`/v1/users/${userId}/terms-acceptances`)
        .set('authorization', self)
        .set('x-request-id', 'audit-test-terms-1')
        .send({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', presentation }),
      201,
      ['terms.accepted', 'consent.choice_recorded'],
      asUser,
    );
    record(await t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan: 'pro' }), 200, ['user.plan_changed'], asService);
    record(
      await t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', self).send({ choice: 'denied', surface: 'ios' }),
      200,
      ['consent.choice_recorded'],
      asUser,
    );
    record(
      await t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', writer).send({ choice: 'granted', surface: 'api' }),
      200,
      ['consent.choice_recorded'],
      asService,
    );
    record(await t.http.put(`/v1/chats/${chatId}`).set('authorization', self).send({ userId }), 201, ['chat.registered'], asUser);
    record(
      await t.http.post(`/v1/chats/${chatId}/flags`).set('authorization', writer).send({ type: 'policy_violation' }),
      200,
      ['chat.flagged'],
      asService,
    );
    record(await t.http.delete(`/v1/chats/${chatId}`).set('authorization', self), 200, ['chat.deleted'], asUser);
  });

  it('verifies from the API output alone, followed page by page', async () => {
    const events = await userEvents(userId, 2);
    const expectedTypes = writes.flatMap((w) => w.types);
    expect(events.map((e) => e.type)).toEqual(expectedTypes);
    expect(events[0].prevHash).toBe(GENESIS);
    for (const e of events) {
      expect(e.userId).toBe(userId);
      expect(e.hash).toMatch(HEX64);
      expect(e.prevHash).toMatch(HEX64);
    }
    expect(verifyChain(events, userId)).toEqual([]);
  });

  it('records each write as its events: revision of the last one, actor, requestId, chatId', async () => {
    const events = await userEvents(userId);
    let i = 0;
    for (const w of writes) {
      const mine = events.slice(i, i + w.types.length);
      i += w.types.length;
      expect(mine.map((e) => e.type)).toEqual(w.types);
      // SPEC §1: revision is the position of the write's last audit event.
      expect(mine[mine.length - 1].revision).toBe(w.revision);
      for (const e of mine) {
        expect(e.actor).toEqual(w.actor);
        expect(e.requestId).toBe(w.requestId);
        if (e.type.startsWith('chat.')) expect(e.chatId).toBe(chatId);
        else expect(e).not.toHaveProperty('chatId');
      }
    }
    expect(i).toBe(events.length);
    expect(events[0].requestId).toBe('audit-test-terms-1');
    // The awkward characters of the presentation went through the hash intact.
    expect(events[0].data).toMatchObject({ presentation });
  });

  it('is the same in the global change feed, where every chain verifies', async () => {
    const all = await feed(3);
    const revisions = all.map((e) => e.revision);
    expect(new Set(revisions).size).toBe(revisions.length);
    const chains = chainsOf(all);
    expect(chains.get(userId)).toEqual(await userEvents(userId));
    for (const [chain, events] of chains) expect(verifyChain(events, chain), `chain ${chain}`).toEqual([]);
  });
});

describe('a user written by several writers at once', () => {
  it('is created once and keeps one chain, each write on the one before', async () => {
    const userId = 'u-first-race';
    const choices = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 'granted' : 'denied'));
    const responses = await Promise.all(
      choices.map((choice) => t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', writer).send({ choice, surface: 'web' })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const events = await userEvents(userId);
    expect(events).toHaveLength(8);
    expect(events[0].prevHash).toBe(GENESIS);
    expect(verifyChain(events, userId)).toEqual([]);
    expect(events.map((e) => e.revision).sort()).toEqual(responses.map((r) => r.body.revision).sort());
    // The user's choice is the latest made (by time, then revision: a write that waited for the
    // lock can be later in the chain than one made after it); the consent's version is the newest revision.
    const latest = [...events].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt) || Number(a.revision) - Number(b.revision)).pop()!;
    const consent = await t.http.get(`/v1/users/${userId}/training-consent`).set('authorization', admin);
    expect(consent.body.choice).toBe(latest.data.choice);
    expect(consent.body.choiceAt).toBe(latest.occurredAt);
    expect(consent.headers.etag).toBe(`"${events[events.length - 1].revision}"`);
  });
});

describe('the chain of events about no user (policies)', () => {
  it('starts with the seeded policy and verifies with policies added later', async () => {
    const year = new Date().getUTCFullYear() + 5;
    const versions = [`${year}-01-01`, `${year}-06-01`];
    for (const [i, version] of versions.entries()) {
      const res = await t.http
        .post('/v1/policies')
        .set('authorization', admin)
        .send({
          version,
          effectiveAt: `${year}-0${1 + i * 5}-01T00:00:00.000Z`,
          decisionDeadline: `${year}-0${2 + i * 5}-01T00:00:00.000Z`,
          defaultChoice: i === 0 ? 'denied' : 'granted',
          requiresReconsent: i === 0,
          retention: { grantedDays: 1000 + i, deniedDays: 20, violationDays: 700 },
        });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const policyEvents = (await feed(2)).filter((e) => e.userId === null);
    expect(policyEvents.length).toBeGreaterThanOrEqual(3);
    expect(policyEvents[0]).toMatchObject({ revision: '1', type: 'policy.created', prevHash: GENESIS, data: { version: '2025-09-28' } });
    expect(policyEvents.slice(-2).map((e) => e.data.version)).toEqual(versions);
    for (const e of policyEvents.slice(-2)) expect(e.actor).toEqual({ sub: 'admin-1', kind: 'service' });
    expect(verifyChain(policyEvents, null)).toEqual([]);

    const filtered = await feed(100, auditor, '&types=policy.created');
    expect(filtered.every((e) => e.type === 'policy.created')).toBe(true);
    expect(filtered).toEqual(policyEvents.filter((e) => e.type === 'policy.created'));
  });
});

describe('concurrent writes to one user', () => {
  it('keeps one unforked chain through 50 concurrent writes', async () => {
    const userId = 'busy-user';
    const plans = ['free', 'pro', 'max', 'team', 'enterprise'];
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? t.http
              .put(`/v1/users/${userId}/training-consent`)
              .set('authorization', writer)
              .send({ choice: i % 4 === 0 ? 'granted' : 'denied', surface: 'web' })
          : t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan: plans[i % plans.length] }),
      ),
    );
    for (const res of responses) expect(res.status, JSON.stringify(res.body)).toBe(200);
    const answered = responses.map((r) => r.body.revision as string);
    expect(new Set(answered).size).toBe(50);

    const events = await userEvents(userId, 7);
    expect(events).toHaveLength(50);
    expect(events.filter((e) => e.type === 'consent.choice_recorded')).toHaveLength(25);
    expect(events.filter((e) => e.type === 'user.plan_changed')).toHaveLength(25);
    expect(new Set(events.map((e) => e.revision))).toEqual(new Set(answered));
    expect(verifyChain(events, userId)).toEqual([]);

    // No fork: every prevHash is used exactly once, and only genesis or an event's own hash.
    const prevHashes = events.map((e) => e.prevHash);
    expect(new Set(prevHashes).size).toBe(50);
    expect(new Set(prevHashes)).toEqual(new Set([GENESIS, ...events.slice(0, -1).map((e) => e.hash)]));

    const rows = await t.db.query<{ n: number | string }>('SELECT count(*)::int AS n FROM audit_event_personal WHERE user_id = $1', [userId]);
    expect(Number(rows[0].n)).toBe(50);
  });
});

describe('the global change feed under concurrent writers', () => {
  it('gives a consumer following nextCursor every event exactly once', async () => {
    // Start where the feed stands now.
    let cursor = '0';
    for (let i = 0; i < 1000; i++) {
      const res = await t.http.get(`/v1/audit/events?after=${cursor}&limit=1000`).set('authorization', auditor);
      expect(res.status).toBe(200);
      cursor = res.body.nextCursor;
      if (res.body.items.length === 0) break;
    }
    const seen: AuditEventJson[] = [];
    const poll = async () => {
      const res = await t.http.get(`/v1/audit/events?after=${cursor}&limit=7`).set('authorization', auditor);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body.items);
      if (res.body.nextCursor !== null) cursor = res.body.nextCursor;
      return res.body.items.length;
    };

    let writing = true;
    const writes = Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0
          ? t.http.put(`/v1/users/feed-user-${i % 6}/plan`).set('authorization', writer).send({ plan: 'max' })
          : t.http
              .put(`/v1/users/feed-user-${i % 6}/training-consent`)
              .set('authorization', writer)
              .send({ choice: i % 2 === 0 ? 'granted' : 'denied', surface: 'web' }),
      ),
    ).finally(() => {
      writing = false;
    });
    // Read while the writers commit, then until the feed runs dry.
    for (let i = 0; i < 10_000 && writing; i++) await poll();
    const responses = await writes;
    for (const res of responses) expect(res.status, JSON.stringify(res.body)).toBe(200);
    for (let i = 0; i < 1000 && (await poll()) > 0; i++);

    const revisions = seen.map((e) => e.revision);
    expect(new Set(revisions).size).toBe(revisions.length);
    for (let i = 1; i < revisions.length; i++) expect(BigInt(revisions[i]) > BigInt(revisions[i - 1])).toBe(true);
    const written = new Set(responses.map((r) => r.body.revision as string));
    expect(new Set(revisions)).toEqual(written);
    for (const [chain, events] of chainsOf(seen)) {
      expect(verifyChain(events, chain), `chain ${chain}`).toEqual([]);
      expect(events).toEqual(await userEvents(chain!));
    }
  });
});

describe('append-only in the database', () => {
  const snapshot = () =>
    t.db.query(
      `SELECT a.revision::text AS revision, event_id, type, user_id, chat_id, data::text AS data, actor_sub, actor_kind,
              occurred_at::text AS occurred_at, request_id, prev_hash, hash
         FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision ORDER BY a.revision`,
    );

  it('refuses UPDATE, DELETE and TRUNCATE in raw SQL and leaves the rows as they were', async () => {
    await t.http.put('/v1/users/raw-sql-user/training-consent').set('authorization', writer).send({ choice: 'granted', surface: 'cli' }).expect(200);
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(1);

    await expect(t.db.query(`UPDATE audit_events SET type = 'user.plan_changed' WHERE revision IN (SELECT revision FROM audit_event_personal WHERE user_id = 'raw-sql-user')`)).rejects.toThrow();
    await expect(t.db.query(`UPDATE audit_events SET hash = prev_hash`)).rejects.toThrow();
    await expect(t.db.query(`UPDATE audit_events SET revision = revision + 1000000 WHERE revision = 1`)).rejects.toThrow();
    await expect(t.db.query(`DELETE FROM audit_events WHERE revision IN (SELECT revision FROM audit_event_personal WHERE user_id = 'raw-sql-user')`)).rejects.toThrow();
    await expect(t.db.query(`DELETE FROM audit_events`)).rejects.toThrow();
    await expect(t.db.query(`TRUNCATE audit_events`)).rejects.toThrow();
    await expect(t.db.query(`TRUNCATE TABLE audit_events RESTART IDENTITY CASCADE`)).rejects.toThrow();
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query(`DELETE FROM audit_events WHERE revision = (SELECT max(revision) FROM audit_events)`);
      }),
    ).rejects.toThrow();

    expect(await snapshot()).toEqual(before);
    expect(verifyChain(await userEvents('raw-sql-user'), 'raw-sql-user')).toEqual([]);
  });
});

describe('tampering', () => {
  it('is reported by the verifier for any altered, dropped or reordered event', async () => {
    const userId = 'tamper-user';
    const self = await t.bearer('consent:self', userId);
    await t.http
      .post(`/v1/users/${userId}/terms-acceptances`)
      .set('authorization', self)
      .send({ policyVersion: '2025-09-28', surface: 'android', trainingChoice: 'denied', presentation })
      .expect(201);
    await t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan: 'max' }).expect(200);
    await t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', self).send({ choice: 'granted', surface: 'web' }).expect(200);
    await t.http.put(`/v1/chats/${userId}-chat`).set('authorization', self).send({ userId }).expect(201);

    const events = await userEvents(userId);
    expect(events).toHaveLength(5);
    expect(verifyChain(events, userId)).toEqual([]);

    const tampered = (change: (events: AuditEventJson[]) => void): ChainBreak[] => {
      const copy = structuredClone(events);
      change(copy);
      return verifyChain(copy, userId);
    };
    const problems = (breaks: ChainBreak[]) => breaks.map((b) => `${b.index}:${b.problem}`);

    expect(problems(tampered((es) => void (es[1].data.choice = 'granted')))).toEqual(['1:hash']);
    expect(problems(tampered((es) => void ((es[0].data.presentation as Record<string, unknown>).trainingToggleDefault = false)))).toEqual(['0:hash']);
    expect(problems(tampered((es) => void (es[2].data.plan = 'team')))).toEqual(['2:hash']);
    expect(problems(tampered((es) => void (es[3].actor.kind = 'service')))).toEqual(['3:hash']);
    expect(problems(tampered((es) => void (es[3].actor.sub = 'someone-else')))).toEqual(['3:hash']);
    expect(problems(tampered((es) => void (es[2].occurredAt = '2025-01-01T00:00:00.000Z')))).toEqual(['2:hash']);
    expect(problems(tampered((es) => void (es[4].requestId = 'forged')))).toEqual(['4:hash']);
    expect(problems(tampered((es) => void (es[4].chatId = 'other-chat')))).toEqual(['4:hash']);
    expect(problems(tampered((es) => void (es[1].eventId = '00000000-0000-4000-8000-000000000000')))).toEqual(['1:hash']);
    expect(problems(tampered((es) => void (es[2].data.extra = true)))).toEqual(['2:hash']);
    expect(problems(tampered((es) => void delete (es[4] as Partial<AuditEventJson>).chatId))).toEqual(['4:hash']);
    // A forged event whose own hash is recomputed still breaks the link to the next one.
    expect(
      problems(
        tampered((es) => {
          es[2].data.plan = 'free';
          es[2].hash = expectedHash(es[2]);
        }),
      ),
    ).toEqual(['3:prevHash']);
    expect(problems(tampered((es) => void es.splice(2, 1)))).toEqual(['2:prevHash']);
    expect(problems(tampered((es) => void es.splice(0, 1)))).toEqual(['0:prevHash']);
    expect(tampered((es) => void ([es[1], es[2]] = [es[2], es[1]])).length).toBeGreaterThan(0);
    expect(problems(tampered((es) => void (es[0].prevHash = '1'.repeat(64))))).toEqual(['0:hash', '0:prevHash']);
    expect(problems(tampered((es) => void (es[1].revision = String(BigInt(es[1].revision) + 100n))))).toContain('1:hash');
  });
});

describe('per-user listing', () => {
  const userId = 'pager-user';
  let all: AuditEventJson[];

  beforeAll(async () => {
    for (const choice of ['granted', 'denied', 'granted', 'denied']) {
      await t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', writer).send({ choice, surface: 'desktop' }).expect(200);
      // Another user's events interleave with this one's in the global log.
      await t.http.put('/v1/users/pager-other/training-consent').set('authorization', writer).send({ choice, surface: 'desktop' }).expect(200);
    }
    await t.http.put(`/v1/users/${userId}/plan`).set('authorization', writer).send({ plan: 'free' }).expect(200);
    await t.http.put(`/v1/chats/${userId}-c1`).set('authorization', writer).send({ userId }).expect(201);
    await t.http.put(`/v1/chats/${userId}-c2`).set('authorization', writer).send({ userId, incognito: true }).expect(201);
    const res = await t.http.get(`/v1/users/${userId}/audit-events?limit=1000`).set('authorization', auditor);
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    all = res.body.items;
  });

  it('returns all of a user\'s events, and only theirs, in revision order', () => {
    expect(all).toHaveLength(7);
    expect(all.every((e) => e.userId === userId)).toBe(true);
    const revisions = all.map((e) => BigInt(e.revision));
    for (let i = 1; i < revisions.length; i++) expect(revisions[i] > revisions[i - 1]).toBe(true);
    expect(verifyChain(all, userId)).toEqual([]);
  });

  it.each([1, 2, 3, 6, 7, 8, 100])('pages with limit=%i return each event once, in revision order', async (limit) => {
    const pages: AuditEventJson[][] = [];
    let after: string | null = null;
    for (let i = 0; i < 50; i++) {
      const query: string = after === null ? `limit=${limit}` : `limit=${limit}&after=${after}`;
      const res = await t.http.get(`/v1/users/${userId}/audit-events?${query}`).set('authorization', auditor);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      pages.push(res.body.items);
      if (res.body.items.length > 0 && res.body.nextCursor !== null) {
        // The cursor points past the page just read.
        expect(res.body.nextCursor).toBe(res.body.items[res.body.items.length - 1].revision);
      }
      if (res.body.nextCursor === null || res.body.items.length === 0) break;
      after = res.body.nextCursor;
    }
    expect(pages.flat()).toEqual(all);
    // Every page but the last is full.
    for (const page of pages.slice(0, -1)) expect(page).toHaveLength(limit);
  });

  it('starts after a given revision', async () => {
    const res = await t.http.get(`/v1/users/${userId}/audit-events?after=${all[2].revision}`).set('authorization', auditor);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual(all.slice(3));
    // A revision between two of this user's events (another user's) works as a cursor too.
    const between = String(BigInt(all[0].revision) + 1n);
    const res2 = await t.http.get(`/v1/users/${userId}/audit-events?after=${between}`).set('authorization', auditor);
    expect(res2.status).toBe(200);
    expect(res2.body.items).toEqual(all.slice(1));
  });

  it.each(['', '?limit=5', '?after=0', '?after=1', '?after=3&limit=2'])('is 404 for an unknown user (query "%s")', async (query) => {
    const res = await t.http.get(`/v1/users/nobody-here/audit-events${query}`).set('authorization', auditor);
    expect(res.status, JSON.stringify(res.body)).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('rejects a malformed cursor or limit with 400', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'after=-1', 'after=abc']) {
      const res = await t.http.get(`/v1/users/${userId}/audit-events?${query}`).set('authorization', auditor);
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe('VALIDATION_FAILED');
    }
  });

  it('lets consent:self read its own events but not another user\'s', async () => {
    const own = await t.http.get(`/v1/users/${userId}/audit-events`).set('authorization', await t.bearer('consent:self', userId));
    expect(own.status).toBe(200);
    expect(own.body.items).toEqual(all);

    const other = await t.http.get('/v1/users/pager-other/audit-events').set('authorization', await t.bearer('consent:self', userId));
    expect(other.status).toBe(403);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(other.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(JSON.stringify(other.body)).not.toContain('consent.choice_recorded');

    const unknown = await t.http.get('/v1/users/nobody-here/audit-events').set('authorization', await t.bearer('consent:self', userId));
    expect(unknown.status).toBe(403);
  });
});
