import { rangeHash, splitPoint, type Hash, type NodeSource } from './hashes.js';

/**
 * The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1 PATH), bottom-up:
 * the sibling nearest the leaf first.
 */
export function inclusionProof(index: number, size: number, node: NodeSource): Hash[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Hash[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(rangeHash(start + k, end, node));
    } else {
      walk(m - k, start + k, end);
      path.push(rangeHash(start, start + k, node));
    }
  };
  walk(index, 0, size);
  return path;
}

/**
 * The proof that the tree of `from` leaves is a prefix of the tree of `to` leaves (RFC 6962
 * §2.1.2 PROOF and SUBPROOF). Empty when the sizes are equal or `from` is 0.
 */
export function consistencyProof(from: number, to: number, node: NodeSource): Hash[] {
  if (!(from >= 0 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  if (from === 0 || from === to) return [];
  const path: Hash[] = [];
  const sub = (m: number, start: number, end: number, whole: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!whole) path.push(rangeHash(start, end, node));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, start + k, whole);
      path.push(rangeHash(start + k, end, node));
    } else {
      sub(m - k, start + k, end, false);
      path.push(rangeHash(start, start + k, node));
    }
  };
  sub(from, 0, to, true);
  return path;
}

/** The nodes a computation reads, without computing anything: what to load before computing it. */
export function nodesRead(compute: (node: NodeSource) => unknown): [level: number, index: number][] {
  const seen = new Set<string>();
  const out: [number, number][] = [];
  const zero = Buffer.alloc(32);
  compute((level, index) => {
    const key = `${level}/${index}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push([level, index]);
    }
    return zero;
  });
  return out;
}
