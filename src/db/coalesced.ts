import type { Queryable } from './client.js';

interface Waiter<R> {
  resolve(row: R | undefined): void;
  reject(err: unknown): void;
}

/**
 * Reads rows by key for many callers at once: the keys asked for during one turn of the event
 * loop are read by one statement (`text` takes them as `$1`, a text array), at most `maxKeys` a
 * statement. Under load, the single checks of many requests cost PostgreSQL one statement instead
 * of one each; a key asked for alone waits only for the rest of the turn it was asked in.
 *
 * A caller gets the row as read when it alone asked for its key, a copy of it otherwise, so that
 * what one caller adds to its row (the activity at its point) is not seen by another. A statement
 * starts after every caller in it asked, so it sees every commit each of them waited for.
 */
export class CoalescedReader<R> {
  private pending: Map<string, Waiter<R>[]> | null = null;
  /** Statements sent, and keys read by them, since the process started: the coalescing rate. */
  statements = 0;
  keys = 0;

  constructor(
    private readonly db: Queryable,
    private readonly text: string,
    private readonly keyOf: (row: R) => string,
    private readonly maxKeys = 500,
  ) {}

  get(key: string): Promise<R | undefined> {
    return new Promise<R | undefined>((resolve, reject) => {
      let pending = this.pending;
      if (pending === null || pending.size >= this.maxKeys) {
        const batch = (pending = this.pending = new Map());
        setImmediate(() => this.send(batch));
      }
      const waiters = pending.get(key);
      if (waiters === undefined) pending.set(key, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
    });
  }

  private send(batch: Map<string, Waiter<R>[]>): void {
    if (this.pending === batch) this.pending = null;
    this.statements++;
    this.keys += batch.size;
    let read: Promise<R[]>;
    try {
      read = this.db.query<R>(this.text, [[...batch.keys()]]);
    } catch (err) {
      read = Promise.reject(err);
    }
    read.then(
      (rows) => {
        const byKey = new Map<string, R>();
        for (const row of rows) byKey.set(this.keyOf(row), row);
        for (const [key, waiters] of batch) {
          const row = byKey.get(key);
          if (waiters.length === 1 || row === undefined) for (const w of waiters) w.resolve(row);
          else for (const w of waiters) w.resolve({ ...row });
        }
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }
}
