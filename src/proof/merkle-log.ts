import type { Database, Queryable } from '../db/client.js';
import { leafHash, treeRoot, type Hash, type NodeSource } from '../merkle/hashes.js';
import { consistencyProof, inclusionProof, nodesRead } from '../merkle/proofs.js';
import { HASH_BYTES, TILE_WIDTH, TileAppender, tileKey, tileNodes, tilesFor, type TileKey } from '../merkle/tiles.js';

export interface TreeState {
  size: number;
  /** The revision of the last leaf ('0' while the tree is empty). */
  lastRevision: string;
}

export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  rootHash: string;
  path: string[];
}

const hex = (h: Hash) => h.toString('hex');

async function loadTiles(q: Queryable, keys: readonly TileKey[]): Promise<Map<string, Buffer>> {
  const tiles = new Map<string, Buffer>();
  if (keys.length === 0) return tiles;
  const rows = await q.query<{ level: number; idx: string; hashes: Uint8Array }>(
    `SELECT t.level, t.idx::text AS idx, t.hashes FROM merkle_tiles t
       JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) ON t.level = k.level AND t.idx = k.idx`,
    [keys.map((k) => k.level), keys.map((k) => String(k.idx))],
  );
  for (const r of rows) tiles.set(tileKey(r.level, Number(r.idx)), Buffer.from(r.hashes));
  return tiles;
}

/**
 * The Merkle tree over every audit event in revision order (RFC 6962; leaf data: the 32 bytes of
 * the event's hash), stored as tiles (`src/merkle/tiles.ts`). It grows only over settled
 * revisions, so no event can later land before a leaf already in it; growing is off the write
 * path, in batches, when a checkpoint is made.
 */
export class MerkleLog {
  constructor(
    private readonly db: Database,
    /** Events integrated per transaction: bounds the time a growth holds the tree's row locked. */
    private readonly batch = 16_384,
  ) {}

  async state(q: Queryable = this.db, lock = false): Promise<TreeState> {
    const rows = await q.query<{ size: string; last_revision: string }>(
      `SELECT size::text AS size, last_revision::text AS last_revision FROM merkle_tree WHERE id = 1${lock ? ' FOR UPDATE' : ''}`,
    );
    return { size: Number(rows[0].size), lastRevision: rows[0].last_revision };
  }

  /** Grows the tree by every event up to `settled`, a revision every revision at or below which has committed. */
  async grow(settled: string): Promise<TreeState> {
    for (;;) {
      const { state, added } = await this.db.transaction(async (tx) => {
        const state = await this.state(tx, true);
        const events = await tx.query<{ revision: string; hash: string }>(
          `SELECT revision::text AS revision, hash FROM audit_events
            WHERE revision > $1::bigint AND revision <= $2::bigint ORDER BY audit_events.revision LIMIT $3`,
          [state.lastRevision, settled, this.batch],
        );
        if (events.length === 0) return { state, added: 0 };
        const edges = new Map<string, Buffer>();
        const wanted: TileKey[] = [];
        for (let level = 0, n = state.size; n > 0; level++, n = Math.floor(n / TILE_WIDTH)) {
          if (n % TILE_WIDTH > 0) wanted.push({ level, idx: Math.floor(n / TILE_WIDTH) });
        }
        for (const [k, v] of await loadTiles(tx, wanted)) edges.set(k, v);
        const appender = new TileAppender(state.size, (level, idx, count) => {
          const tile = edges.get(tileKey(level, idx));
          if (tile === undefined || tile.length < count * HASH_BYTES) throw new Error(`merkle tile ${level}/${idx} is missing or short`);
          return tile.subarray(0, count * HASH_BYTES);
        });
        for (const e of events) appender.append(leafHash(Buffer.from(e.hash, 'hex')), e.revision);
        const changed = appender.changedTiles();
        const last = events[events.length - 1].revision;
        tx.defer(
          `INSERT INTO merkle_tiles (level, idx, first_revision, hashes)
             SELECT level, idx, first_revision, decode(hashes, 'hex') FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::text[]) AS t(level, idx, first_revision, hashes)
           ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes,
             first_revision = coalesce(merkle_tiles.first_revision, EXCLUDED.first_revision)`,
          [changed.map((t) => t.level), changed.map((t) => String(t.idx)), changed.map((t) => t.firstRevision), changed.map((t) => t.hashes.toString('hex'))],
        );
        tx.defer('UPDATE merkle_tree SET size = $1::bigint, last_revision = $2::bigint WHERE id = 1', [String(state.size + events.length), last]);
        return { state: { size: state.size + events.length, lastRevision: last }, added: events.length };
      });
      if (added < this.batch) return state;
    }
  }

  /** The nodes a computation over the tree reads, loaded from their tiles first. */
  async nodesFor(compute: (node: NodeSource) => unknown, q: Queryable = this.db): Promise<NodeSource> {
    return tileNodes(await loadTiles(q, tilesFor(nodesRead(compute))));
  }

  async root(size: number, q: Queryable = this.db): Promise<Hash> {
    return treeRoot(size, await this.nodesFor((n) => treeRoot(size, n), q));
  }

  /** The leaf index of the event at `revision`, or null when it is not a leaf (yet). */
  async leafIndex(revision: string): Promise<{ index: number; hash: string } | null> {
    const rows = await this.db.query<{ idx: string; n: number; hash: string | null }>(
      `WITH t AS (SELECT idx, first_revision FROM merkle_tiles WHERE level = 0 AND first_revision <= $1::bigint
                   ORDER BY first_revision DESC LIMIT 1)
       SELECT t.idx::text AS idx,
         (SELECT count(*) FROM audit_events a WHERE a.revision >= t.first_revision AND a.revision <= $1::bigint)::int AS n,
         (SELECT hash FROM audit_events WHERE revision = $1::bigint) AS hash
       FROM t`,
      [revision],
    );
    const row = rows[0];
    if (row === undefined || row.hash === null) return null;
    return { index: Number(row.idx) * TILE_WIDTH + row.n - 1, hash: row.hash };
  }

  /** Inclusion proofs of several leaves in the tree of `size`, reading each tile once. */
  async inclusionProofs(indices: readonly number[], size: number): Promise<{ rootHash: string; paths: string[][] }> {
    const all = (n: NodeSource) => {
      treeRoot(size, n);
      for (const i of indices) inclusionProof(i, size, n);
    };
    const nodes = await this.nodesFor(all);
    return { rootHash: hex(treeRoot(size, nodes)), paths: indices.map((i) => inclusionProof(i, size, nodes).map(hex)) };
  }

  async consistency(from: number, to: number, q: Queryable = this.db): Promise<string[]> {
    const nodes = await this.nodesFor((n) => consistencyProof(from, to, n), q);
    return consistencyProof(from, to, nodes).map(hex);
  }

  /** Bytes the stored tiles take (table, TOAST and indexes). */
  async storedBytes(): Promise<number> {
    const rows = await this.db.query<{ b: string }>(`SELECT pg_total_relation_size('merkle_tiles')::text AS b`);
    return Number(rows[0].b);
  }
}
