/**
 * When this process first saw the primary settle each revision, by its own clock: how far behind a
 * replica is, is how long ago the primary had already settled beyond what the replica has
 * replayed (0 when it had not). Measured against this process's clock only, so clocks that
 * disagree between hosts do not matter, and a primary with no writes does not make its replicas
 * look behind.
 *
 * Bounded: samples older than `windowMs` are dropped, except the newest of them, so that a replica
 * behind every sample kept still reads as at least `windowMs` behind; and at most `maxSamples`
 * are kept (the window should be over long before that).
 */
export class PrimaryProgress {
  private revisions: bigint[] = [];
  private times: number[] = [];

  constructor(
    private readonly windowMs: number,
    readonly maxSamples = 4_096,
  ) {}

  get size(): number {
    return this.revisions.length;
  }

  /** The newest revision the primary was seen to settle; null before the first. */
  get newest(): bigint | null {
    return this.revisions.length === 0 ? null : this.revisions[this.revisions.length - 1];
  }

  /** The primary had settled `revision` by `at` (epoch ms, taken before asking). */
  seen(revision: bigint, at: number): void {
    const n = this.revisions.length;
    if (n > 0 && revision <= this.revisions[n - 1]) return;
    // The first revision seen may have settled at any time before: a replica behind it is taken
    // to be further behind than any bound until it has caught up with it.
    this.revisions.push(revision);
    this.times.push(n === 0 ? Number.NEGATIVE_INFINITY : at);
    let drop = 0;
    while (drop + 1 < this.times.length && this.times[drop + 1] < at - this.windowMs) drop++;
    if (this.revisions.length - drop > this.maxSamples) {
      drop = this.revisions.length - this.maxSamples;
      // What was dropped is not known any more: what is older than the oldest kept is, as at the start, as old as can be.
      this.times[drop] = Number.NEGATIVE_INFINITY;
    }
    if (drop > 0) {
      this.revisions.splice(0, drop);
      this.times.splice(0, drop);
    }
  }

  /** How long (ms) the primary has been beyond `replicated`; Infinity when since before the first sample, 0 when it is not. */
  lagMs(replicated: bigint, now: number): number {
    const { revisions } = this;
    let lo = 0;
    let hi = revisions.length;
    // The first sample beyond the replica's revision: the primary has been beyond it since then.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (revisions[mid] > replicated) hi = mid;
      else lo = mid + 1;
    }
    if (lo === revisions.length) return 0;
    return Math.max(0, now - this.times[lo]);
  }
}
