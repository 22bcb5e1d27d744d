import { EMPTY_ROOT, leafHash, nodeHash, type Hash } from './hashes.js';

/**
 * The root of a log read leaf by leaf, in O(log n) memory: the roots of its perfect subtrees,
 * largest first (a compact range from 0). What a verifier recomputes a checkpoint's root with.
 */
export class RootBuilder {
  /** [level, hash], levels strictly decreasing. */
  private readonly stack: [number, Hash][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends a leaf given by its data (an event's 32-byte hash). */
  addLeafData(data: Uint8Array): void {
    this.addLeafHash(leafHash(data));
  }

  addLeafHash(hash: Hash): void {
    let level = 0;
    let h = hash;
    while (this.stack.length > 0 && this.stack[this.stack.length - 1][0] === level) {
      h = nodeHash(this.stack.pop()![1], h);
      level++;
    }
    this.stack.push([level, h]);
    this.count++;
  }

  root(): Hash {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let r = this.stack[this.stack.length - 1][1];
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.stack[i][1], r);
    return r;
  }
}
