import type { AuditFeed } from './feed.js';
import type { LoggedEvent } from './hash.js';
import type { ChangeSignal, Wakeable } from './change-signal.js';
import type { SettledRevisions } from '../db/point.js';

/** A live consumer more than this many events behind is ended (SPEC §5). */
export const MAX_EVENTS_BEHIND = 10_000;
/** Events read from the log per statement; at most this many wait in memory per follower. */
const PAGE = 200;

/** A follower ended because its consumer is more than MAX_EVENTS_BEHIND events behind. */
export class FollowerBehind extends Error {
  readonly code = 'TOO_FAR_BEHIND';
  constructor(readonly lastDelivered: string) {
    super(
      `the consumer is more than ${MAX_EVENTS_BEHIND} events behind; read the change feed after revision ${lastDelivered} and subscribe again from where it ends`,
    );
    this.name = 'FollowerBehind';
  }
}

export interface FollowOptions {
  /** Deliver the events after this revision; null for "from now" (the newest settled revision). */
  after: string | null;
  types: readonly string[] | null;
  userId: string | null;
}

/**
 * Follows the audit log from a revision, then live: every event exactly once, in revision order,
 * through `AuditFeed.feed`, which only reads up to the settled revision (a late commit is never
 * stepped over). It reads a page only when its consumer asks for the next event, so what it
 * holds in memory is at most a page; meanwhile it counts how far behind the consumer is and,
 * past MAX_EVENTS_BEHIND, ends with `FollowerBehind` instead of reading on.
 */
export class AuditFollower implements AsyncIterableIterator<LoggedEvent>, Wakeable {
  private buffer: LoggedEvent[] = [];
  /** Where the next page is read from: every event at or below it was read. */
  private cursor: string;
  /** The last event handed to the consumer (or the start). */
  private delivered: string;
  /** The generation at which the last page came back short: no need to read again before the next wake. */
  private caughtUpAt: number | null = null;
  private failure: Error | null = null;
  private ended = false;
  /** What the last count said: `count` events behind as of revision `at`. */
  private known = { at: 0n, count: 0 };
  private counting = false;
  /** Ends the wait for the next wake early: the follower ended or failed. */
  private stopWaiting: (() => void) | null = null;

  private constructor(
    private readonly feed: AuditFeed,
    private readonly signal: ChangeSignal,
    private readonly options: FollowOptions,
    start: string,
  ) {
    this.cursor = start;
    this.delivered = start;
    this.known = { at: BigInt(start), count: 0 };
  }

  /**
   * Starts following: "from now" is the newest settled revision. Refused (`FollowerBehind`)
   * when more than MAX_EVENTS_BEHIND events already lie after `after`.
   */
  static async start(feed: AuditFeed, settled: SettledRevisions, signal: ChangeSignal, options: FollowOptions): Promise<AuditFollower> {
    const now = await settled.get(true);
    const start = options.after ?? now.revision;
    const follower = new AuditFollower(feed, signal, options, start);
    if (options.after !== null && BigInt(now.revision) - BigInt(start) > MAX_EVENTS_BEHIND) {
      const behind = await feed.countBetween(start, now.revision, options.types, options.userId, MAX_EVENTS_BEHIND);
      if (behind > MAX_EVENTS_BEHIND) throw new FollowerBehind(start);
      follower.known = { at: BigInt(now.revision), count: behind };
    }
    signal.add(follower);
    return follower;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<LoggedEvent>> {
    for (;;) {
      if (this.failure !== null) {
        const failure = this.failure;
        this.end();
        throw failure;
      }
      if (this.ended) return { value: undefined, done: true };
      const event = this.buffer.shift();
      if (event !== undefined) {
        this.delivered = event.revision;
        return { value: event, done: false };
      }
      if (this.caughtUpAt !== null) {
        const seen = this.caughtUpAt;
        await new Promise<void>((resolve) => {
          this.stopWaiting = resolve;
          this.signal.changed(seen).then(resolve);
        });
        this.stopWaiting = null;
        this.caughtUpAt = null;
        continue;
      }
      const seen = this.signal.current;
      // The primary, whose commits wake followers: a replica may not have replayed them yet.
      const page = await this.feed.feedOn(this.feed.primary, this.cursor, PAGE, this.options.types, Date.now(), this.options.userId);
      if (this.ended) continue;
      this.buffer = page.items;
      this.cursor = page.nextCursor!;
      if (page.items.length < PAGE) this.caughtUpAt = seen;
    }
  }

  async return(): Promise<IteratorResult<LoggedEvent>> {
    this.end();
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<LoggedEvent>> {
    this.end();
    throw err;
  }

  /** How many events the consumer has not been handed yet: counted only when it could be too many. */
  settledAt(revision: string): void {
    if (this.ended || this.failure !== null || this.counting) return;
    const from = this.buffer.length === 0 ? this.cursor : this.delivered;
    const through = BigInt(revision);
    // Every event takes a revision, so the events behind are at most the revisions behind, and
    // at most those counted before plus the revisions taken since.
    if (through - BigInt(from) <= MAX_EVENTS_BEHIND) return;
    if (BigInt(from) <= this.known.at && BigInt(this.known.count) + (through - this.known.at) <= MAX_EVENTS_BEHIND) return;
    this.counting = true;
    this.feed
      .countBetween(from, revision, this.options.types, this.options.userId, MAX_EVENTS_BEHIND)
      .then(
        (count) => {
          this.known = { at: through, count };
          if (count > MAX_EVENTS_BEHIND && !this.ended) {
            this.failure = new FollowerBehind(this.delivered);
            this.buffer = [];
            this.stopWaiting?.();
          }
        },
        () => {},
      )
      .finally(() => {
        this.counting = false;
      });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer = [];
    this.signal.delete(this);
    this.stopWaiting?.();
  }
}
