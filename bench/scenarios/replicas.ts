/**
 * k. Read replicas and failover (docs/decisions/0040, 0041), on clusters of the scenario's own:
 * the bench database is copied (pg_dump | pg_restore) into a private primary, a streaming replica
 * is made from it with pg_basebackup, and two services run on them, both compiled as in
 * production: `replicated` (DATABASE_URL naming primary and replica with
 * target_session_attrs=read-write, DATABASE_READ_URLS the replica) and `plain` (the primary only).
 * The shared server is only read from.
 *
 *   k1. replica lag under write load: consent writes from 32 connections on `replicated`, with
 *       pg_stat_replication's replay lag and the service's own lag gauge sampled every 100 ms;
 *       writes/s of `replicated` (which publishes the settled revision) beside `plain`, in rounds;
 *   k2. the share of reads served by the replica: eligibility reads and consent writes at once;
 *   k3. the added latency of minRevision reads: (i) steady reads with a minRevision already
 *       reached, beside the same reads without, on both services; (ii) read-your-writes: a write,
 *       then at once a read with the revision it returned, beside one without;
 *   k4. time from promotion to the first successful write: writers on `replicated`, the primary
 *       stopped (fast), the replica promoted.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { PrivateCluster } from '../../test/helpers/cluster.js';
import { request } from '../lib/http.js';
import { runLoad, type LoadResult, type LoadSpec } from '../lib/load.js';
import { freePort, stopChild, type Child } from '../lib/proc.js';
import { median, percentile, round } from '../lib/stats.js';

const run = promisify(execFile);
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface ReplicaBenchContext {
  serviceEnv: NodeJS.ProcessEnv;
  tokens: { training: string; read: string; write: string };
  seededUsers: number;
  seededChats: number;
}

export interface ReplicaBenchHelpers {
  log: (line?: string) => void;
  userId: (i: number) => string;
  chatId: (i: number) => string;
  denies: (user: number) => boolean;
  config: { connections: number; durationS: number; warmupS: number; rounds: number; pgUrl: string; dbName: string };
  startService: (env: NodeJS.ProcessEnv) => Promise<Child>;
}

interface Row {
  scenario: string;
  label: string;
  target: string;
  measured: string;
  pass: boolean;
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dist = (xs: number[]) => ({ n: xs.length, p50: round(percentile(xs, 50), 2), p99: round(percentile(xs, 99), 2), max: round(percentile(xs, 100), 2) });

export function replicaScenarios(h: ReplicaBenchHelpers) {
  const { log, config } = h;

  /** A counter or gauge of a service's /metrics (the first sample line starting with `line`). */
  async function metric(svc: Child, line: string): Promise<number> {
    const res = await request(svc.port, '/metrics');
    const found = res.body.split('\n').find((l) => l.startsWith(line));
    return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(' ') + 1));
  }
  const readsOf = async (svc: Child) => ({
    primary: await metric(svc, 'consent_db_reads_total{database="primary"}'),
    replica: await metric(svc, 'consent_db_reads_total{database="replica-1"}'),
  });

  async function copyBenchDatabase(primary: PrivateCluster): Promise<void> {
    const source = new URL(config.pgUrl);
    const dump = [`${PG_BIN}/pg_dump`, '-Fc', '-h', source.hostname, '-p', source.port || '5432', '-U', source.username || 'postgres', '-d', config.dbName].join(' ');
    const restore = [`${PG_BIN}/pg_restore`, '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-d', 'consent', '--no-owner'].join(' ');
    await run('runuser', ['-u', 'postgres', '--', 'sh', '-c', `${dump} | ${restore}`], { timeout: 3_600_000, maxBuffer: 64 * 2 ** 20 });
    await primary.psql('VACUUM ANALYZE', 'consent');
  }

  return {
    async k(ctx: ReplicaBenchContext): Promise<{ rows: Row[]; detail: unknown }> {
      log('k. read replicas and failover, on a private primary and streaming replica (a copy of the bench database)');
      const started = performance.now();
      const primary = await PrivateCluster.create(await freePort());
      let replica: PrivateCluster | null = null;
      const children: Child[] = [];
      try {
        await primary.createDatabase('consent');
        await copyBenchDatabase(primary);
        replica = await PrivateCluster.replicaOf(primary, await freePort());
        log(`   primary on :${primary.port}, replica on :${replica.port}, ready in ${round((performance.now() - started) / 1000, 1)} s`);
        const multiHost = `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${replica.port}/consent?target_session_attrs=read-write`;
        // No rate limit: one token sends every request of a run.
        const env = { ...ctx.serviceEnv, RATE_LIMIT_MAX: '0' };
        const replicated = await h.startService({ ...env, DATABASE_URL: multiHost, DATABASE_READ_URLS: replica.urlFor('consent') });
        children.push(replicated);
        const plain = await h.startService({ ...env, DATABASE_URL: primary.urlFor('consent') });
        children.push(plain);
        const sql = postgres(primary.urlFor('consent'), { max: 1, onnotice: () => {} });
        const write = { authorization: `Bearer ${ctx.tokens.write}`, 'content-type': 'application/json' };
        const training = { authorization: `Bearer ${ctx.tokens.training}` };
        const read = { authorization: `Bearer ${ctx.tokens.read}` };
        let u = 0;
        const nextUser = () => u++ % ctx.seededUsers;
        const writeSpec = (svc: Child, title: string, connections = config.connections): LoadSpec => ({
          title,
          port: svc.port,
          connections,
          durationS: config.durationS,
          warmupS: 0,
          method: 'PUT',
          headers: write,
          next: (req) => {
            const i = nextUser();
            return { ...req, method: 'PUT', path: `/v1/users/${h.userId(i)}/training-consent`, body: JSON.stringify({ choice: h.denies(i) ? 'denied' : 'granted', surface: 'web' }) };
          },
        });
        let c = 0;
        const readSpec = (svc: Child, title: string, query = '', connections = config.connections): LoadSpec => ({
          title,
          port: svc.port,
          connections,
          durationS: config.durationS,
          warmupS: 0,
          headers: training,
          next: (req) => ({ ...req, path: `/v1/chats/${h.chatId((c++ * 7919) % ctx.seededChats)}/training-eligibility${query}` }),
        });
        const describe = (name: string, r: LoadResult) =>
          log(`   ${name.padEnd(34)} ${fmt(r.reqPerS).padStart(6)} req/s  p50 ${fmt(r.p50Ms, 2)} ms  p99 ${fmt(r.p99Ms, 2)} ms${r.non2xx + r.errors ? `  !! ${r.non2xx + r.errors} failed ${JSON.stringify(r.statusCodes)}` : ''}`);

        // k1. Lag under write load, and what publishing costs writes.
        log('');
        log(`k1. replica lag under consent writes (${config.connections} connections, ${config.durationS} s), sampled every 100 ms`);
        /** Replication lag as PostgreSQL sees it, and the service's, every 100 ms while `during` runs. */
        async function sampleLag<T>(during: Promise<T>) {
          const samples = { replayMs: [] as number[], bytes: [] as number[], serviceMs: [] as number[] };
          let sampling = true;
          const sampler = (async () => {
            while (sampling) {
              const [row] = await sql<{ ms: number | null; bytes: string | null }[]>`
                SELECT (extract(epoch FROM replay_lag) * 1000)::float8 AS ms, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS bytes
                  FROM pg_stat_replication LIMIT 1`;
              if (row) {
                samples.replayMs.push(row.ms ?? 0);
                samples.bytes.push(Number(row.bytes ?? 0));
              }
              samples.serviceMs.push((await metric(replicated, 'consent_db_replica_lag_seconds{database="replica-1"}')) * 1000);
              await sleep(100);
            }
          })();
          const result = await during.finally(() => {
            sampling = false;
          });
          await sampler;
          const lag = { replayMs: dist(samples.replayMs), walBytes: dist(samples.bytes), serviceMs: dist(samples.serviceMs) };
          log(`   pg_stat_replication replay_lag: p50 ${lag.replayMs.p50} ms, p99 ${lag.replayMs.p99} ms, max ${lag.replayMs.max} ms (${lag.replayMs.n} samples)`);
          log(`   WAL not yet replayed: p50 ${fmt(lag.walBytes.p50)} B, p99 ${fmt(lag.walBytes.p99)} B, max ${fmt(lag.walBytes.max)} B`);
          log(
            `   the service's lag (how long the primary had settled beyond what the replica published, as last read): ` +
              `p50 ${lag.serviceMs.p50} ms, p99 ${lag.serviceMs.p99} ms, max ${lag.serviceMs.max} ms`,
          );
          return { result, lag };
        }
        const { result: underLoad, lag } = await sampleLag(runLoad(writeSpec(replicated, 'writes on replicated')));
        describe('writes, replicated', underLoad);
        const writeRounds: { replicated: number; plain: number }[] = [];
        const n = Math.max(2, Math.min(config.rounds, 4));
        for (let i = 0; i < n; i++) {
          const order = i % 2 === 0 ? (['plain', 'replicated'] as const) : (['replicated', 'plain'] as const);
          const got: Record<string, number> = {};
          for (const who of order) {
            const r = await runLoad(writeSpec(who === 'plain' ? plain : replicated, `writes on ${who}`));
            describe(`round ${i + 1}: writes, ${who}`, r);
            got[who] = r.reqPerS;
          }
          writeRounds.push({ replicated: got.replicated, plain: got.plain });
        }
        const writeRatio = median(writeRounds.map((r) => r.replicated / r.plain));
        log(`   writes/s with a replica (publishing the settled revision) / without: ${fmt(writeRatio, 2)}x (rounds ${writeRounds.map((r) => fmt(r.replicated / r.plain, 2)).join(', ')})`);

        // k2. Share of reads served by the replica while writes go on.
        log('');
        log(`k2. eligibility reads and consent writes at once on replicated (${config.connections / 2} connections each, ${config.durationS} s)`);
        const before = await readsOf(replicated);
        const {
          result: [reads, writes],
          lag: mixedLag,
        } = await sampleLag(Promise.all([runLoad(readSpec(replicated, 'reads', '', config.connections / 2)), runLoad(writeSpec(replicated, 'writes', config.connections / 2))]));
        const after = await readsOf(replicated);
        describe('reads', reads);
        describe('writes', writes);
        const sentToReplica = after.replica - before.replica;
        const sentToPrimary = after.primary - before.primary;
        const share = sentToReplica / Math.max(1, sentToReplica + sentToPrimary);
        log(`   reads sent to the replica: ${fmt(sentToReplica)} of ${fmt(sentToReplica + sentToPrimary)} (${fmt(share * 100, 1)} %)`);

        // k3. minRevision's added latency.
        log('');
        log('k3. minRevision: (i) reads whose minRevision is already reached, beside the same reads without, in rounds');
        const [{ r: reached }] = await sql<{ r: string }[]>`SELECT revision::text AS r FROM settled_watermark`;
        const steady: Record<string, { p50: number[]; p99: number[]; rate: number[] }> = {};
        for (let i = 0; i < n; i++) {
          for (const [svcName, svc] of [['plain', plain], ['replicated', replicated]] as const) {
            const pair = i % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
            for (const which of pair) {
              const r = await runLoad(readSpec(svc, `${svcName} ${which}`, which === 'with' ? `?minRevision=${reached}` : ''));
              describe(`round ${i + 1}: ${svcName}, ${which} minRevision`, r);
              const key = `${svcName} ${which}`;
              steady[key] ??= { p50: [], p99: [], rate: [] };
              steady[key].p50.push(r.p50Ms);
              steady[key].p99.push(r.p99Ms);
              steady[key].rate.push(r.reqPerS);
            }
          }
        }
        const steadySummary = Object.fromEntries(
          Object.entries(steady).map(([k, v]) => [k, { reqPerS: round(median(v.rate), 0), p50Ms: round(median(v.p50), 2), p99Ms: round(median(v.p99), 2) }]),
        );
        for (const svcName of ['plain', 'replicated']) {
          const w = steadySummary[`${svcName} with`];
          const wo = steadySummary[`${svcName} without`];
          log(`   ${svcName}: with ${fmt(w.reqPerS)} req/s p50 ${w.p50Ms} p99 ${w.p99Ms} ms; without ${fmt(wo.reqPerS)} req/s p50 ${wo.p50Ms} p99 ${wo.p99Ms} ms (medians of rounds)`);
        }
        log('   (ii) read-your-writes: a write, then at once a consent read with the revision it returned (minRevision) or without; one at a time, 300 pairs each');
        const ryw: Record<string, number[]> = {};
        const rywRouted: Record<string, { primary: number; replica: number }> = {};
        for (const [svcName, svc] of [['plain', plain], ['replicated', replicated]] as const) {
          for (const which of ['with', 'without'] as const) {
            const key = `${svcName} ${which}`;
            ryw[key] = [];
            const b = await readsOf(svc);
            for (let i = 0; i < 300; i++) {
              const user = nextUser();
              const w = await request(svc.port, `/v1/users/${h.userId(user)}/training-consent`, {
                method: 'PUT',
                headers: write,
                body: JSON.stringify({ choice: h.denies(user) ? 'denied' : 'granted', surface: 'web' }),
              });
              if (w.status !== 200) throw new Error(`write answered ${w.status}: ${w.body.slice(0, 200)}`);
              const revision = (JSON.parse(w.body) as { revision: string }).revision;
              const t0 = performance.now();
              const r = await request(svc.port, `/v1/users/${h.userId(user)}/training-consent${which === 'with' ? `?minRevision=${revision}` : ''}`, { headers: read });
              ryw[key].push(performance.now() - t0);
              if (r.status !== 200) throw new Error(`read answered ${r.status}: ${r.body.slice(0, 200)}`);
            }
            const a = await readsOf(svc);
            rywRouted[key] = { primary: a.primary - b.primary, replica: a.replica - b.replica };
          }
        }
        const rywSummary = Object.fromEntries(Object.entries(ryw).map(([k, v]) => [k, { ...dist(v), routed: rywRouted[k] }]));
        for (const [k, v] of Object.entries(rywSummary)) {
          log(`   ${k.padEnd(22)} read p50 ${v.p50} ms p99 ${v.p99} ms; sent to primary ${v.routed.primary}, replica ${v.routed.replica}`);
        }

        // k4. Promotion.
        log('');
        log('k4. failover: 8 writers on replicated; the primary stopped (fast), the replica promoted');
        let writing = true;
        const outcomes: { start: number; end: number; status: number }[] = [];
        const writers = Array.from({ length: 8 }, async () => {
          while (writing) {
            const user = nextUser();
            const start = performance.now();
            let status = 0;
            try {
              status = (
                await request(replicated.port, `/v1/users/${h.userId(user)}/training-consent`, {
                  method: 'PUT',
                  headers: write,
                  body: JSON.stringify({ choice: h.denies(user) ? 'denied' : 'granted', surface: 'web' }),
                  timeoutMs: 10_000,
                })
              ).status;
            } catch {
              status = 0;
            }
            outcomes.push({ start, end: performance.now(), status });
            if (status !== 200) await sleep(5);
          }
        });
        await sleep(1_000);
        await sql.end({ timeout: 1 });
        const stopping = performance.now();
        await primary.stop('fast');
        const stopped = performance.now();
        await sleep(1_000);
        const promoting = performance.now();
        await replica.promote();
        const promoted = performance.now();
        const deadline = Date.now() + 30_000;
        // Writes sent once the primary had stopped: those that succeeded did so on the new primary.
        while (!outcomes.some((o) => o.status === 200 && o.start > stopped) && Date.now() < deadline) await sleep(10);
        writing = false;
        await Promise.all(writers);
        const firstOk = Math.min(...outcomes.filter((o) => o.status === 200 && o.start > stopped).map((o) => o.end));
        const failover = {
          stopMs: round(stopped - stopping, 0),
          promoteMs: round(promoted - promoting, 0),
          firstWriteAfterPromotionBeganMs: round(firstOk - promoting, 0),
          firstWriteAfterPromotionDoneMs: round(firstOk - promoted, 0),
          refused: outcomes.filter((o) => o.status !== 200 && o.start > stopped).length,
        };
        log(
          `   primary stopped in ${failover.stopMs} ms; pg_ctl promote took ${failover.promoteMs} ms; first successful write ` +
            `${failover.firstWriteAfterPromotionBeganMs} ms after the promotion began (${failover.firstWriteAfterPromotionDoneMs} ms after it returned); ` +
            `${failover.refused} writes refused (503) meanwhile`,
        );

        const rows: Row[] = [
          {
            scenario: 'k1',
            label: 'k1. replica lag under writes',
            target: 'measured',
            measured: `replay p50 ${lag.replayMs.p50} / p99 ${lag.replayMs.p99} ms; service p50 ${lag.serviceMs.p50} / p99 ${lag.serviceMs.p99} ms; writes ${fmt(writeRatio, 2)}x without replica`,
            pass: underLoad.non2xx + underLoad.errors === 0,
          },
          {
            scenario: 'k2',
            label: 'k2. reads served by the replica',
            target: 'measured',
            measured: `${fmt(share * 100, 1)} % of ${fmt(sentToReplica + sentToPrimary)}`,
            pass: reads.non2xx + reads.errors === 0,
          },
          {
            scenario: 'k3',
            label: 'k3. minRevision read (after a write)',
            target: 'measured',
            measured: `p50 ${rywSummary['replicated with'].p50} vs ${rywSummary['replicated without'].p50} ms without (replicated); ${rywSummary['plain with'].p50} vs ${rywSummary['plain without'].p50} ms (plain)`,
            pass: true,
          },
          {
            scenario: 'k4',
            label: 'k4. promotion to first write',
            target: 'measured',
            measured: `${failover.firstWriteAfterPromotionBeganMs} ms (promote ${failover.promoteMs} ms)`,
            pass: Number.isFinite(firstOk),
          },
        ];
        return { rows, detail: { lag, mixedLag, writeRounds, writeRatio, share: { sentToReplica, sentToPrimary, share }, steady: steadySummary, readYourWrites: rywSummary, failover } };
      } finally {
        for (const child of children) await stopChild(child).catch(() => {});
        await Promise.all([primary.destroy(), replica?.destroy()]);
      }
    },
  };
}
