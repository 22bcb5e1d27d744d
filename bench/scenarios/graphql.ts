/**
 * GraphQL beside REST, on the same service in the same run (SPEC §5, issue targets):
 *   g. single eligibility and consent read through POST /graphql vs the REST GETs, 32 connections,
 *      rounds alternating which goes first: >= 0.8x REST req/s, p99 <= 1.5x REST's; first (g0)
 *      the same on the baseline, bare mercurius vs bare Fastify: each one primary-key SELECT
 *      (g0), and each an object held in memory, as the service's consent read is answered (g0m):
 *      the floor of what GraphQL costs over REST on this machine;
 *   h. a 10,000-chat trainingEligibilityBatch vs the REST batch, interleaved: <= 1.3x REST's time;
 *   i. subscription delivery: commit-to-client latency of auditEvents at 1,000 events/s;
 *   j. a stalled subscriber (its socket no longer read) over 60 s: the service's memory.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { request } from '../lib/http.js';
import { runLoad, warmUp, type LoadResult, type LoadSpec } from '../lib/load.js';
import { memoryOf, type Child } from '../lib/proc.js';
import { median, percentile, round } from '../lib/stats.js';

export interface GraphqlBenchContext {
  service: Child;
  baseline: Child;
  tokens: { training: string; read: string; write: string };
  seededUsers: number;
  seededChats: number;
}

export interface GraphqlBenchHelpers {
  log: (line?: string) => void;
  userId: (i: number) => string;
  chatId: (i: number) => string;
  denies: (user: number) => boolean;
  config: { connections: number; durationS: number; warmupS: number; rounds: number; batchRuns: number; batchSize: number; firstWarmupS: number };
}

interface Row {
  scenario: string;
  label: string;
  target: string;
  measured: string;
  pass: boolean;
  table?: { service: { rate: number; p50: number; p99: number }; baseline: { rate: number; p50: number; p99: number } | null; ratio: number | null; p99Ratio: number | null };
}

const TARGETS = { minRatio: 0.8, maxP99Ratio: 1.5, maxBatchRatio: 1.3 };
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
const figures = (r: LoadResult) => ({ rate: r.reqPerS, p50: r.p50Ms, p99: r.p99Ms });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function graphqlScenarios(h: GraphqlBenchHelpers) {
  const { log, config } = h;
  const loadDefaults = () => ({ connections: config.connections, durationS: config.durationS, warmupS: config.warmupS });

  function describe(name: string, r: LoadResult) {
    const bad = r.non2xx + r.errors + r.timeouts;
    log(`  ${name.padEnd(9)} ${fmt(r.reqPerS).padStart(7)} req/s  p50 ${fmt(r.p50Ms, 2)} ms  p99 ${fmt(r.p99Ms, 2)} ms${bad ? `  !! ${bad} failed ${JSON.stringify(r.statusCodes)}` : ''}`);
  }

  /** GraphQL against REST on the same service, rounds alternating which goes first; ratios per round. */
  async function versus(label: string, restSpec: LoadSpec, gqlSpec: LoadSpec, scenario: string): Promise<{ rows: Row[]; detail: unknown }> {
    if (config.firstWarmupS > 0) {
      await warmUp(restSpec, Math.min(config.firstWarmupS, 10));
      await warmUp(gqlSpec, Math.min(config.firstWarmupS, 10));
    }
    const rounds: { rest: LoadResult; gql: LoadResult; ratio: number; p99Ratio: number }[] = [];
    const n = Math.max(2, Math.min(config.rounds, 4));
    for (let i = 0; i < n; i++) {
      log(`  round ${i + 1} of ${n}`);
      let rest: LoadResult;
      let gql: LoadResult;
      if (i % 2 === 0) {
        rest = await runLoad(restSpec);
        describe('REST', rest);
        gql = await runLoad(gqlSpec);
        describe('GraphQL', gql);
      } else {
        gql = await runLoad(gqlSpec);
        describe('GraphQL', gql);
        rest = await runLoad(restSpec);
        describe('REST', rest);
      }
      rounds.push({ rest, gql, ratio: gql.reqPerS / rest.reqPerS, p99Ratio: gql.p99Ms / rest.p99Ms });
    }
    const ratio = median(rounds.map((r) => r.ratio));
    const p99Ratio = median(rounds.map((r) => r.p99Ratio));
    const closest = [...rounds].sort((x, y) => Math.abs(x.ratio - ratio) - Math.abs(y.ratio - ratio))[0];
    const clean = rounds.every((r) => r.gql.non2xx + r.gql.errors === 0);
    const each = (pick: (r: (typeof rounds)[number]) => number) => rounds.map((r) => fmt(pick(r), 2)).join(', ');
    return {
      detail: { ratio: round(ratio, 3), p99Ratio: round(p99Ratio, 3), rounds: rounds.map((r) => ({ ratio: round(r.ratio, 3), p99Ratio: round(r.p99Ratio, 3), graphql: figures(r.gql), rest: figures(r.rest) })) },
      rows: [
        {
          scenario: `${scenario}1`,
          label: `${label} req/s`,
          target: `>= ${TARGETS.minRatio}x REST`,
          measured: `${fmt(ratio, 2)}x (${fmt(closest.gql.reqPerS)} vs ${fmt(closest.rest.reqPerS)} req/s; rounds ${each((r) => r.ratio)})`,
          pass: clean && ratio >= TARGETS.minRatio,
          table: { service: figures(closest.gql), baseline: figures(closest.rest), ratio, p99Ratio },
        },
        {
          scenario: `${scenario}2`,
          label: `${label} p99`,
          target: `<= ${TARGETS.maxP99Ratio}x REST p99`,
          measured: `${fmt(p99Ratio, 2)}x (rounds ${each((r) => r.p99Ratio)})`,
          pass: clean && p99Ratio <= TARGETS.maxP99Ratio,
        },
      ],
    };
  }

  /** A query body rotating over ids, with the query text the same each time (the query cache's case). */
  const gqlBody = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

  function rotation(n: number) {
    let k = 0;
    return () => (k++ * 7919) % n;
  }

  async function subscribeClient(port: number, token: string, onEvent: (e: { revision: string; userId: string }) => void) {
    let socket: WebSocket | null = null;
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      on: { connected: (s) => (socket = s as WebSocket) },
    });
    let ended: unknown = undefined;
    client.subscribe(
      { query: 'subscription { auditEvents(types: ["consent.choice_recorded"]) { revision userId } }' },
      { next: (v) => onEvent((v.data as { auditEvents: { revision: string; userId: string } }).auditEvents), error: (e) => (ended = e), complete: () => (ended = 'complete') },
    );
    for (let i = 0; i < 500 && socket === null; i++) await sleep(10);
    await sleep(300);
    return { client, socket: () => socket as WebSocket | null, ended: () => ended };
  }

  /** Consent writes (one audit event each) to distinct users at `perS`, for `seconds`; calls `sent` with each write's times. */
  async function writeAt(ctx: GraphqlBenchContext, perS: number, seconds: number, sent: (user: string, t0: number, t1: number) => void) {
    const auth = { authorization: `Bearer ${ctx.tokens.write}` };
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((perS * tickMs) / 1000));
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    let k = 0;
    for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
      const due = started + tick * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      for (let j = 0; j < perTick; j++) {
        const u = (k++ * 7919) % ctx.seededUsers;
        const user = h.userId(u);
        const t0 = performance.now();
        inFlight.push(
          request(ctx.service.port, `/v1/users/${user}/training-consent`, {
            method: 'PUT',
            headers: auth,
            body: JSON.stringify({ choice: h.denies(u) ? 'denied' : 'granted', surface: 'web' }),
          }).then((res) => {
            if (res.status === 200) sent(JSON.parse(res.body).revision, t0, performance.now());
          }),
        );
      }
      if (inFlight.length > 5_000) await Promise.all(inFlight.splice(0));
    }
    await Promise.all(inFlight);
    return k;
  }

  return {
    async g(ctx: GraphqlBenchContext) {
      log(`g. GraphQL beside REST: single eligibility and consent read, ${config.connections} connections`);
      const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      /** Bare Fastify against bare mercurius on the baseline: ids from `id`, REST at `path(id)`, GraphQL with `query` taking `$id`. */
      const bare = (scenario: string, label: string, what: string, count: number, id: (i: number) => string, path: (id: string) => string, query: string) => {
        const rest = rotation(count);
        const gql = rotation(count);
        return versus(
          `${scenario}. ${label}`,
          { ...loadDefaults(), title: `baseline REST ${what}`, port: ctx.baseline.port, next: (req) => ({ ...req, path: path(id(rest())) }) },
          {
            ...loadDefaults(),
            title: `baseline GraphQL ${what}`,
            port: ctx.baseline.port,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            next: (req) => ({ ...req, method: 'POST', path: '/graphql', body: gqlBody(query, { id: id(gql()) }) }),
          },
          scenario,
        );
      };
      log('g0. the bare limit: mercurius vs Fastify on the baseline, one chat primary-key SELECT each (no target: what GraphQL itself costs here)');
      const floor = await bare('g0', 'bare GraphQL', 'chat', ctx.seededChats, h.chatId, (id) => `/chats/${id}`, 'query($id: ID!) { chat(id: $id) { chat_id user_id created_at incognito deleted_at } }');
      log('g0m. the bare limit without SQL: mercurius vs Fastify answering an object held in memory (no target)');
      const inMemory = await bare(
        'g0m',
        'bare GraphQL, no SQL',
        'memory',
        ctx.seededUsers,
        h.userId,
        (id) => `/memory/${id}`,
        'query($id: ID!) { memory(id: $id) { userId plan choice choiceAt choiceSurface effective basis decisionRequired policyVersion decisionDeadline retentionDays consentSince asOf revision } }',
      );
      const floorRows = [...floor.rows, ...inMemory.rows].map((r) => ({ ...r, target: `(the floor: ${r.target})`, pass: true }));
      const chats = rotation(ctx.seededChats);
      const chatsG = rotation(ctx.seededChats);
      const eligibilityQuery = 'query($id: ID!) { trainingEligibility(chatId: $id) { chatId userId eligible reason policyVersion consentSince retentionUntil asOf revision } }';
      log('g1. trainingEligibility(chatId) vs GET /v1/chats/{id}/training-eligibility');
      const a = await versus(
        'g1. GraphQL eligibility',
        { ...loadDefaults(), title: 'REST eligibility', port: ctx.service.port, headers: auth(ctx.tokens.training), next: (req) => ({ ...req, path: `/v1/chats/${h.chatId(chats())}/training-eligibility` }) },
        {
          ...loadDefaults(),
          title: 'GraphQL eligibility',
          port: ctx.service.port,
          method: 'POST',
          headers: auth(ctx.tokens.training),
          next: (req) => ({ ...req, method: 'POST', path: '/graphql', body: gqlBody(eligibilityQuery, { id: h.chatId(chatsG()) }) }),
        },
        'g1',
      );
      const users = rotation(ctx.seededUsers);
      const usersG = rotation(ctx.seededUsers);
      const consentQuery = 'query($id: ID!) { trainingConsent(userId: $id) { userId plan choice choiceAt choiceSurface effective basis decisionRequired policyVersion decisionDeadline retentionDays consentSince asOf revision etag } }';
      log('g2. trainingConsent(userId) vs GET /v1/users/{id}/training-consent');
      const b = await versus(
        'g2. GraphQL consent read',
        { ...loadDefaults(), title: 'REST consent', port: ctx.service.port, headers: auth(ctx.tokens.read), next: (req) => ({ ...req, path: `/v1/users/${h.userId(users())}/training-consent` }) },
        {
          ...loadDefaults(),
          title: 'GraphQL consent',
          port: ctx.service.port,
          method: 'POST',
          headers: auth(ctx.tokens.read),
          next: (req) => ({ ...req, method: 'POST', path: '/graphql', body: gqlBody(consentQuery, { id: h.userId(usersG()) }) }),
        },
        'g2',
      );
      return { detail: { floor: floor.detail, floorInMemory: inMemory.detail, eligibility: a.detail, consent: b.detail }, rows: [...floorRows, ...a.rows, ...b.rows] };
    },

    async h(ctx: GraphqlBenchContext) {
      const size = Math.min(config.batchSize, ctx.seededChats);
      log(`h. batch of ${fmt(size)} chats: trainingEligibilityBatch vs POST /v1/training-eligibility/batch, ${config.batchRuns} runs each, interleaved`);
      const query = 'query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { asOf revision results { chatId userId eligible reason policyVersion consentSince retentionUntil asOf revision } } }';
      const headers = { authorization: `Bearer ${ctx.tokens.training}` };
      const rest: number[] = [];
      const gql: number[] = [];
      for (let run = 0; run < config.batchRuns + 2; run++) {
        const start = (run * size) % ctx.seededChats;
        const ids = Array.from({ length: size }, (_, j) => h.chatId((start + j * 7) % ctx.seededChats));
        for (const who of run % 2 === 0 ? ['rest', 'gql'] : ['gql', 'rest']) {
          const t0 = performance.now();
          const res =
            who === 'rest'
              ? await request(ctx.service.port, '/v1/training-eligibility/batch', { method: 'POST', headers, body: JSON.stringify({ chatIds: ids }), timeoutMs: 120_000 })
              : await request(ctx.service.port, '/graphql', { method: 'POST', headers, body: gqlBody(query, { ids }), timeoutMs: 120_000 });
          const ms = performance.now() - t0;
          if (res.status !== 200) throw new Error(`${who} batch answered ${res.status}: ${res.body.slice(0, 300)}`);
          const body = JSON.parse(res.body);
          const results = who === 'rest' ? body.results : body.data?.trainingEligibilityBatch?.results;
          if (results?.length !== size) throw new Error(`${who} batch returned ${results?.length} results: ${res.body.slice(0, 300)}`);
          if (run >= 2) (who === 'rest' ? rest : gql).push(ms);
        }
      }
      const ratio = median(gql) / median(rest);
      log(`  REST     median ${fmt(median(rest), 1)} ms  p90 ${fmt(percentile(rest, 90), 1)} ms`);
      log(`  GraphQL  median ${fmt(median(gql), 1)} ms  p90 ${fmt(percentile(gql, 90), 1)} ms  (${fmt(ratio, 2)}x)`);
      return {
        detail: { size, restMs: rest.map((x) => round(x, 1)), graphqlMs: gql.map((x) => round(x, 1)), ratio: round(ratio, 3) },
        rows: [
          {
            scenario: 'h',
            label: `h. GraphQL batch ${size / 1000}k median`,
            target: `<= ${TARGETS.maxBatchRatio}x REST`,
            measured: `${fmt(ratio, 2)}x (${fmt(median(gql), 1)} vs ${fmt(median(rest), 1)} ms)`,
            pass: ratio <= TARGETS.maxBatchRatio,
          },
        ],
      };
    },

    async i(ctx: GraphqlBenchContext) {
      const perS = 1_000;
      const seconds = Math.max(5, config.durationS);
      log(`i. subscription delivery: auditEvents at ${fmt(perS)} consent writes/s for ${seconds} s, one subscriber (graphql-ws over WebSocket)`);
      const arrived = new Map<string, number>();
      const sub = await subscribeClient(ctx.service.port, ctx.tokens.training, (e) => arrived.set(e.revision, performance.now()));
      const writes = new Map<string, { t0: number; t1: number }>();
      const sent = await writeAt(ctx, perS, seconds, (revision, t0, t1) => writes.set(revision, { t0, t1 }));
      for (let i = 0; i < 500 && [...writes.keys()].some((r) => !arrived.has(r)); i++) await sleep(20);
      await sub.client.dispose();
      const fromSend: number[] = [];
      const fromCommit: number[] = [];
      let missing = 0;
      for (const [revision, { t0, t1 }] of writes) {
        const at = arrived.get(revision);
        if (at === undefined) {
          missing++;
          continue;
        }
        fromSend.push(at - t0);
        fromCommit.push(Math.max(0, at - t1));
      }
      const rate = writes.size / seconds;
      log(`  ${fmt(sent)} writes sent, ${fmt(writes.size)} committed (${fmt(rate)}/s), ${fmt(writes.size - missing)} delivered${missing ? ` (!! ${missing} missing)` : ''}`);
      log(`  from the write's request: p50 ${fmt(median(fromSend), 2)} ms  p99 ${fmt(percentile(fromSend, 99), 2)} ms  (commit-to-client, upper bound)`);
      log(`  from the write's response: p50 ${fmt(median(fromCommit), 2)} ms  p99 ${fmt(percentile(fromCommit, 99), 2)} ms  (lower bound; negative counted as 0)`);
      return {
        detail: { perS, seconds, committed: writes.size, missing, fromSendMs: { p50: round(median(fromSend), 2), p99: round(percentile(fromSend, 99), 2) }, fromResponseMs: { p50: round(median(fromCommit), 2), p99: round(percentile(fromCommit, 99), 2) } },
        rows: [
          {
            scenario: 'i',
            label: 'i. subscription latency',
            target: 'every event delivered (measured: p50/p99)',
            measured: `p50 ${fmt(median(fromSend), 1)} ms, p99 ${fmt(percentile(fromSend, 99), 1)} ms from request (${fmt(median(fromCommit), 1)}/${fmt(percentile(fromCommit, 99), 1)} from response) at ${fmt(rate)}/s`,
            pass: missing === 0,
          },
        ],
      };
    },

    async j(ctx: GraphqlBenchContext) {
      const perS = 100;
      const seconds = 60;
      log(`j. stalled subscriber: auditEvents, its socket no longer read, while ${perS} consent writes/s go on for ${seconds} s (${fmt(perS * seconds)} events: under the 10,000 limit)`);
      let received = 0;
      const sub = await subscribeClient(ctx.service.port, ctx.tokens.training, () => received++);
      (sub.socket() as unknown as { _socket: { pause(): void } })._socket.pause();
      const samples: number[] = [];
      const before = memoryOf(ctx.service.pid)?.rssMiB ?? Number.NaN;
      const sampler = setInterval(() => {
        const m = memoryOf(ctx.service.pid);
        if (m) samples.push(m.rssMiB);
      }, 1_000);
      await writeAt(ctx, perS, seconds, () => {});
      clearInterval(sampler);
      const after = memoryOf(ctx.service.pid)?.rssMiB ?? Number.NaN;
      const peak = Math.max(...samples);
      const firstHalf = samples.slice(0, Math.floor(samples.length / 2));
      const secondHalf = samples.slice(Math.floor(samples.length / 2));
      log(`  service RSS: ${fmt(before, 0)} MiB before, ${fmt(median(firstHalf), 0)} MiB median of the first 30 s, ${fmt(median(secondHalf), 0)} MiB of the last 30 s, peak ${fmt(peak, 0)} MiB, ${fmt(after, 0)} MiB after`);
      log(`  the stalled client had received ${received} events; ended: ${JSON.stringify(sub.ended()) ?? 'no'}`);
      await sub.client.dispose();
      const growth = median(secondHalf) - median(firstHalf);
      return {
        detail: { perS, seconds, rssMiB: { before: round(before, 1), firstHalfMedian: round(median(firstHalf), 1), secondHalfMedian: round(median(secondHalf), 1), peak: round(peak, 1), after: round(after, 1) }, samples },
        rows: [
          {
            scenario: 'j',
            label: 'j. stalled subscriber RSS',
            target: 'flat over 60 s (measured)',
            measured: `${fmt(growth, 0)} MiB from the first 30 s to the last (peak ${fmt(peak, 0)} MiB)`,
            pass: growth < 50,
          },
        ],
      };
    },
  };
}
