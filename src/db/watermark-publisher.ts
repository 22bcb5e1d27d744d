import type { Queryable } from './client.js';
import { SETTLE_WAIT_MS } from './point.js';
import type { PrimaryProgress } from './primary-progress.js';

/**
 * Publishes the primary's settled revision for its streaming replicas, every `everyMs`: settles
 * and writes it into `settled_watermark` in one statement (`consent_publish_settled`, migration
 * 0015), and tells `progress` when the primary settled what, which is how replicas' lag is
 * measured. Only a process with replicas runs one: without them nothing is written. The row is
 * written by this loop, never by a write's transaction, so writers do not queue on it
 * (docs/decisions/0040).
 */
export class WatermarkPublisher {
  private known = '-1';
  private running = false;
  private failing = false;
  private readonly timer: NodeJS.Timeout;
  /** When a publication last succeeded (epoch ms), 0 before the first. */
  lastPublishedAt = 0;

  constructor(
    private readonly primary: Queryable,
    private readonly progress: PrimaryProgress,
    everyMs: number,
    /** Told when publishing starts failing and when it works again (not at every attempt). */
    private readonly onState: (failing: boolean, err?: unknown) => void,
  ) {
    this.timer = setInterval(() => this.publish(), everyMs).unref();
    this.publish();
  }

  /** The newest revision published by this process (-1 before the first). */
  get published(): bigint {
    return BigInt(this.known);
  }

  publish(): void {
    if (this.running) return;
    this.running = true;
    const started = Date.now();
    this.primary
      .query<{ r: string }>('SELECT consent_publish_settled($1, $2)::text AS r', [SETTLE_WAIT_MS, this.known])
      .then(
        ([row]) => {
          this.known = row.r;
          this.lastPublishedAt = Date.now();
          this.progress.seen(BigInt(row.r), started);
          if (this.failing) {
            this.failing = false;
            this.onState(false);
          }
        },
        (err: unknown) => {
          if (!this.failing) {
            this.failing = true;
            this.onState(true, err);
          }
        },
      )
      .finally(() => {
        this.running = false;
      });
  }

  close(): void {
    clearInterval(this.timer);
  }
}
