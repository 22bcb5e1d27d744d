/** An entry of `users.facts`: a fact a user's consent is folded from, at its revision (`seq`) and time. */
export interface FactRow {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: number;
}

/**
 * Users' facts (`users.facts`, every fact a user has) kept in memory, shared by the reads of one
 * process, so that a read of a known user needs no query for them. Facts are only ever added,
 * and every settling names the users with facts added up to the revision it settled
 * (`SettledRevisions`), whichever instance wrote them: they are forgotten before any read is
 * capped at that revision. What stays is complete for every point a read can be capped at, and
 * is filtered to the point like facts just read.
 *
 * A read that misses asks `mark()` before it sends its query, and hands it to `set` with what it
 * read: its statement began after every fact up to the mark had committed, so what it read is
 * complete up to it. It is kept only when no change of that user was heard of since.
 * Bounded: the oldest entries go first.
 */
export class UserFactsCache {
  private readonly entries = new Map<string, FactRow[]>();
  /** The revision changes have been heard of up to; a read that starts now sees every fact up to it. */
  private through = -1n;
  /** The settled revision at which each user's latest change was heard of. */
  private readonly changedAt = new Map<string, bigint>();
  /** Reads that began before this revision are not kept: the changes they may miss were forgotten. */
  private floor = 0n;

  constructor(readonly max = 20_000) {}

  get size(): number {
    return this.entries.size;
  }

  /** To be taken just before the query whose facts will be handed to `set`. */
  mark(): bigint {
    return this.through;
  }

  /** The user's facts, complete for any point up to the newest settled revision; undefined when not kept. */
  get(userId: string): FactRow[] | undefined {
    return this.entries.get(userId);
  }

  set(userId: string, facts: FactRow[], mark: bigint): void {
    if (this.max === 0 || mark < this.floor) return;
    const changed = this.changedAt.get(userId);
    if (changed !== undefined && changed > mark) return;
    this.entries.delete(userId);
    if (this.entries.size >= this.max) {
      let drop = Math.ceil(this.max / 10);
      for (const key of this.entries.keys()) {
        if (drop-- === 0) break;
        this.entries.delete(key);
      }
    }
    this.entries.set(userId, facts);
  }

  /** Heard from a settling: these users' facts (null: any user's) changed at revisions up to `through`. */
  changed(through: bigint, users: readonly string[] | null): void {
    if (users === null) {
      this.entries.clear();
      this.changedAt.clear();
      this.floor = through;
    } else {
      // Bounded too: past the bound, reads that began before now are not kept instead.
      if (this.changedAt.size + users.length > this.max) {
        this.changedAt.clear();
        this.floor = through;
      }
      for (const u of users) {
        this.entries.delete(u);
        this.changedAt.set(u, through);
      }
    }
    if (through > this.through) this.through = through;
  }
}
