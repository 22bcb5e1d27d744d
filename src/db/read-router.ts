import { AppError, unavailable } from '../errors.js';
import type { Database } from './client.js';
import { reachRevision, revisionNeeded, RevisionNotReached, type PointRequest, type SettledRevisions } from './point.js';
import type { PrimaryProgress } from './primary-progress.js';
import { isDatabaseUnavailable } from './unavailable.js';

/** A database reads can be sent to, with what this process knows of its settled revisions. */
export interface ReadSource {
  /** `primary`, `replica-1`, …: how /readyz and /metrics name it. */
  readonly name: string;
  readonly db: Database;
  /** Settled on the primary; on a replica, the primary's as replayed there (`replicatedRevision`). */
  readonly settled: SettledRevisions;
}

/** The bounds of routing reads (config: DATABASE_READ_MAX_LAG_MS, DATABASE_READ_RETRY_MS, MIN_REVISION_WAIT_MS). */
export interface ReadLimits {
  /** A replica further behind the primary than this is skipped until it has caught up. */
  maxLagMs: number;
  /** A replica that failed is skipped this long, then tried again. */
  retryMs: number;
  /** A read that needs a revision waits at most this long for a replica that has it while the primary cannot answer. */
  revisionWaitMs: number;
}

/** How often each replica's published revision is read when reads do not do it: what skipped replicas are retried by. */
export const REPLICA_CHECK_MS = 100;
/** While the primary cannot answer, a read that needs a revision looks at the replicas again this often. */
const REVISION_POLL_MS = 20;

export type DatabaseState = 'ready' | 'starting' | 'lagging' | 'down';

/** What /readyz and /metrics say of a replica. */
export interface ReplicaStatus {
  name: string;
  state: DatabaseState;
  /** The newest revision it has replayed and may answer at; null before it was first read. */
  settledRevision: string | null;
  /** How long the primary has been beyond it (seconds); null when not known. */
  lagSeconds: number | null;
  /** Why it was last skipped as down. */
  lastError: string | null;
}

class Replica {
  /** Failed: skipped until a check succeeds. */
  down = false;
  /** When a replica that is down is checked next (epoch ms). */
  retryAt = 0;
  lastError: string | null = null;
  reads = 0;
  checking = false;
  constructor(readonly source: ReadSource) {}
}

const codeOf = (err: unknown) => String((err as { code?: unknown } | null)?.code ?? (err as Error)?.name ?? 'error');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends reads to the databases that can answer them (docs/decisions/0040). Without replicas, every
 * read goes to the primary as it is, at no added cost, and `minRevision` is checked there. With
 * replicas, a read goes to the next replica in turn that is up, not further behind than
 * `maxLagMs`, and has replayed the revision the read needs (its `minRevision` or `atRevision`);
 * failing that, to the primary. A replica whose read fails as unavailable is skipped for
 * `retryMs` and the read tried elsewhere. A read that needs a revision while the primary cannot
 * answer waits up to `revisionWaitMs` for a replica that has it, then gets 503. Writes never come
 * here: they go to the primary.
 */
export class ReadRouter {
  private readonly replicas: Replica[];
  private turn = 0;
  private primaryReads = 0;
  private readonly monitor: NodeJS.Timeout | null = null;

  constructor(
    readonly primary: ReadSource,
    replicas: readonly ReadSource[] = [],
    private readonly progress: PrimaryProgress | null = null,
    readonly limits: ReadLimits = { maxLagMs: 2_000, retryMs: 1_000, revisionWaitMs: 2_000 },
  ) {
    this.replicas = replicas.map((s) => new Replica(s));
    if (this.replicas.length > 0) {
      if (progress === null) throw new Error('replicas need the primary\'s progress to measure their lag');
      this.monitor = setInterval(() => this.check(), REPLICA_CHECK_MS).unref();
      this.check();
    }
  }

  get hasReplicas(): boolean {
    return this.replicas.length > 0;
  }

  /**
   * Runs `read` on a database that can answer `request` (a "now" read for reads that are not at a
   * point, with its `minRevision`). Without replicas and without `minRevision`, straight to the
   * primary: no await, no lookup.
   */
  run<T>(request: PointRequest, read: (source: ReadSource) => Promise<T>): Promise<T> {
    if (this.replicas.length === 0 && (request.kind !== 'now' || request.minRevision === undefined)) {
      this.primaryReads++;
      return read(this.primary);
    }
    return this.routed(request, read);
  }

