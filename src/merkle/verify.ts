import { nodeHash } from './hashes.js';

/*
 * Proof verification as RFC 9162 §2.1.3.2 and §2.1.4.2 give it. A verifier needs nothing of the
 * service: these functions are what an outsider runs on a proof and a signed root.
 */

const odd = (n: number) => n % 2 === 1;
/** Every hash is a SHA-256 digest: anything else is refused before any hashing. */
const digests = (...hashes: readonly Uint8Array[]) => hashes.every((h) => h.length === 32);
const half = (n: number) => Math.floor(n / 2);

/** Whether `path` proves that the leaf with hash `leaf` is at `index` in the tree of `size` leaves with root `root`. */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!digests(leaf, root, ...path)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}

const isPowerOfTwo = (n: number) => {
  let m = n;
  while (m > 1 && m % 2 === 0) m /= 2;
  return m === 1;
};

/** Whether `path` proves that the tree of `from` leaves with root `fromRoot` is a prefix of the tree of `to` leaves with root `toRoot`. */
export function verifyConsistency(
  from: number,
  to: number,
  fromRoot: Uint8Array,
  toRoot: Uint8Array,
  path: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) return false;
  // RFC 9162 asks for 0 < first: a proof from the empty tree proves nothing, and is refused.
  if (from === 0) return false;
  if (from === to) return path.length === 0 && Buffer.from(fromRoot).equals(Buffer.from(toRoot));
  if (!digests(fromRoot, toRoot, ...path)) return false;
  if (path.length === 0) return false;
  const c: Uint8Array[] = isPowerOfTwo(from) ? [fromRoot, ...path] : [...path];
  let fn = from - 1;
  let sn = to - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = c[0];
  let sr: Uint8Array = c[0];
  for (const p of c.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(p, fr);
      sr = nodeHash(p, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return Buffer.from(fr).equals(Buffer.from(fromRoot)) && Buffer.from(sr).equals(Buffer.from(toRoot)) && sn === 0;
}
