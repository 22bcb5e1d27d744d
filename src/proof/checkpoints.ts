import type { Database, Queryable } from '../db/client.js';
import type { SettledRevisions } from '../db/point.js';
import { unprocessable } from '../errors.js';
import type { MerkleLog } from './merkle-log.js';
import type { Signer } from './signing-keys.js';

/** A signed statement of the tree's size and root; its JWS's payload is the checkpoint without `jws`. */
export interface Checkpoint {
  treeSize: number;
  rootHash: string;
  lastRevision: string;
  createdAt: string;
  previousRootHash: string | null;
  jws: string;
}

export const CHECKPOINT_TYP = 'checkpoint+jws';

interface CheckpointRow {
  tree_size: string;
  root_hash: string;
  last_revision: string;
  created_at: Date;
  previous_root_hash: string | null;
  jws: string;
}

const COLUMNS = `tree_size::text AS tree_size, root_hash, last_revision::text AS last_revision, created_at, previous_root_hash, jws`;

export const toCheckpoint = (r: CheckpointRow): Checkpoint => ({
  treeSize: Number(r.tree_size),
  rootHash: r.root_hash,
  lastRevision: r.last_revision,
  createdAt: r.created_at.toISOString(),
  previousRootHash: r.previous_root_hash,
  jws: r.jws,
});

/**
 * Checkpoints of the Merkle log: made on a schedule and on demand, each only when the log grew
 * since the last one, each naming the previous root. The tree is grown to the settled revision
 * first, so a checkpoint never covers a revision that could still be committed before another.
 */
export class Checkpoints {
  constructor(
    private readonly db: Database,
    readonly log: MerkleLog,
    private readonly settled: SettledRevisions,
    private readonly signer: Signer,
  ) {}

  /** A checkpoint of every settled event: a new one when the log grew, else the latest. */
  async create(now: number): Promise<{ checkpoint: Checkpoint; created: boolean }> {
    const { revision } = await this.settled.get(true);
    await this.log.grow(revision);
    return this.db.transaction(async (tx) => {
      // The tree's row, locked: checkpoints are made one at a time, whichever instance makes them.
      const state = await this.log.state(tx, true);
      const latest = await this.latest(tx);
      if (latest !== null && latest.treeSize >= state.size) return { checkpoint: latest, created: false };
      if (state.size === 0) throw unprocessable('the log is empty: there is nothing to checkpoint');
      const body = {
        treeSize: state.size,
        rootHash: (await this.log.root(state.size, tx)).toString('hex'),
        lastRevision: state.lastRevision,
        createdAt: new Date(now).toISOString(),
        previousRootHash: latest?.rootHash ?? null,
      };
      const jws = await this.signer.sign(body, CHECKPOINT_TYP);
      tx.defer(
        `INSERT INTO audit_checkpoints (tree_size, root_hash, last_revision, created_at, previous_root_hash, jws)
         VALUES ($1::bigint, $2, $3::bigint, $4::timestamptz, $5, $6)`,
        [String(body.treeSize), body.rootHash, body.lastRevision, body.createdAt, body.previousRootHash, jws],
      );
      return { checkpoint: { ...body, jws }, created: true };
    });
  }

  async latest(q: Queryable = this.db): Promise<Checkpoint | null> {
    const rows = await q.query<CheckpointRow>(`SELECT ${COLUMNS} FROM audit_checkpoints ORDER BY audit_checkpoints.tree_size DESC LIMIT 1`);
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  /** Checkpoints by tree size, after `after`. */
  async list(after: number, limit: number): Promise<{ items: Checkpoint[]; nextCursor: string | null }> {
    const rows = await this.db.query<CheckpointRow>(
      `SELECT ${COLUMNS} FROM audit_checkpoints WHERE audit_checkpoints.tree_size > $1::bigint ORDER BY audit_checkpoints.tree_size LIMIT $2`,
      [String(after), limit],
    );
    const items = rows.map(toCheckpoint);
    return { items, nextCursor: items.length === limit ? String(items[items.length - 1].treeSize) : null };
  }

  /**
   * Makes a checkpoint every `intervalS` seconds when the log grew. One run at a time; a failed
   * run is reported and the next one tries again.
   */
  schedule(intervalS: number, onError: (err: unknown) => void): () => void {
    if (intervalS <= 0) return () => {};
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.create(Date.now())
        .catch(onError)
        .finally(() => {
          running = false;
        });
    }, intervalS * 1000);
    timer.unref();
    return () => clearInterval(timer);
  }
}
