import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leafHash, treeRoot, type Hash } from '../../src/merkle/hashes.js';
import { consistencyProof, inclusionProof, nodesRead } from '../../src/merkle/proofs.js';
import { HASH_BYTES, TileAppender, tileKey, tileNodes, tilesFor } from '../../src/merkle/tiles.js';
import { naiveNodes } from './merkle-reference.js';

/** Tiles as a database would keep them: grown batch by batch, each batch starting from what is stored. */
function growTiles(leaves: readonly Hash[], batches: readonly number[]): Map<string, Buffer> {
  const stored = new Map<string, Buffer>();
  const firsts = new Map<string, string>();
  let size = 0;
  for (const batch of [...batches, leaves.length]) {
    const end = Math.min(leaves.length, size + Math.max(1, batch));
    const appender = new TileAppender(size, (level, idx, count) => stored.get(tileKey(level, idx))!.subarray(0, count * HASH_BYTES));
    for (let i = size; i < end; i++) appender.append(leaves[i], String(1000 + i));
    for (const t of appender.changedTiles()) {
      stored.set(tileKey(t.level, t.idx), t.hashes);
      if (t.firstRevision !== null) firsts.set(tileKey(t.level, t.idx), t.firstRevision);
    }
    size = end;
    if (size === leaves.length) break;
  }
  // Every level-0 tile knows the revision of its first leaf.
  for (const key of stored.keys()) if (key.startsWith('0/')) expect(firsts.get(key)).toBe(String(1000 + Number(key.slice(2)) * 256));
  return stored;
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));

describe('tiles', () => {
  it('give the same roots and proofs as the tree computed from every leaf, however the log grew', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_500 }), fc.array(fc.integer({ min: 1, max: 600 }), { maxLength: 6 }), fc.nat(), (size, batches, pick) => {
        const leaves = leavesOf(size);
        const tiles = growTiles(leaves, batches);
        const naive = naiveNodes(leaves);
        const nodes = tileNodes(tiles);
        const at = 1 + (pick % size);
        expect(treeRoot(at, nodes).equals(treeRoot(at, naive))).toBe(true);
        const index = pick % at;
        expect(inclusionProof(index, at, nodes)).toEqual(inclusionProof(index, at, naive));
        expect(consistencyProof(1 + (pick % at), size, nodes)).toEqual(consistencyProof(1 + (pick % at), size, naive));
      }),
      { numRuns: 60 },
    );
  });

  it('reach the third tile level past 65,536 leaves, and a proof reads a few tiles only', () => {
    const size = 65_536 + 300;
    const leaves = leavesOf(size);
    const tiles = growTiles(leaves, [40_000, 25_600]);
    expect(tiles.has('2/0')).toBe(true);
    const naive = naiveNodes(leaves);
    expect(treeRoot(size, tileNodes(tiles)).equals(treeRoot(size, naive))).toBe(true);
    const needed = tilesFor(nodesRead((n) => inclusionProof(12_345, size, n)));
    expect(needed.length).toBeLessThanOrEqual(6);
    const loaded = new Map(needed.map((t) => [tileKey(t.level, t.idx), tiles.get(tileKey(t.level, t.idx))!]));
    expect(inclusionProof(12_345, size, tileNodes(loaded))).toEqual(inclusionProof(12_345, size, naive));
  });
});
