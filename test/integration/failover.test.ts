import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChains, type AuditEvent } from '../../src/audit/hash.js';
import { PrivateCluster } from '../helpers/cluster.js';
import { Load, ms, type Outcome } from '../helpers/load.js';
import { freePort } from '../helpers/ports.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { AUDIENCE, ISSUER, TestKeys } from '../helpers/tokens.js';

/**
 * Failover for real: the service as its own process, its DATABASE_URL naming a primary and its
 * streaming replica (`target_session_attrs=read-write`), the replica also its read replica. Under
 * load, the primary is stopped and the replica promoted; writes resume against the new primary
 * without the service restarting, and every write it acknowledged is there. A fast shutdown sends
 * the standby all the WAL before it ends, so nothing committed stays behind (a crash needs a
 * synchronous standby for that: docs/decisions/0040).
 */
const WRITERS = 8;
const READERS = 4;
const USERS_PER_WRITER = 2;
const CLIENT_TIMEOUT_MS = 10_000;

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const userOf = (w: number, i: number) => `fo-u-${w}-${i}`;
const chatOf = (w: number, i: number) => `fo-c-${w}-${i}`;

describe.runIf(process.env.TEST_DATABASE === 'postgres')('failover to a promoted replica', () => {
  let primary: PrivateCluster;
  let replica: PrivateCluster;
  let svc: ServiceProcess;
  let tokens: { writer: string; reader: string; auditor: string };

  beforeAll(async () => {
    primary = await PrivateCluster.create(await freePort());
    await primary.createDatabase('consent');
    replica = await PrivateCluster.replicaOf(primary, await freePort());
    const keys = await TestKeys.create();
    tokens = {
      writer: await keys.token({ scope: 'consent:write', sub: 'fo-frontend', expiresIn: 3_600 }),
      reader: await keys.token({ scope: 'training:read', sub: 'fo-pipeline', expiresIn: 3_600 }),
      auditor: await keys.token({ scope: 'audit:read', sub: 'fo-auditor', expiresIn: 3_600 }),
    };
    svc = await ServiceProcess.start({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${replica.port}/consent?target_session_attrs=read-write`,
      DATABASE_READ_URLS: replica.urlFor('consent'),
      DATABASE_READ_MAX_LAG_MS: '5000',
      DATABASE_POOL_SIZE: '8',
      AUTH_JWKS_FILE: keys.jwksFile,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      DATA_DIR: '/nonexistent-failover-data-dir',
      RATE_LIMIT_MAX: '0',
    });
    for (let w = 0; w < WRITERS; w++) {
      for (let i = 0; i < USERS_PER_WRITER; i++) {
        const terms = await api('POST', `/v1/users/${userOf(w, i)}/terms-acceptances`, tokens.writer, {
          policyVersion: '2025-09-28',
          surface: 'web',
          trainingChoice: 'granted',
          plan: 'pro',
          presentation: { trainingToggleDefault: true, trainingToggleShown: true },
        });
        expect(terms.status).toBe(201);
        expect((await api('PUT', `/v1/chats/${chatOf(w, i)}`, tokens.writer, { userId: userOf(w, i) })).status).toBe(201);
      }
    }
  }, 240_000);

  afterAll(async () => {
    await svc?.stop();
    await Promise.all([primary, replica].map((c) => c?.destroy()));
  });

  async function api(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${svc.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  }

  it('resumes writes on the promoted replica without a restart, and keeps every write it acknowledged', async () => {
    const load = new Load({
      baseUrl: () => svc.url,
      writers: WRITERS,
      readers: READERS,
      writerToken: tokens.writer,
      readerToken: tokens.reader,
      usersOf: (w) => Array.from({ length: USERS_PER_WRITER }, (_, i) => userOf(w, i)),
      chats: Array.from({ length: WRITERS }, (_, w) => Array.from({ length: USERS_PER_WRITER }, (_, i) => chatOf(w, i))).flat(),
      clientTimeoutMs: CLIENT_TIMEOUT_MS,
    });
    await sleep(1_000);
    const stopping = performance.now();
    await primary.stop('fast');
    const stopped = performance.now();
    await sleep(1_500);
    const promoting = performance.now();
    await replica.promote();
    const promoted = performance.now();
    // Writes resumed: wait for one to succeed after the promotion (bounded), then a while more.
    const deadline = Date.now() + 30_000;
    while (!load.outcomes.some((o) => o.op === 'write' && o.status === 200 && o.start > promoting) && Date.now() < deadline) await sleep(50);
    await sleep(1_000);
    const outcomes = await load.stop();

    // Writes sent once the primary had stopped: those that succeeded did so on the new primary.
    const writes = outcomes.filter((o) => o.op === 'write');
    const firstAfter = Math.min(...writes.filter((o) => o.status === 200 && o.start > stopped).map((o) => o.end));
    const readsWhileDown = outcomes.filter((o) => o.op === 'read' && o.start > stopped && o.end < promoting);
    console.log(
      `failover: primary stopped in ${ms(stopped - stopping)} ms; promotion took ${ms(promoted - promoting)} ms; ` +
        `first successful write ${ms(firstAfter - promoting)} ms after the promotion began (${ms(firstAfter - promoted)} ms after it completed); ` +
        `writes: ${writes.filter((o) => o.status === 200).length} acknowledged, ${writes.filter((o) => o.status === 503).length} answered 503; ` +
        `reads while no primary: ${readsWhileDown.filter((o) => o.status === 200).length} of ${readsWhileDown.length} answered 200 (from the replica)`,
    );
    expect(Number.isFinite(firstAfter)).toBe(true);
    expect(svc.alive).toBe(true);
    expectOnlySuccessOr503(outcomes);
    expect(readsWhileDown.filter((o) => o.status === 200).length).toBeGreaterThan(0);
    await expectAcknowledgedWritesKept(outcomes);
  });

  function expectOnlySuccessOr503(outcomes: Outcome[]) {
    const odd = outcomes.filter((o) => !(o.status >= 200 && o.status < 300) && o.status !== 503);
    expect(odd.map((o) => `${o.op} ${o.path}: ${o.status} ${o.error ?? ''} ${JSON.stringify(o.body)}`)).toEqual([]);
    for (const o of outcomes.filter((x) => x.status === 503)) {
      expect(o.contentType).toMatch(/^application\/problem\+json/);
      expect(o.body?.code).toBe('UNAVAILABLE');
      expect(Number(o.retryAfter)).toBeGreaterThan(0);
    }
  }

  /** Every acknowledged write is on the new primary with the choice it was sent, and every chain verifies. */
  async function expectAcknowledgedWritesKept(outcomes: Outcome[]) {
    const acknowledged = outcomes.filter((o) => o.op === 'write' && o.status === 200);
    expect(acknowledged.length).toBeGreaterThan(0);
    const sql = postgres(replica.urlFor('consent'), { max: 1, onnotice: () => {} });
    try {
      const found = await sql<{ request_id: string; choice: string; revision: string }[]>`
        SELECT request_id, data->>'choice' AS choice, revision::text FROM audit_event_personal
         WHERE request_id = ANY(${acknowledged.map((o) => o.requestId)})`;
      const byRequest = new Map(found.map((r) => [r.request_id, r]));
      const lost = acknowledged.filter((o) => byRequest.get(o.requestId)?.revision !== o.body!.revision);
      expect(lost.map((o) => `${o.requestId} (${o.userId})`)).toEqual([]);
      for (const o of acknowledged) expect(byRequest.get(o.requestId)!.choice).toBe(o.choice);
    } finally {
      await sql.end({ timeout: 1 });
    }
    for (let w = 0; w < WRITERS; w++) {
      for (let i = 0; i < USERS_PER_WRITER; i++) {
        const res = await api('GET', `/v1/users/${userOf(w, i)}/audit-events?limit=1000`, tokens.auditor);
        expect(res.status).toBe(200);
        expect(verifyChains(res.body.items as AuditEvent[]), `chain of ${userOf(w, i)}`).toEqual([]);
      }
    }
  }
});
