import type { FastifyBaseLogger } from 'fastify';
import { ChangeSignal, CommitAnnouncer, listenForCommits } from '../audit/change-signal.js';
import type { AuditFeed } from '../audit/feed.js';
import { AuditFollower, type FollowOptions } from '../audit/follower.js';
import type { DatabaseTarget, Queryable } from '../db/client.js';
import type { SettledRevisions } from '../db/point.js';
import { unavailable } from '../errors.js';

/**
 * The audit log followed live, for subscriptions: this process's commits wake followers at once;
 * on PostgreSQL, every instance NOTIFYs after it commits and LISTENs for the others. The embedded
 * database belongs to this process alone, so its own commits are all there is to hear.
 */
export class LiveAudit {
  readonly signal: ChangeSignal;
  private announcer: CommitAnnouncer | null = null;
  private listener: { close(): Promise<void> } | null = null;

  private constructor(
    private readonly feed: AuditFeed,
    private readonly settled: SettledRevisions,
    private readonly maxFollowers: number,
    log: FastifyBaseLogger,
  ) {
    this.signal = new ChangeSignal(settled, (err) => log.warn({ err }, 'settling for live subscriptions failed'));
  }

  static async open(options: {
    db: Queryable;
    target: DatabaseTarget;
    feed: AuditFeed;
    settled: SettledRevisions;
    maxFollowers: number;
    log: FastifyBaseLogger;
  }): Promise<LiveAudit> {
    const live = new LiveAudit(options.feed, options.settled, options.maxFollowers, options.log);
    if (options.target.kind === 'postgres') {
      live.announcer = new CommitAnnouncer(options.db, (err) => options.log.warn({ err }, 'notifying other instances of a commit failed'));
      live.listener = await listenForCommits(options.target.url, live.signal);
    }
    options.settled.onAudited = () => {
      live.signal.poke(false);
      live.announcer?.announce();
    };
    return live;
  }

  /** Live followers now. */
  get followers(): number {
    return this.signal.size;
  }

  /** A follower of the log; refused (UNAVAILABLE) when this process already serves as many as it may. */
  async follow(options: FollowOptions): Promise<AuditFollower> {
    if (this.signal.size >= this.maxFollowers) {
      throw unavailable(`this instance already serves ${this.maxFollowers} live subscriptions; retry later or on another instance`);
    }
    return AuditFollower.start(this.feed, this.settled, this.signal, options);
  }

  async close(): Promise<void> {
    this.settled.onAudited = null;
    this.signal.close();
    this.announcer?.close();
    await this.listener?.close();
  }
}