  private async routed<T>(request: PointRequest, read: (source: ReadSource) => Promise<T>): Promise<T> {
    const needed = revisionNeeded(request);
    const deadline = Date.now() + this.limits.revisionWaitMs;
    for (;;) {
      for (const replica of this.usable()) {
        if (needed !== null && !(await this.reaches(replica, BigInt(needed)))) continue;
        try {
          replica.reads++;
          return await read(replica.source);
        } catch (err) {
          if (err instanceof RevisionNotReached) continue;
          if (!isDatabaseUnavailable(err)) throw err;
          this.down(replica, err);
        }
      }
      try {
        // On the primary, a minRevision beyond every revision taken is refused here (400) for every
        // kind of read, point reads and the others alike.
        if (request.kind === 'now' && request.minRevision !== undefined) await reachRevision(this.primary.settled, request.minRevision, request.where);
        this.primaryReads++;
        return await read(this.primary);
      } catch (err) {
        const primaryCannotAnswer = isDatabaseUnavailable(err) || (err instanceof AppError && err.code === 'UNAVAILABLE');
        if (needed === null || this.replicas.length === 0 || !primaryCannotAnswer) throw err;
        if (Date.now() >= deadline) {
          throw unavailable(`revision ${needed} could not be read within ${this.limits.revisionWaitMs} ms: the primary does not answer and no replica has replayed it yet; retry`);
        }
        await sleep(REVISION_POLL_MS);
      }
    }
  }

  /**
   * For reads only the primary answers (proofs, checkpoints, exports): a minRevision beyond the
   * newest revision is refused there as elsewhere (400); any other is reached by then, since a
   * revision a write returned has committed on the primary.
   */
  async reachOnPrimary(request: PointRequest): Promise<void> {
    if (request.kind === 'now' && request.minRevision !== undefined) await reachRevision(this.primary.settled, request.minRevision, request.where);
  }

  /** The replicas a read may go to now, starting with the next one in turn. */
  private usable(): Replica[] {
    const n = this.replicas.length;
    if (n === 0) return [];
    const now = Date.now();
    const out: Replica[] = [];
    for (let i = 0; i < n; i++) {
      const replica = this.replicas[(this.turn + i) % n];
      if (this.stateOf(replica, now) === 'ready') out.push(replica);
    }
    this.turn = (this.turn + 1) % n;
    return out;
  }

  private stateOf(replica: Replica, now: number): DatabaseState {
    if (replica.down) return 'down';
    const known = replica.source.settled.known();
    // Until the primary's settled revision has been seen, nothing says how far behind a replica is.
    if (known === null || this.progress!.size === 0) return 'starting';
    return this.progress!.lagMs(known.revision, now) > this.limits.maxLagMs ? 'lagging' : 'ready';
  }

  /** Whether the replica has replayed `needed`: from what is known of it, else by reading its published revision. */
  private async reaches(replica: Replica, needed: bigint): Promise<boolean> {
    const { settled } = replica.source;
    const ready = settled.peek();
    if (ready !== null) return BigInt(ready.revision) >= needed;
    try {
      return BigInt((await settled.get()).revision) >= needed;
    } catch (err) {
      this.down(replica, err);
      return false;
    }
  }

  private down(replica: Replica, err: unknown): void {
    replica.down = true;
    replica.retryAt = Date.now() + this.limits.retryMs;
    replica.lastError = codeOf(err);
  }

  /**
   * Reads each replica's published revision: how a replica skipped as lagging is seen to have
   * caught up, and one skipped as down, once `retryMs` has passed, to be back (reads do not try
   * it before).
   */
  private check(): void {
    const now = Date.now();
    for (const replica of this.replicas) {
      if (replica.checking || (replica.down && replica.retryAt > now)) continue;
      replica.checking = true;
      replica.source.settled
        .get(true)
        .then(
          () => {
            replica.down = false;
            replica.lastError = null;
          },
          (err: unknown) => this.down(replica, err),
        )
        .finally(() => {
          replica.checking = false;
        });
    }
  }

  /** Each replica as this process sees it now. */
  replicaStatus(): ReplicaStatus[] {
    const now = Date.now();
    return this.replicas.map((r) => {
      const known = r.source.settled.known();
      const lag = known === null ? null : this.progress!.lagMs(known.revision, now);
      return {
        name: r.source.name,
        state: this.stateOf(r, now),
        settledRevision: known === null ? null : known.revision.toString(),
        lagSeconds: lag === null || !Number.isFinite(lag) ? null : lag / 1000,
        lastError: r.lastError,
      };
    });
  }

  /** Reads sent to each database since start, primary first. */
  readCounts(): { name: string; reads: number }[] {
    return [{ name: this.primary.name, reads: this.primaryReads }, ...this.replicas.map((r) => ({ name: r.source.name, reads: r.reads }))];
  }

  /** Every source: the primary and the replicas. */
  sources(): ReadSource[] {
    return [this.primary, ...this.replicas.map((r) => r.source)];
  }

  close(): void {
    if (this.monitor !== null) clearInterval(this.monitor);
  }
}
