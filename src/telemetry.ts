import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from './db/client.js';
import type { Decision } from './domain/index.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What a scrape reads from elsewhere in the process (the pool, the settled revision). */
export interface TelemetrySources {
  db: Database;
  /** The newest settled revision this process knows, and when it was settled (epoch ms); null before the first. */
  settled(): { revision: bigint; at: number } | null;
  /** Bounded in-process caches: their size now and their bound. */
  caches?(): { name: string; size: number; max: number }[];
}

/**
 * The service's metrics, in a registry of its own (several services can live in one process, as
 * in the tests): request latency by route and status, eligibility decisions by reason, the time
 * an audited write takes to commit, the database pool, how far settled revisions lag behind the
 * newest one taken, and Node's defaults (event-loop lag, heap, CPU, file descriptors). Hot paths
 * touch a pre-resolved child and add a number; everything read from elsewhere is read at scrape.
 */
export class Telemetry {
  readonly registry = new Registry();
  private readonly requestSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by method, route template and status (its _count is the number of requests).',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  /** route -> method -> status -> child: no label string is built per request. */
  private readonly requestChildren = new Map<string, Map<string, Map<number, { observe(v: number): void }>>>();
  private readonly decisions = new Counter({
    name: 'consent_eligibility_decisions_total',
    help: 'Training eligibility decisions answered (single, batch, stream), by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly decisionChildren = new Map<string, { inc(v?: number): void }>();
  private readonly streamed = new Counter({
    name: 'consent_eligible_chats_streamed_total',
    help: 'Chats sent by eligible-chats streams (every one eligible at its stream\'s point).',
    registers: [this.registry],
  });
  private readonly writeSeconds = new Histogram({
    name: 'consent_audit_append_duration_seconds',
    help: 'Time from BEGIN to COMMIT (or to failure) of a write transaction: the change and the audit events appended with it.',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor(sources: TelemetrySources) {
    collectDefaultMetrics({ register: this.registry });
    const { db } = sources;
    const stats = () => db.stats?.() ?? null;
    new Gauge({
      name: 'consent_db_pool_connections',
      help: 'Connections of the PostgreSQL pool (the embedded database has one).',
      registers: [this.registry],
      collect() {
        this.set(stats()?.connections ?? 1);
      },
    });
    new Gauge({
      name: 'consent_db_pool_busy_connections',
      help: 'Connections with a statement in flight or held by a transaction.',
      registers: [this.registry],
      collect() {
        this.set(stats()?.busy ?? 0);
      },
    });
    new Gauge({
      name: 'consent_db_pool_queued',
      help: 'Statements in flight or queued, and transactions waiting for a connection.',
      registers: [this.registry],
      collect() {
        this.set(stats()?.queued ?? 0);
      },
    });
    new Gauge({
      name: 'consent_db_pool_waiting_transactions',
      help: 'Transactions waiting for a connection no other transaction holds.',
      registers: [this.registry],
      collect() {
        this.set(stats()?.waiting ?? 0);
      },
    });
    new Counter({
      name: 'consent_db_pool_acquire_wait_seconds_total',
      help: 'Time transactions spent waiting for a connection.',
      registers: [this.registry],
      collect() {
        const s = stats();
        if (s) this.reset(), this.inc(s.waitedSeconds);
      },
    });
    new Counter({
      name: 'consent_db_pool_replaced_connections_total',
      help: 'Connections given up on (a statement past its deadline) and replaced.',
      registers: [this.registry],
      collect() {
        const s = stats();
        if (s) this.reset(), this.inc(s.replaced);
      },
    });
    new Gauge({
      name: 'consent_settled_revision',
      help: 'The newest revision this process has seen settle (every revision up to it committed or abandoned).',
      registers: [this.registry],
      collect() {
        const s = sources.settled();
        this.set(s === null ? 0 : Number(s.revision));
      },
    });
    new Gauge({
      name: 'consent_settled_revision_lag',
      help: 'Revisions taken (committed or in flight) beyond the newest settled one: how far reads trail writes.',
      registers: [this.registry],
      async collect() {
        const s = sources.settled();
        const rows = await db
          .query<{ r: string }>('SELECT CASE WHEN is_called THEN last_value ELSE 0 END::text AS r FROM revision_seq')
          .catch(() => null);
        if (rows === null || s === null) return;
        this.set(Math.max(0, Number(BigInt(rows[0].r) - s.revision)));
      },
    });
    new Gauge({
      name: 'consent_settled_revision_age_seconds',
      help: 'Seconds since this process last settled a revision.',
      registers: [this.registry],
      collect() {
        const s = sources.settled();
        if (s !== null) this.set((Date.now() - s.at) / 1000);
      },
    });
    if (sources.caches) {
      const caches = sources.caches;
      new Gauge({
        name: 'consent_cache_entries',
        help: 'Entries held by each bounded in-process cache.',
        labelNames: ['cache'] as const,
        registers: [this.registry],
        collect() {
          for (const c of caches()) this.set({ cache: c.name }, c.size);
        },
      });
      new Gauge({
        name: 'consent_cache_max_entries',
        help: 'The bound of each in-process cache.',
        labelNames: ['cache'] as const,
        registers: [this.registry],
        collect() {
          for (const c of caches()) this.set({ cache: c.name }, c.max);
        },
      });
    }
  }

  /**
   * Where reads went and what each replica is (DATABASE_READ_URLS): reads sent to each database,
   * each replica's state, replayed revision and lag, and the bounds routing applies.
   */
  readDatabases(reads: {
    readCounts(): { name: string; reads: number }[];
    replicaStatus(): { name: string; state: string; settledRevision: string | null; lagSeconds: number | null }[];
    sources(): { name: string; settled: { users: { size: number; max: number } } }[];
    readonly hasReplicas: boolean;
    readonly limits: { maxLagMs: number; retryMs: number; revisionWaitMs: number };
  }, published: () => bigint | null): void {
    new Gauge({
      name: 'consent_users_facts_cached',
      help: "Users whose facts are kept in memory, for each database reads go to (each has its own cache).",
      labelNames: ['database'] as const,
      registers: [this.registry],
      collect() {
        for (const s of reads.sources()) this.set({ database: s.name }, s.settled.users.size);
      },
    });
    new Gauge({
      name: 'consent_users_facts_cached_max',
      help: "The bound of each database's users' facts cache: past it, the oldest entries go.",
      labelNames: ['database'] as const,
      registers: [this.registry],
      collect() {
        for (const s of reads.sources()) this.set({ database: s.name }, s.settled.users.max);
      },
    });
    new Counter({
      name: 'consent_db_reads_total',
      help: 'Reads sent to each database (primary, replica-1, ...): a read that fails on a replica and is tried elsewhere counts on both.',
      labelNames: ['database'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of reads.readCounts()) this.inc({ database: c.name }, c.reads);
      },
    });
    if (!reads.hasReplicas) return;
    new Gauge({
      name: 'consent_db_replica_ready',
      help: 'Whether reads may go to the replica now (1), or it is skipped (0): down, lagging past DATABASE_READ_MAX_LAG_MS, or starting.',
      labelNames: ['database', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of reads.replicaStatus()) this.set({ database: r.name, state: r.state }, r.state === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'consent_db_replica_lag_seconds',
      help: 'How long the primary has been beyond the revision the replica has replayed (0: it has not).',
      labelNames: ['database'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of reads.replicaStatus()) if (r.lagSeconds !== null) this.set({ database: r.name }, r.lagSeconds);
      },
    });
    new Gauge({
      name: 'consent_db_replica_settled_revision',
      help: 'The newest revision the replica has replayed as the primary published it: what it answers at.',
      labelNames: ['database'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of reads.replicaStatus()) if (r.settledRevision !== null) this.set({ database: r.name }, Number(r.settledRevision));
      },
    });
    this.gauge('consent_db_read_max_lag_seconds', 'A replica further behind than this is skipped (DATABASE_READ_MAX_LAG_MS).', () => reads.limits.maxLagMs / 1000);
    this.gauge('consent_db_read_retry_seconds', 'A replica that failed is skipped this long (DATABASE_READ_RETRY_MS).', () => reads.limits.retryMs / 1000);
    this.gauge(
      'consent_min_revision_wait_max_seconds',
      'A read that needs a revision waits at most this long for a replica that has it while the primary cannot answer (MIN_REVISION_WAIT_MS).',
      () => reads.limits.revisionWaitMs / 1000,
    );
    this.gauge('consent_settled_revision_published', 'The newest settled revision this process published for replicas.', () => Number(published() ?? -1));
  }

  /** A gauge read at scrape time: a bound's size and its use, by name. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A counter read at scrape time from a running total kept elsewhere. */
  counter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    let methods = this.requestChildren.get(route);
    if (methods === undefined) this.requestChildren.set(route, (methods = new Map()));
    let statuses = methods.get(method);
    if (statuses === undefined) methods.set(method, (statuses = new Map()));
    let child = statuses.get(status);
    if (child === undefined) statuses.set(status, (child = this.requestSeconds.labels(method, route, String(status))));
    child.observe(seconds);
  }

  /** Counts decisions by reason: a batch or a page adds its tally once per reason. */
  countDecisions(tally: ReadonlyMap<Decision['reason'], number>): void {
    for (const [reason, n] of tally) this.decision(reason).inc(n);
  }

  countDecision(reason: Decision['reason']): void {
    this.decision(reason).inc();
  }

  countStreamed(n: number): void {
    this.streamed.inc(n);
  }

  private decision(reason: string) {
    let child = this.decisionChildren.get(reason);
    if (child === undefined) this.decisionChildren.set(reason, (child = this.decisions.labels(reason)));
    return child;
  }

  observeWrite(seconds: number, committed: boolean): void {
    this.writeSeconds.labels(committed ? 'committed' : 'failed').observe(seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The database with every transaction timed: in this service a transaction is a write and the audit events it appends. */
export function timedWrites(db: Database, telemetry: Telemetry): Database {
  return {
    ...db,
    query: db.query.bind(db),
    stats: db.stats?.bind(db),
    close: db.close.bind(db),
    async transaction(fn) {
      const started = performance.now();
      let committed = false;
      try {
        const result = await db.transaction(fn);
        committed = true;
        return result;
      } finally {
        telemetry.observeWrite((performance.now() - started) / 1000, committed);
      }
    },
  };
}

/** What eligibility answers: the service's methods, as `observeDecisions` wraps them. */
interface DecidingService {
  single(...args: never[]): Promise<{ reason: Decision['reason'] }>;
  batch(...args: never[]): Promise<{ results: readonly { reason: Decision['reason'] }[] }>;
  batchJson(...args: never[]): Promise<{ reasons: ReadonlyMap<Decision['reason'], number> }>;
  eligibleChats(...args: never[]): AsyncGenerator<{ readonly lines: number }, void, undefined>;
}

/**
 * Counts every decision the service answers by reason (single and batch, through either door),
 * and every chat a stream sends, without the service knowing of metrics.
 */
export function observeDecisions<S extends DecidingService>(service: S, telemetry: Telemetry): S {
  const single = service.single.bind(service);
  const batch = service.batch.bind(service);
  const batchJson = service.batchJson.bind(service);
  const stream = service.eligibleChats.bind(service);
  return Object.assign(service, {
    async single(...args: never[]) {
      const d = await single(...args);
      telemetry.countDecision(d.reason);
      return d;
    },
    async batch(...args: never[]) {
      const b = await batch(...args);
      const tally = new Map<Decision['reason'], number>();
      for (const r of b.results) tally.set(r.reason, (tally.get(r.reason) ?? 0) + 1);
      telemetry.countDecisions(tally);
      return b;
    },
    async batchJson(...args: never[]) {
      const b = await batchJson(...args);
      telemetry.countDecisions(b.reasons);
      return b;
    },
    async *eligibleChats(...args: never[]) {
      for await (const page of stream(...args)) {
        telemetry.countStreamed(page.lines);
        yield page;
      }
    },
  });
}
