import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceOn, type ServiceOn } from '../helpers/app.js';
import { PrivateCluster } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { TestKeys } from '../helpers/tokens.js';

/**
 * Read replicas for real: a PostgreSQL primary of this file's own and two streaming replicas made
 * from it with pg_basebackup (one replaying 150 ms late), the service in this process on them.
 * `writer` uses the primary alone; the others send reads to replicas. Replay is paused where a
 * test needs a replica behind (pg_wal_replay_pause), so what is asserted does not hang on timing;
 * waits for a replica to catch up are bounded polls. The primary is stopped by the last test.
 */
const ADMIN = 'admin';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe.runIf(process.env.TEST_DATABASE === 'postgres')('read replicas', () => {
  let primary: PrivateCluster;
  let replica: PrivateCluster;
  let lagged: PrivateCluster;
  let url: string;
  let keys: TestKeys;
  let sql: postgres.Sql;
  let writer: ServiceOn;
  let reader: ServiceOn;
  const started: ServiceOn[] = [];

  const start = async (env: Record<string, string>) => {
    const svc = await startServiceOn(url, env, keys);
    started.push(svc);
    return svc;
  };

  beforeAll(async () => {
    keys = await TestKeys.create();
    primary = await PrivateCluster.create(await freePort());
    url = await primary.createDatabase('consent');
    writer = await start({});
    replica = await PrivateCluster.replicaOf(primary, await freePort());
    lagged = await PrivateCluster.replicaOf(primary, await freePort(), { recovery_min_apply_delay: '150ms' });
    reader = await start({ DATABASE_READ_URLS: replica.urlFor('consent'), DATABASE_READ_MAX_LAG_MS: '60000' });
    sql = postgres(url, { max: 2, onnotice: () => {} });
    await seed();
  }, 240_000);

  afterAll(async () => {
    for (const svc of started) await svc.close().catch(() => {});
    await sql?.end({ timeout: 1 });
    await Promise.all([primary, replica, lagged].map((c) => c?.destroy()));
  });

  async function api(svc: ServiceOn, method: 'get' | 'put' | 'post' | 'delete', path: string, body?: unknown, scope = ADMIN) {
    const req = svc.http[method](path).set('authorization', await svc.bearer(scope));
    return body === undefined ? req : req.send(body as object);
  }

  async function gql(svc: ServiceOn, query: string) {
    const res = await svc.http.post('/graphql').set('authorization', await svc.bearer(ADMIN)).send({ query });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    return res.body.data;
  }

  const reads = async (svc: ServiceOn, database: string) => (await svc.metric(`consent_db_reads_total{database="${database}"}`)) ?? 0;

  async function replicaState(svc: ServiceOn, name = 'replica-1') {
    const res = await svc.http.get('/readyz');
    return (res.body.replicas as { name: string; state: string; settledRevision: string | null }[]).find((r) => r.name === name)!;
  }

  /** Until the replica, as `svc` sees it, may answer at `revision`. */
  const caughtUp = (svc: ServiceOn, revision: string, name = 'replica-1') =>
    waitFor(`${name} at revision ${revision}`, async () => {
      const r = await replicaState(svc, name);
      return r.state === 'ready' && r.settledRevision !== null && BigInt(r.settledRevision) >= BigInt(revision);
    });

  const pauseReplay = async (c: PrivateCluster) => {
    await c.psql('SELECT pg_wal_replay_pause()');
    // 'pause requested' is as good: no WAL record is replayed after the request.
    await waitFor('replay paused', async () => (await c.psql('SELECT pg_get_wal_replay_pause_state()')).trim() !== 'not paused');
  };
  const resumeReplay = (c: PrivateCluster) => c.psql('SELECT pg_wal_replay_resume()');

  const USERS = ['rep-u1', 'rep-u2', 'rep-u3', 'rep-u4'];
  const CHATS = ['rep-c1', 'rep-c2', 'rep-c3', 'rep-c4', 'rep-c5', 'rep-c6'];
  let seeded = '0';

  /** Users of every kind, chats with activity, a deletion, a flag and a future policy, through the primary-only instance. */
  async function seed() {
    const plans = ['pro', 'team', 'free', 'max'];
    for (const [i, u] of USERS.entries()) {
      const res = await api(writer, 'post', `/v1/users/${u}/terms-acceptances`, {
        policyVersion: '2025-09-28',
        surface: 'web',
        plan: plans[i],
        ...(i === 2 ? {} : { trainingChoice: i === 3 ? 'denied' : 'granted' }),
        presentation: { trainingToggleDefault: true, trainingToggleShown: true },
      });
      expect(res.status).toBe(201);
    }
    for (const [i, c] of CHATS.entries()) {
      const res = await api(writer, 'put', `/v1/chats/${c}`, { userId: USERS[i % USERS.length], incognito: i === 5 });
      expect(res.status).toBe(201);
    }
    expect((await api(writer, 'post', '/v1/chats/rep-c1/activity', {})).status).toBe(204);
    expect((await api(writer, 'delete', '/v1/chats/rep-c2')).status).toBe(200);
    expect((await api(writer, 'post', '/v1/chats/rep-c3/flags', { type: 'policy_violation' })).status).toBe(200);
    const policy = await api(writer, 'post', '/v1/policies', {
      version: 'rep-2099',
      effectiveAt: '2099-01-01T00:00:00.000Z',
      decisionDeadline: '2099-02-01T00:00:00.000Z',
      defaultChoice: 'denied',
      requiresReconsent: true,
      retention: { grantedDays: 100, deniedDays: 10, violationDays: 200 },
    });
    expect(policy.status).toBe(201);
    const last = await api(writer, 'put', `/v1/users/${USERS[0]}/training-consent`, { choice: 'granted', surface: 'ios' });
    expect(last.status).toBe(200);
    seeded = last.body.revision;
  }

  it('sends every kind of read to the replica and writes to the primary', async () => {
    const write = await api(reader, 'put', '/v1/users/rep-u2/plan', { plan: 'team' });
    expect(write.status).toBe(200);
    await caughtUp(reader, write.body.revision);
    const before = { replica: await reads(reader, 'replica-1'), primary: await reads(reader, 'primary') };
    const answers = [
      await api(reader, 'get', '/v1/chats/rep-c1/training-eligibility'),
      await api(reader, 'post', '/v1/training-eligibility/batch', { chatIds: CHATS }),
      await api(reader, 'get', '/v1/training-eligibility/eligible-chats'),
      await api(reader, 'get', '/v1/users/rep-u1/training-consent'),
      await api(reader, 'get', '/v1/users/rep-u1'),
      await api(reader, 'get', '/v1/users/rep-u1/terms-acceptances'),
      await api(reader, 'get', '/v1/users/rep-u1/audit-events'),
      await api(reader, 'get', '/v1/chats/rep-c1'),
      await api(reader, 'get', '/v1/policies'),
      await api(reader, 'get', '/v1/audit/events?after=0'),
    ];
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    const data = await gql(reader, '{ trainingEligibility(chatId: "rep-c1") { reason } policies { version } }');
    expect(data.policies.map((p: { version: string }) => p.version)).toContain('rep-2099');
    const after = { replica: await reads(reader, 'replica-1'), primary: await reads(reader, 'primary') };
    expect(after.replica - before.replica).toBe(answers.length + 2);
    expect(after.primary - before.primary).toBe(0);
    expect((await reader.http.get('/readyz')).body).toMatchObject({ status: 'ready', replicas: [{ name: 'replica-1', state: 'ready' }] });
  });

  it('answers at a revision exactly as the primary does', async () => {
    await caughtUp(reader, seeded);
    const before = { replica: await reads(reader, 'replica-1'), primary: await reads(reader, 'primary') };
    const at = `atRevision=${seeded}`;
    const paths = [
      ...CHATS.map((c) => `/v1/chats/${c}/training-eligibility?${at}`),
      ...USERS.map((u) => `/v1/users/${u}/training-consent?${at}`),
      `/v1/training-eligibility/eligible-chats?${at}`,
    ];
    for (const path of paths) {
      const [fromReplica, fromPrimary] = [await api(reader, 'get', path), await api(writer, 'get', path)];
      expect(fromReplica.status, path).toBe(200);
      expect(fromReplica.text, path).toBe(fromPrimary.text);
      expect(fromReplica.headers['consent-revision'] ?? null, path).toBe(fromPrimary.headers['consent-revision'] ?? null);
    }
    const batch = { chatIds: [...CHATS, 'rep-unknown'], atRevision: seeded };
    const [b1, b2] = [await api(reader, 'post', '/v1/training-eligibility/batch', batch), await api(writer, 'post', '/v1/training-eligibility/batch', batch)];
    expect(b1.body).toEqual(b2.body);
    expect(new Set(b1.body.results.map((r: { reason: string }) => r.reason)).size).toBeGreaterThanOrEqual(4);
    const gqlAt = `{ trainingEligibilityBatch(chatIds: ${JSON.stringify(CHATS)}, atRevision: "${seeded}") { revision results { chatId reason retentionUntil } } }`;
    expect(await gql(reader, gqlAt)).toEqual(await gql(writer, gqlAt));
    const after = { replica: await reads(reader, 'replica-1'), primary: await reads(reader, 'primary') };
    expect(after.replica - before.replica).toBe(paths.length + 2);
    expect(after.primary - before.primary).toBe(0);
  });

  it('reads a write made through another instance with minRevision, from the primary while the replica has not replayed it', async () => {
    await caughtUp(reader, seeded);
    await pauseReplay(replica);
    try {
      const write = await api(writer, 'put', '/v1/users/rep-u1/training-consent', { choice: 'denied', surface: 'web' });
      expect(write.status).toBe(200);
      const revision = write.body.revision as string;
      const stale = await api(reader, 'get', '/v1/users/rep-u1/training-consent');
      expect(stale.status).toBe(200);
      expect(BigInt(stale.body.revision)).toBeLessThan(BigInt(revision));
      expect(stale.body.choice).toBe('granted');

      const primaryBefore = await reads(reader, 'primary');
      const fresh = await api(reader, 'get', `/v1/users/rep-u1/training-consent?minRevision=${revision}`);
      expect(fresh.status).toBe(200);
      expect(BigInt(fresh.body.revision)).toBeGreaterThanOrEqual(BigInt(revision));
      expect(fresh.body.choice).toBe('denied');
      const single = await api(reader, 'get', `/v1/chats/rep-c1/training-eligibility?minRevision=${revision}`);
      expect(single.body.reason).toBe('opted_out');
      const batch = await api(reader, 'post', '/v1/training-eligibility/batch', { chatIds: ['rep-c1'], minRevision: revision });
      expect(batch.body.results[0].reason).toBe('opted_out');
      const feed = await api(reader, 'get', `/v1/audit/events?after=${BigInt(revision) - 1n}&minRevision=${revision}`);
      expect(feed.body.items.map((e: { revision: string }) => e.revision)).toContain(revision);
      // Fields nested under one asked with minRevision read at it too.
      const nested = await gql(
        reader,
        `{ user(userId: "rep-u1", minRevision: "${revision}") { revision trainingConsent { choice } chats { items { chatId trainingEligibility { reason } } } } }`,
      );
      expect(BigInt(nested.user.revision)).toBeGreaterThanOrEqual(BigInt(revision));
      expect(nested.user.trainingConsent.choice).toBe('denied');
      expect(nested.user.chats.items.find((c: { chatId: string }) => c.chatId === 'rep-c1').trainingEligibility.reason).toBe('opted_out');
      expect(await reads(reader, 'primary')).toBeGreaterThan(primaryBefore);
    } finally {
      await resumeReplay(replica);
    }
  });

  it('skips a replica that lags past DATABASE_READ_MAX_LAG_MS, and reads from it again once it has caught up', async () => {
    const svc = await start({ DATABASE_READ_URLS: replica.urlFor('consent'), DATABASE_READ_MAX_LAG_MS: '300' });
    expect(await svc.metric('consent_db_read_max_lag_seconds')).toBe(0.3);
    await caughtUp(svc, seeded);
    await pauseReplay(replica);
    try {
      const write = await api(writer, 'put', '/v1/users/rep-u3/training-consent', { choice: 'granted', surface: 'web' });
      expect(write.status).toBe(200);
      await waitFor('replica-1 lagging', async () => (await replicaState(svc)).state === 'lagging');
      expect(await svc.metric('consent_db_replica_ready{database="replica-1",state="lagging"}')).toBe(0);
      expect(await svc.metric('consent_db_replica_lag_seconds{database="replica-1"}')).toBeGreaterThan(0.3);
      const before = { replica: await reads(svc, 'replica-1'), primary: await reads(svc, 'primary') };
      for (let i = 0; i < 5; i++) {
        const res = await api(svc, 'get', '/v1/users/rep-u3/training-consent');
        expect(res.status).toBe(200);
        expect(res.body.choice).toBe('granted');
      }
      expect(await reads(svc, 'replica-1')).toBe(before.replica);
      expect((await reads(svc, 'primary')) - before.primary).toBe(5);
    } finally {
      await resumeReplay(replica);
    }
    await waitFor('replica-1 ready again', async () => (await replicaState(svc)).state === 'ready');
    const before = await reads(svc, 'replica-1');
    expect((await api(svc, 'get', '/v1/users/rep-u3/training-consent')).status).toBe(200);
    expect(await reads(svc, 'replica-1')).toBe(before + 1);
  });

  it('skips a replica that is down, and reads from it again once it is back', async () => {
    const svc = await start({ DATABASE_READ_URLS: replica.urlFor('consent'), DATABASE_READ_MAX_LAG_MS: '60000', DATABASE_READ_RETRY_MS: '200' });
    await caughtUp(svc, seeded);
    await replica.stop('fast');
    try {
      const before = await reads(svc, 'primary');
      for (let i = 0; i < 5; i++) {
        const res = await api(svc, 'get', '/v1/chats/rep-c4/training-eligibility');
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
      expect((await reads(svc, 'primary')) - before).toBe(5);
      expect((await replicaState(svc)).state).toBe('down');
      expect((await svc.http.get('/readyz')).status).toBe(200);
    } finally {
      await replica.start();
    }
    await waitFor('replica-1 back', async () => (await replicaState(svc)).state === 'ready');
    const before = await reads(svc, 'replica-1');
    expect((await api(svc, 'get', '/v1/chats/rep-c4/training-eligibility')).status).toBe(200);
    expect(await reads(svc, 'replica-1')).toBe(before + 1);
  });

  it('gives a consumer following the change feed through replicas every event exactly once, in order', async () => {
    const svc = await start({
      DATABASE_READ_URLS: `${replica.urlFor('consent')},${lagged.urlFor('consent')}`,
      DATABASE_READ_MAX_LAG_MS: '60000',
    });
    await caughtUp(svc, seeded, 'replica-2');
    const [{ r: startAt }] = await sql<{ r: string }[]>`SELECT max(revision)::text AS r FROM audit_events`;
    const counts = async () => Object.fromEntries(await Promise.all(['primary', 'replica-1', 'replica-2'].map(async (d) => [d, await reads(svc, d)])));
    const before = await counts();
    let writing = true;
    const writers = Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; i < 25; i++) {
        const user = USERS[(w + i) % USERS.length];
        const written = await api(writer, 'put', `/v1/users/${user}/training-consent`, { choice: i % 2 ? 'granted' : 'denied', surface: 'web' });
        expect(written.status, JSON.stringify(written.body)).toBe(200);
        // Revisions that never become events: a refused write (412 after it took its revision) and an activity report.
        if (i % 7 === 0) {
          const refused = await writer.http
            .put(`/v1/users/${user}/training-consent`)
            .set('authorization', await writer.bearer(ADMIN))
            .set('if-match', '"1"')
            .send({ choice: 'granted', surface: 'web' });
          expect(refused.status, JSON.stringify(refused.body)).toBe(412);
          const activity = await api(writer, 'post', `/v1/chats/${['rep-c1', 'rep-c3', 'rep-c4'][w % 3]}/activity`, {});
          expect(activity.status, JSON.stringify(activity.body)).toBe(204);
        }
      }
    });
    const done = Promise.all(writers).finally(() => {
      writing = false;
    });
    const seen: string[] = [];
    let cursor = startAt;
    let pages = 0;
    for (;;) {
      const page = await api(svc, 'get', `/v1/audit/events?after=${cursor}&limit=20`, undefined, 'training:read');
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      pages++;
      for (const e of page.body.items) seen.push(e.revision);
      expect(BigInt(page.body.nextCursor)).toBeGreaterThanOrEqual(BigInt(cursor));
      cursor = page.body.nextCursor;
      if (!writing && page.body.items.length === 0) {
        const [{ r }] = await sql<{ r: string }[]>`SELECT max(revision)::text AS r FROM audit_events`;
        if (BigInt(cursor) >= BigInt(r)) break;
      }
      if (page.body.items.length === 0) await sleep(10);
    }
    await done;
    const all = await sql<{ revision: string }[]>`SELECT revision::text AS revision FROM audit_events WHERE revision > ${startAt} ORDER BY audit_events.revision`;
    const missed = all.map((r) => r.revision).filter((r) => !seen.includes(r));
    expect(missed, `events never delivered (of ${all.length})`).toEqual([]);
    expect(seen).toEqual(all.map((r) => r.revision));
    const after = await counts();
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
    console.log(`change feed through two replicas: ${seen.length} events in ${pages} pages; reads sent ${JSON.stringify(delta)}`);
    expect(delta['replica-1'] + delta['replica-2']).toBeGreaterThan(0);
  });

  it('with the primary stopped, answers from a replica that has the revision asked for, and 503 after MIN_REVISION_WAIT_MS when none has', async () => {
    const svc = await start({ DATABASE_READ_URLS: replica.urlFor('consent'), DATABASE_READ_MAX_LAG_MS: '60000', MIN_REVISION_WAIT_MS: '500' });
    expect(await svc.metric('consent_min_revision_wait_max_seconds')).toBe(0.5);
    const kept = await api(writer, 'put', '/v1/users/rep-u4/plan', { plan: 'max' });
    await caughtUp(svc, kept.body.revision);
    await pauseReplay(replica);
    const unreplayed = await api(writer, 'put', '/v1/users/rep-u4/plan', { plan: 'pro' });
    expect(unreplayed.status).toBe(200);
    await primary.stop('fast');

    const fromReplica = await api(svc, 'get', `/v1/users/rep-u4?minRevision=${kept.body.revision}`);
    expect(fromReplica.status, JSON.stringify(fromReplica.body)).toBe(200);
    expect(fromReplica.body.plan).toBe('max');

    const started = performance.now();
    const refused = await api(svc, 'get', `/v1/users/rep-u4?minRevision=${unreplayed.body.revision}`);
    const waited = performance.now() - started;
    console.log(`minRevision no database could answer at: 503 after ${Math.round(waited)} ms (MIN_REVISION_WAIT_MS=500)`);
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('UNAVAILABLE');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(waited).toBeGreaterThanOrEqual(500);

    const write = await api(svc, 'put', '/v1/users/rep-u4/plan', { plan: 'free' });
    expect(write.status).toBe(503);
    const ready = await svc.http.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.replicas[0]).toMatchObject({ name: 'replica-1' });
  });
});
