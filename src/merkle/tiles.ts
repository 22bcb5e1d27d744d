import { nodeHash, type Hash, type NodeSource } from './hashes.js';

/*
 * The tree is stored as tiles, as transparency logs such as Tessera and Go's tlog store it: a tile
 * of height 8 at (level, idx) holds the hashes of tree level 8 * level, nodes idx * 256 to
 * idx * 256 + 255, 32 bytes each. Any node is the root of a run of at most 128 hashes of one tile,
 * so a proof reads O(log n) tiles whatever the size of the log; nodes between a tile's rows are
 * recomputed, never stored. The last tile of each level grows as the log does; what it held at an
 * earlier size is a prefix of what it holds now.
 */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 2 ** TILE_HEIGHT;
export const HASH_BYTES = 32;

export interface TileKey {
  level: number;
  idx: number;
}

export const tileKey = (level: number, idx: number) => `${level}/${idx}`;

/** Where node (level, index) lives: its tile, and the run of that tile's hashes it is the root of. */
export function locate(level: number, index: number): { tile: TileKey; height: number; offset: number } {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const height = level - tileLevel * TILE_HEIGHT;
  const first = index * 2 ** height;
  return { tile: { level: tileLevel, idx: Math.floor(first / TILE_WIDTH) }, height, offset: first % TILE_WIDTH };
}

/** The tiles that hold the given nodes. */
export function tilesFor(nodes: readonly [number, number][]): TileKey[] {
  const out = new Map<string, TileKey>();
  for (const [level, index] of nodes) {
    const { tile } = locate(level, index);
    out.set(tileKey(tile.level, tile.idx), tile);
  }
  return [...out.values()];
}

/** The root of `count` (a power of two) consecutive hashes of a tile, from `offset`. */
function runRoot(tile: Buffer, offset: number, count: number): Hash {
  if ((offset + count) * HASH_BYTES > tile.length) throw new RangeError('the tile does not hold that node yet');
  let row: Hash[] = [];
  for (let i = 0; i < count; i++) row.push(tile.subarray((offset + i) * HASH_BYTES, (offset + i + 1) * HASH_BYTES));
  while (row.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i], row[i + 1]));
    row = next;
  }
  return row[0];
}

/** Nodes computed from loaded tiles, each computed once. */
export function tileNodes(tiles: ReadonlyMap<string, Buffer>): NodeSource {
  const memo = new Map<string, Hash>();
  return (level, index) => {
    const key = `${level}:${index}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const { tile, height, offset } = locate(level, index);
    const data = tiles.get(tileKey(tile.level, tile.idx));
    if (data === undefined) throw new RangeError(`tile ${tile.level}/${tile.idx} was not loaded`);
    const hash = Buffer.from(runRoot(data, offset, 2 ** height));
    memo.set(key, hash);
    return hash;
  };
}

/** A tile that the append changed, with its whole content. */
export interface ChangedTile extends TileKey {
  hashes: Buffer;
  /** Level 0: the revision of the tile's first leaf. */
  firstRevision: string | null;
}

/**
 * Appends leaves to the right edge of the tiles. Given the tree's size and the hashes its last
 * tile of each level holds, it hands back every tile its appends changed.
 */
export class TileAppender {
  /** Per level: the hashes of that level so far. */
  private readonly counts: number[] = [];
  private readonly edges: Buffer[] = [];
  private readonly changed = new Map<string, ChangedTile>();

  /** `edge(level, idx, count)` gives the first `count` hashes of that tile (all the tree holds of it). */
  constructor(
    size: number,
    edge: (level: number, idx: number, count: number) => Buffer,
  ) {
    for (let level = 0, n = size; level === 0 || n > 0; level++, n = Math.floor(n / TILE_WIDTH)) {
      this.counts.push(n);
      const buffer = Buffer.alloc(TILE_WIDTH * HASH_BYTES);
      const held = n % TILE_WIDTH;
      if (held > 0) edge(level, Math.floor(n / TILE_WIDTH), held).copy(buffer, 0, 0, held * HASH_BYTES);
      this.edges.push(buffer);
    }
  }

  /** Appends one leaf, given by its leaf hash, and the revision of its event. */
  append(leaf: Hash, revision: string): void {
    let hash = leaf;
    for (let level = 0; ; level++) {
      if (this.counts.length === level) {
        this.counts.push(0);
        this.edges.push(Buffer.alloc(TILE_WIDTH * HASH_BYTES));
      }
      const n = this.counts[level];
      const idx = Math.floor(n / TILE_WIDTH);
      const at = n % TILE_WIDTH;
      const edge = this.edges[level];
      hash.copy(edge, at * HASH_BYTES);
      this.counts[level] = n + 1;
      const key = tileKey(level, idx);
      const firstRevision = level === 0 ? (at === 0 ? revision : (this.changed.get(key)?.firstRevision ?? null)) : null;
      this.changed.set(key, { level, idx, hashes: edge.subarray(0, (at + 1) * HASH_BYTES), firstRevision });
      if (at + 1 < TILE_WIDTH) return;
      // The tile is full: its root is the next hash one tile level up, and the level starts a new tile.
      const full = Buffer.from(edge);
      this.changed.set(key, { level, idx, hashes: full, firstRevision: this.changed.get(key)!.firstRevision });
      hash = runRoot(full, 0, TILE_WIDTH);
      this.edges[level] = Buffer.alloc(TILE_WIDTH * HASH_BYTES);
    }
  }

  /** The tiles changed since this appender was made, each with its whole content (copied). */
  changedTiles(): ChangedTile[] {
    return [...this.changed.values()].map((t) => ({ ...t, hashes: Buffer.from(t.hashes) }));
  }
}
