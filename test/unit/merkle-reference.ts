import { nodeHash, type Hash, type NodeSource } from '../../src/merkle/hashes.js';

/** Node hashes computed naively from every leaf hash: the reference the stored tree is checked against. */
export function naiveNodes(leaves: readonly Hash[]): NodeSource {
  return (level, index) => {
    const width = 2 ** level;
    let row = leaves.slice(index * width, (index + 1) * width);
    if (row.length !== width) throw new RangeError(`node ${level}/${index} is not complete`);
    while (row.length > 1) {
      const next: Hash[] = [];
      for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i], row[i + 1]));
      row = next;
    }
    return row[0];
  };
}
