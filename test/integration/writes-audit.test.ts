import { createHash } from 'node:crypto';
import type { Response, Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Every write appends exactly the events it should, with the right type, data and actor, and
 * answers with the revision of its last event.
 */

interface AuditEvent {
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

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const GENESIS = '0'.repeat(64);
const PRESENTATION = { trainingToggleDefault: true, trainingToggleShown: true };

let t: TestApp;
let writer: string;
let admin: string;
let auditor: string;

beforeAll(async () => {
  t = await startTestApp();
  writer = await t.bearer('consent:write', 'frontend');
  admin = await t.bearer('admin', 'admin-1');
  auditor = await t.bearer('audit:read', 'auditor');
});
afterAll(async () => t?.close());

async function totalEvents(): Promise<number> {
  const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events');
  return Number(rows[0].n);
}

async function newestRevision(): Promise<string> {
  const rows = await t.db.query<{ r: string }>('SELECT coalesce(max(revision), 0)::text AS r FROM audit_events');
  return rows[0].r;
}

/** Events after a revision, from the global feed. */
async function feedAfter(revision: string): Promise<AuditEvent[]> {
  const res = await t.http.get(`/v1/audit/events?after=${revision}&limit=1000`).set('authorization', auditor);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function userEvents(userId: string): Promise<AuditEvent[]> {
  const res = await t.http.get(`/v1/users/${userId}/audit-events?limit=1000`).set('authorization', auditor);
  expect(res.status).toBe(200);
  return res.body.items;
}

/** Runs a write and returns its response with the events it appended (from the feed), checked against raw counts. */
async function write(send: () => Test): Promise<{ res: Response; events: AuditEvent[] }> {
  const after = await newestRevision();
  const count = await totalEvents();
  const res = await send();
  const events = await feedAfter(after);
  expect(await totalEvents()).toBe(count + events.length);
  return { res, events };
}

/** What every event of one request shares. */
function expectOneRequest(res: Response, events: AuditEvent[], actor: AuditEvent['actor'], userId: string | null): void {
  for (const e of events) {
    expect(e.actor).toEqual(actor);
    expect(e.userId).toBe(userId);
    expect(e.requestId).toBe(res.headers['x-request-id']);
    expect(e.occurredAt).toMatch(ISO_MS);
    expect(e.occurredAt).toBe(events[0].occurredAt);
  }
  const revisions = events.map((e) => BigInt(e.revision));
  expect([...revisions].sort((a, b) => (a < b ? -1 : 1))).toEqual(revisions);
  expect(res.body.revision).toBe(events.at(-1)!.revision);
}

const plan = (userId: string, body: unknown, auth = writer) => () => t.http.put(`/v1/users/${userId}/plan`).set('authorization', auth).send(body as object);
const consent = (userId: string, body: unknown, auth = writer) => () =>
  t.http.put(`/v1/users/${userId}/training-consent`).set('authorization', auth).send(body as object);
const terms = (userId: string, body: Record<string, unknown>, auth = writer) => () =>
  t.http
    .post(`/v1/users/${userId}/terms-acceptances`)
    .set('authorization', auth)
    .send({ policyVersion: '2025-09-28', surface: 'web', presentation: PRESENTATION, ...body });

/** RFC 8785 for the values events hold (strings, integers, booleans, null, arrays, objects). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function expectChain(events: AuditEvent[]): void {
  let prev = GENESIS;
  for (const e of events) {
    expect(e.prevHash).toBe(prev);
    const { hash, ...rest } = e;
    expect(hash).toBe(createHash('sha256').update(canonical(rest), 'utf8').digest('hex'));
    prev = hash;
  }
}

describe('PUT /v1/users/{id}/plan', () => {
  it('appends one user.plan_changed event by the calling service', async () => {
    const { res, events } = await write(plan('w-plan', { plan: 'pro' }));
    expect(res.status).toBe(200);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'user.plan_changed', userId: 'w-plan', data: { plan: 'pro' } });
    expectOneRequest(res, events, { sub: 'frontend', kind: 'service' }, 'w-plan');
  });

  it('appends one event per change, also when an admin changes it', async () => {
    const { res, events } = await write(plan('w-plan', { plan: 'team' }, admin));
    expect(res.status).toBe(200);
    expect(events.map((e) => e.type)).toEqual(['user.plan_changed']);
    expect(events[0].data).toEqual({ plan: 'team' });
    expectOneRequest(res, events, { sub: 'admin-1', kind: 'service' }, 'w-plan');
  });

  it('is not open to a consent:self token, which appends nothing', async () => {
    const { res, events } = await write(plan('w-plan-self', { plan: 'free' }, await t.bearer('consent:self', 'w-plan-self')));
    expect(res.status).toBe(403);
    expect(events).toEqual([]);
  });
});

describe('PUT /v1/users/{id}/training-consent', () => {
  it('appends one consent.choice_recorded event by the calling service', async () => {
    const { res, events } = await write(consent('w-consent', { choice: 'granted', surface: 'android' }));
    expect(res.status).toBe(200);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'consent.choice_recorded', data: { choice: 'granted', surface: 'android' } });
    expectOneRequest(res, events, { sub: 'frontend', kind: 'service' }, 'w-consent');
    expect(res.body.choiceAt).toBe(events[0].occurredAt);
  });

  it('is acted by the user itself when a consent:self token writes its own consent', async () => {
    const self = await t.bearer('consent:self', 'w-self');
    const { res, events } = await write(consent('w-self', { choice: 'denied', surface: 'ios' }, self));
    expect(res.status).toBe(200);
    expect(events.map((e) => e.type)).toEqual(['consent.choice_recorded']);
    expectOneRequest(res, events, { sub: 'w-self', kind: 'user' }, 'w-self');
  });

  it('appends an event for the same choice made again', async () => {
    await write(consent('w-again', { choice: 'granted', surface: 'web' }));
    const { res, events } = await write(consent('w-again', { choice: 'granted', surface: 'web' }));
    expect(res.status).toBe(200);
    expect(events.map((e) => e.type)).toEqual(['consent.choice_recorded']);
    expectOneRequest(res, events, { sub: 'frontend', kind: 'service' }, 'w-again');
  });
});

describe('POST /v1/users/{id}/terms-acceptances', () => {
  it('appends one terms.accepted event without a choice', async () => {
    const presentation = { trainingToggleDefault: false, trainingToggleShown: true, locale: 'fr-FR' };
    const { res, events } = await write(terms('w-terms', { surface: 'desktop', presentation }));
    expect(res.status).toBe(201);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'terms.accepted',
      data: { acceptanceId: res.body.acceptanceId, policyVersion: '2025-09-28', surface: 'desktop', presentation, trainingChoice: null },
    });
    expectOneRequest(res, events, { sub: 'frontend', kind: 'service' }, 'w-terms');
    expect(res.body.acceptedAt).toBe(events[0].occurredAt);
  });

  it('appends the acceptance, then the choice, when a choice is given', async () => {
    const { res, events } = await write(terms('w-terms-choice', { surface: 'ios', trainingChoice: 'granted' }));
    expect(res.status).toBe(201);
    expect(events.map((e) => e.type)).toEqual(['terms.accepted', 'consent.choice_recorded']);
    expect(events[0].data).toMatchObject({ acceptanceId: res.body.acceptanceId, trainingChoice: 'granted' });
    expect(events[1].data).toEqual({ choice: 'granted', surface: 'ios' });
    expectOneRequest(res, events, { sub: 'frontend', kind: 'service' }, 'w-terms-choice');
  });

  it('is acted by the user itself for a consent:self token, both events included', async () => {
    const self = await t.bearer('consent:self', 'w-terms-self');
    const bare = await write(terms('w-terms-self', {}, self));
    expect(bare.res.status).toBe(201);
    expect(bare.events.map((e) => e.type)).toEqual(['terms.accepted']);
    expectOneRequest(bare.res, bare.events, { sub: 'w-terms-self', kind: 'user' }, 'w-terms-self');

    const chosen = await write(terms('w-terms-self', { trainingChoice: 'denied' }, self));
    expect(chosen.res.status).toBe(201);
    expect(chosen.events.map((e) => e.type)).toEqual(['terms.accepted', 'consent.choice_recorded']);
    expectOneRequest(chosen.res, chosen.events, { sub: 'w-terms-self', kind: 'user' }, 'w-terms-self');
  });

  it('also appends the plan change when a plan is given, one event per fact', async () => {
    const { res, events } = await write(terms('w-terms-plan', { trainingChoice: 'granted', plan: 'max' }));
    expect(res.status).toBe(201);
    const types = events.map((e) => e.type);
    expect([...types].sort()).toEqual(['consent.choice_recorded', 'terms.accepted', 'user.plan_changed']);
    expect(types[0]).toBe('terms.accepted');
    expect(events.find((e) => e.type === 'user.plan_changed')!.data).toEqual({ plan: 'max' });
    expectOneRequest(res, events, { sub: 'frontend', kind: 'service' }, 'w-terms-plan');
  });
});

describe('POST /v1/policies', () => {
  it('appends one policy.created event about no user, on the policies chain', async () => {
    const policy = {
      version: '2099-w',
      effectiveAt: '2099-01-01T00:00:00.000Z',
      decisionDeadline: '2099-02-01T00:00:00.000Z',
      defaultChoice: 'denied',
      requiresReconsent: true,
      retention: { grantedDays: 10, deniedDays: 5, violationDays: 20 },
    };
    const { res, events } = await write(() => t.http.post('/v1/policies').set('authorization', admin).send(policy));
    expect(res.status).toBe(201);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'policy.created', data: policy });
    expect(events[0].chatId).toBeUndefined();
    expectOneRequest(res, events, { sub: 'admin-1', kind: 'service' }, null);

    const policyEvents = (await feedAfter('0')).filter((e) => e.userId === null);
    expect(policyEvents.map((e) => e.type)).toEqual(['policy.created', 'policy.created']);
    expectChain(policyEvents);
  });
});

describe('actor', () => {
  it('is the user only when a consent:self token acts on its own sub', async () => {
    const mixed = await t.bearer('consent:self consent:write', 'w-mixed');
    const own = await write(consent('w-mixed', { choice: 'granted', surface: 'web' }, mixed));
    expect(own.res.status).toBe(200);
    expectOneRequest(own.res, own.events, { sub: 'w-mixed', kind: 'user' }, 'w-mixed');

    const other = await write(consent('w-mixed-other', { choice: 'granted', surface: 'web' }, mixed));
    expect(other.res.status).toBe(200);
    expectOneRequest(other.res, other.events, { sub: 'w-mixed', kind: 'service' }, 'w-mixed-other');

    const adminOnUser = await write(consent('w-mixed', { choice: 'denied', surface: 'web' }, admin));
    expect(adminOnUser.res.status).toBe(200);
    expectOneRequest(adminOnUser.res, adminOnUser.events, { sub: 'admin-1', kind: 'service' }, 'w-mixed');

    const writerNamedLikeUser = await write(consent('w-named', { choice: 'denied', surface: 'web' }, await t.bearer('consent:write', 'w-named')));
    expect(writerNamedLikeUser.res.status).toBe(200);
    expectOneRequest(writerNamedLikeUser.res, writerNamedLikeUser.events, { sub: 'w-named', kind: 'service' }, 'w-named');
  });
});

describe('revisions and the log', () => {
  it('grows the revision with every write and chains each user\'s events', async () => {
    const self = await t.bearer('consent:self', 'w-chain');
    const steps = [
      plan('w-chain', { plan: 'free' }),
      consent('w-chain', { choice: 'granted', surface: 'web' }, self),
      terms('w-chain', { trainingChoice: 'denied' }, self),
      terms('w-chain', {}),
      plan('w-chain', { plan: 'pro' }),
      consent('w-chain', { choice: 'granted', surface: 'cli' }),
    ];
    const revisions: bigint[] = [];
    let appended = 0;
    for (const step of steps) {
      const { res, events } = await write(step);
      expect(res.status).toBeLessThan(300);
      revisions.push(BigInt(res.body.revision));
      appended += events.length;
    }
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThan(revisions[i - 1]);

    const events = await userEvents('w-chain');
    expect(events).toHaveLength(appended);
    expect(events.map((e) => e.type)).toEqual([
      'user.plan_changed',
      'consent.choice_recorded',
      'terms.accepted',
      'consent.choice_recorded',
      'terms.accepted',
      'user.plan_changed',
      'consent.choice_recorded',
    ]);
    expect(events.at(-1)!.revision).toBe(String(revisions.at(-1)));
    expectChain(events);
  });

  it('appends nothing for reads', async () => {
    await write(consent('w-read', { choice: 'granted', surface: 'web' }));
    const after = await newestRevision();
    const count = await totalEvents();
    const reader = await t.bearer('consent:read', 'reader');
    for (const path of [
      '/v1/users/w-read',
      '/v1/users/w-read/training-consent',
      '/v1/users/w-read/terms-acceptances',
      '/v1/policies',
      '/v1/policies/2025-09-28',
    ]) {
      expect((await t.http.get(path).set('authorization', reader)).status).toBe(200);
    }
    expect((await t.http.get('/v1/users/w-read/audit-events').set('authorization', auditor)).status).toBe(200);
    expect(await totalEvents()).toBe(count);
    expect(await feedAfter(after)).toEqual([]);
  });

  it('appends nothing when a write is replayed with its Idempotency-Key', async () => {
    const writes: (() => Test)[] = [
      () => plan('w-replay', { plan: 'free' })().set('idempotency-key', 'k-plan'),
      () => consent('w-replay', { choice: 'granted', surface: 'web' })().set('idempotency-key', 'k-consent'),
      () => terms('w-replay', {})().set('idempotency-key', 'k-terms'),
      () => terms('w-replay', { trainingChoice: 'denied' })().set('idempotency-key', 'k-terms-choice'),
      () =>
        t.http
          .post('/v1/policies')
          .set('authorization', admin)
          .set('idempotency-key', 'k-policy')
          .send({
            version: '2099-replay',
            effectiveAt: '2099-03-01T00:00:00.000Z',
            decisionDeadline: '2099-04-01T00:00:00.000Z',
            defaultChoice: 'granted',
            requiresReconsent: false,
            retention: { grantedDays: 1, deniedDays: 1, violationDays: 1 },
          }),
    ];
    for (const send of writes) {
      const first = await write(send);
      expect(first.res.status).toBeLessThan(300);
      expect(first.events.length).toBeGreaterThan(0);
      const replay = await write(send);
      expect(replay.res.status).toBe(first.res.status);
      expect(replay.res.body).toEqual(first.res.body);
      expect(replay.events).toEqual([]);
    }
  });
});
