import { createHash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 tree hashing: a leaf is hashed with a 0x00 prefix and an interior node with
 * 0x01, so that no leaf can pass for a node (second-preimage resistance).
 */
export type Hash = Buffer;

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

export function leafHash(data: Uint8Array): Hash {
  return createHash('sha256').update(LEAF).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The root of the empty tree: the hash of the empty string. */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

/**
 * The root of the perfect subtree of 2^level leaves that starts at leaf `index * 2^level`. Sizes
 * and indices are plain numbers: a log stays far below 2^53 leaves.
 */
export type NodeSource = (level: number, index: number) => Hash;

/** The largest power of two smaller than n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function perfectLevel(n: number): number {
  let level = 0;
  for (let m = n; m > 1; m /= 2) {
    if (m % 2 !== 0) return -1;
    level++;
  }
  return level;
}

/**
 * MTH(D[start:end]) (RFC 6962 §2.1): a perfect aligned subtree comes from `node` as it is; any
 * other range splits at the largest power of two below its size, as the RFC defines it.
 */
export function rangeHash(start: number, end: number, node: NodeSource): Hash {
  const n = end - start;
  if (n <= 0) throw new RangeError(`empty range [${start}, ${end})`);
  const level = perfectLevel(n);
  if (level >= 0 && start % n === 0) return node(level, start / n);
  const k = splitPoint(n);
  return nodeHash(rangeHash(start, start + k, node), rangeHash(start + k, end, node));
}

/** The root of the tree of the first `size` leaves. */
export function treeRoot(size: number, node: NodeSource): Hash {
  return size === 0 ? EMPTY_ROOT : rangeHash(0, size, node);
}
