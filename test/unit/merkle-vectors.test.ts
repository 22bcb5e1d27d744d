import { describe, expect, it } from 'vitest';
import { leafHash, treeRoot } from '../../src/merkle/hashes.js';
import { consistencyProof, inclusionProof } from '../../src/merkle/proofs.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { naiveNodes } from './merkle-reference.js';

/**
 * The reference tree of RFC 6962's implementation tests (Certificate Transparency): eight leaves
 * whose data are, in hex, "", 00, 10, 2021, 3031, 40414243, 5051525354555657 and
 * 606162636465666768696a6b6c6d6e6f, with the roots of its first n leaves and proofs published
 * beside them. Every Merkle implementation of RFC 6962/9162 answers these the same way.
 */
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));

/** Root of the first n leaves, n = 1..8. */
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** [leaf index, tree size, audit path]. */
const INCLUSION: [number, number, string[]][] = [
  [0, 1, []],
  [0, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [5, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];

/** [first size, second size, consistency proof]. */
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [6, 7, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
];

const hex = (h: string) => Buffer.from(h, 'hex');
const nodes = naiveNodes(LEAVES.map(leafHash));
const root = (n: number) => hex(ROOTS[n - 1]);

describe('the RFC 6962 reference tree', () => {
  it.each(ROOTS.map((r, i) => [i + 1, r] as const))('root of the first %i leaves', (n, expected) => {
    expect(treeRoot(n, nodes).toString('hex')).toBe(expected);
  });

  it.each(INCLUSION)('inclusion of leaf %i in a tree of %i: generated and verified', (index, size, path) => {
    expect(inclusionProof(index, size, nodes).map((h) => h.toString('hex'))).toEqual(path);
    expect(verifyInclusion(index, size, leafHash(LEAVES[index]), path.map(hex), root(size))).toBe(true);
  });

  it.each(CONSISTENCY)('consistency from %i to %i: generated and verified', (from, to, path) => {
    expect(consistencyProof(from, to, nodes).map((h) => h.toString('hex'))).toEqual(path);
    expect(verifyConsistency(from, to, root(from), root(to), path.map(hex))).toBe(true);
  });

  it('refuses every altered inclusion case: another leaf, index, size or root, or a path shortened, lengthened, reordered or changed', () => {
    for (const [index, size, path] of INCLUSION) {
      const leaf = leafHash(LEAVES[index]);
      const p = path.map(hex);
      const other = leafHash(Buffer.from('not a leaf'));
      expect(verifyInclusion(index, size, other, p, root(size))).toBe(false);
      if (size > 1) expect(verifyInclusion((index + 1) % size, size, leaf, p, root(size))).toBe(false);
      // A size whose tree needs a longer path (a size that needs the same path cannot be told apart:
      // a proof is checked against the size and root of a signed checkpoint).
      expect(verifyInclusion(index, size * 2 + 1, leaf, p, root(size))).toBe(false);
      expect(verifyInclusion(index, size, leaf, p, root(size === 8 ? 7 : size + 1))).toBe(false);
      expect(verifyInclusion(index, size, leaf, [...p, leaf], root(size))).toBe(false);
      if (p.length > 0) {
        expect(verifyInclusion(index, size, leaf, p.slice(1), root(size))).toBe(false);
        const changed = p.map((h, i) => (i === 0 ? Buffer.from(h.map((b, j) => (j === 0 ? b ^ 1 : b))) : h));
        expect(verifyInclusion(index, size, leaf, changed, root(size))).toBe(false);
      }
      if (p.length > 1) expect(verifyInclusion(index, size, leaf, [p[1], p[0], ...p.slice(2)], root(size))).toBe(false);
    }
  });

  it('refuses every altered consistency case: other roots or sizes, or a path shortened, lengthened, reordered or changed', () => {
    for (const [from, to, path] of CONSISTENCY) {
      const p = path.map(hex);
      if (from === to) continue;
      expect(verifyConsistency(from, to, root(from === 1 ? 2 : from - 1), root(to), p)).toBe(false);
      expect(verifyConsistency(from, to, root(from), root(to === 8 ? 7 : to + 1), p)).toBe(false);
      expect(verifyConsistency(from + 1, to, root(from), root(to), p)).toBe(false);
      expect(verifyConsistency(from, to, root(from), root(to), p.slice(1))).toBe(false);
      expect(verifyConsistency(from, to, root(from), root(to), [...p, p[0]])).toBe(false);
      const changed = p.map((h, i) => (i === p.length - 1 ? Buffer.from(h.map((b, j) => (j === 0 ? b ^ 1 : b))) : h));
      expect(verifyConsistency(from, to, root(from), root(to), changed)).toBe(false);
      if (p.length > 1) expect(verifyConsistency(from, to, root(from), root(to), [p[1], p[0], ...p.slice(2)])).toBe(false);
    }
  });
});
