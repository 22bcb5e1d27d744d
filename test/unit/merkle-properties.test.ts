import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leafHash, treeRoot, type Hash } from '../../src/merkle/hashes.js';
import { consistencyProof, inclusionProof } from '../../src/merkle/proofs.js';
import { RootBuilder } from '../../src/merkle/root-builder.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { naiveNodes } from './merkle-reference.js';

const leavesOf = (n: number, salt: number): Hash[] =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${salt}:${i}`)));

/** Flips one bit of one byte. */
const flipped = (h: Uint8Array, bit: number): Buffer => {
  const copy = Buffer.from(h);
  copy[Math.floor(bit / 8) % 32] ^= 1 << bit % 8;
  return copy;
};

const tree = fc.record({ size: fc.integer({ min: 1, max: 700 }), salt: fc.nat() });

describe('Merkle proofs (properties)', () => {
  it('an inclusion proof verifies, and fails once the leaf or any path element changes', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat({ max: 255 }), fc.nat(), ({ size, salt }, i, bit, which) => {
        const leaves = leavesOf(size, salt);
        const nodes = naiveNodes(leaves);
        const index = i % size;
        const root = treeRoot(size, nodes);
        const path = inclusionProof(index, size, nodes);
        expect(verifyInclusion(index, size, leaves[index], path, root)).toBe(true);
        expect(verifyInclusion(index, size, flipped(leaves[index], bit), path, root)).toBe(false);
        if (path.length > 0) {
          const at = which % path.length;
          const altered = path.map((p, k) => (k === at ? flipped(p, bit) : p));
          expect(verifyInclusion(index, size, leaves[index], altered, root)).toBe(false);
          expect(verifyInclusion(index, size, leaves[index], path.slice(0, -1), root)).toBe(false);
        }
        if (size > 1) expect(verifyInclusion((index + 1) % size, size, leaves[index], path, root)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a consistency proof verifies, and fails once a root or any path element changes', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat({ max: 255 }), fc.nat(), ({ size, salt }, f, bit, which) => {
        const leaves = leavesOf(size, salt);
        const nodes = naiveNodes(leaves);
        const from = 1 + (f % size);
        const fromRoot = treeRoot(from, nodes);
        const toRoot = treeRoot(size, nodes);
        const path = consistencyProof(from, size, nodes);
        expect(verifyConsistency(from, size, fromRoot, toRoot, path)).toBe(true);
        expect(verifyConsistency(from, size, flipped(fromRoot, bit), toRoot, path)).toBe(false);
        expect(verifyConsistency(from, size, fromRoot, flipped(toRoot, bit), path)).toBe(false);
        if (path.length > 0) {
          const at = which % path.length;
          const altered = path.map((p, k) => (k === at ? flipped(p, bit) : p));
          expect(verifyConsistency(from, size, fromRoot, toRoot, altered)).toBe(false);
        }
        // A log that rewrote a leaf below `from` is not consistent with the old root.
        const rewritten = [...leaves];
        rewritten[which % from] = flipped(rewritten[which % from], bit);
        const forged = naiveNodes(rewritten);
        expect(verifyConsistency(from, size, fromRoot, treeRoot(size, forged), consistencyProof(from, size, forged))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('the root built leaf by leaf is the tree root at every size', () => {
    fc.assert(
      fc.property(tree, ({ size, salt }) => {
        const leaves = leavesOf(size, salt);
        const nodes = naiveNodes(leaves);
        const builder = new RootBuilder();
        for (let n = 1; n <= size; n++) {
          builder.addLeafHash(leaves[n - 1]);
          if (n === size || n % 37 === 0) expect(builder.root().equals(treeRoot(n, nodes))).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});
