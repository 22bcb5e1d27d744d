import postgres from 'postgres';
import type { Queryable } from '../db/client.js';
import type { SettledRevisions } from '../db/point.js';

/** The PostgreSQL channel an instance notifies after it commits audit events. */
export const AUDIT_CHANNEL = 'consent_audit';
/** A NOTIFY is sent at most this often: writes in between share it. */
const NOTIFY_GAP_MS = 2;
/** Followers are woken at least this often, whatever was heard: a notification lost while listening reconnected costs at most this much delay. */
export const FALLBACK_WAKE_MS = 1_000;

/** What a follower is told at each wake: the revision settled by then. */
export interface Wakeable {
  settledAt(revision: string): void;
}

/**
 * Tells followers of the log when new revisions may have settled: after this process commits an
 * audited write, when another instance notifies the channel (PostgreSQL `LISTEN/NOTIFY`), and
 * once a second as a fallback while anyone follows. Each wake settles once for every follower
 * (docs/decisions/0001), so that their reads include what was committed before it; wakes that
 * come while a settling is under way share the next one.
 */
export class ChangeSignal {
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private readonly followers = new Set<Wakeable>();
  private settling = false;
  private again = false;
  private againFresh = false;
  private readonly fallback: NodeJS.Timeout;

  constructor(
    private readonly settled: SettledRevisions,
    private readonly onError: (err: unknown) => void,
  ) {
    this.fallback = setInterval(() => this.poke(true), FALLBACK_WAKE_MS).unref();
  }

  /** Bumped after each settling that followed a wake. */
  get current(): number {
    return this.generation;
  }

  get size(): number {
    return this.followers.size;
  }

  add(f: Wakeable): void {
    this.followers.add(f);
  }

  delete(f: Wakeable): void {
    this.followers.delete(f);
  }

  /**
   * Something may have committed. `fresh` when it was committed elsewhere: the settling must
   * begin after this call, since this process's own commits are known to it already.
   */
  poke(fresh: boolean): void {
    if (this.followers.size === 0) return;
    if (this.settling) {
      this.again = true;
      this.againFresh ||= fresh;
      return;
    }
    this.settling = true;
    this.settled.get(fresh).then(
      (s) => this.woke(s.revision),
      (err) => {
        this.onError(err);
        this.woke(null);
      },
    );
  }

  private woke(revision: string | null): void {
    this.settling = false;
    this.generation++;
    for (const w of this.waiters) w();
    this.waiters.clear();
    if (revision !== null) for (const f of this.followers) f.settledAt(revision);
    if (this.again) {
      const fresh = this.againFresh;
      this.again = false;
      this.againFresh = false;
      this.poke(fresh);
    }
  }

  /** Resolves once the generation has moved past `seen`, or at once if it has. */
  changed(seen: number): Promise<void> {
    if (this.generation !== seen) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  close(): void {
    clearInterval(this.fallback);
    for (const w of this.waiters) w();
    this.waiters.clear();
  }
}

/**
 * Sends NOTIFY on the audit channel after this process commits audited writes, one statement at a
 * time: writes committed while one is in flight share the next. It is a statement of its own, not
 * part of the write's transaction, because PostgreSQL serialises the commits of transactions that
 * notify (docs/decisions/0011).
 */
export class CommitAnnouncer {
  private inFlight = false;
  private pending = false;
  private closed = false;

  constructor(
    private readonly db: Queryable,
    private readonly onError: (err: unknown) => void,
  ) {}

  announce(): void {
    if (this.closed) return;
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.inFlight = true;
    this.db
      .query(`SELECT pg_notify('${AUDIT_CHANNEL}', '')`)
      .catch(this.onError)
      .finally(() => {
        this.inFlight = false;
        if (this.pending) {
          this.pending = false;
          setTimeout(() => this.announce(), NOTIFY_GAP_MS);
        }
      });
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * LISTENs on the audit channel on a connection of its own, and pokes the signal on every
 * notification, and whenever listening (re)starts (what was committed while it was down is read
 * then). postgres.js reconnects by itself.
 */
export async function listenForCommits(url: string, signal: ChangeSignal): Promise<{ close(): Promise<void> }> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'consent-service-listen' } });
  await sql.listen(
    AUDIT_CHANNEL,
    () => signal.poke(true),
    () => signal.poke(true),
  );
  return { close: () => sql.end({ timeout: 5 }) };
}
