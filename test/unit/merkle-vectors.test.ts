import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leafHash, treeRoot } from '../../src/merkle/hashes.js';
import { naiveNodes } from './merkle-reference.js';
import { consistencyProof, inclusionProof } from '../../src/merkle/proofs.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';

const VECTORS = join(import.meta.dirname, '..', 'vectors', 'rfc6962');
const REFERENCE_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
  Buffer.from(h, 'hex'),
);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.json') ? [path] : [];
  });
}

const b64 = (s: string) => Buffer.from(s, 'base64');
const proof = (p: string[] | null) => (p ?? []).map(b64);

const referenceNodes = naiveNodes(REFERENCE_LEAVES.map(leafHash));

interface InclusionCase {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyCase {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

describe('RFC 6962 reference vectors (transparency-dev/merkle testdata)', () => {
  const inclusion = files(join(VECTORS, 'inclusion')).map((f) => [f.slice(VECTORS.length + 1), JSON.parse(readFileSync(f, 'utf8')) as InclusionCase] as const);
  const consistency = files(join(VECTORS, 'consistency')).map((f) => [f.slice(VECTORS.length + 1), JSON.parse(readFileSync(f, 'utf8')) as ConsistencyCase] as const);

  it('has the vectors', () => {
    expect(inclusion.length).toBeGreaterThan(80);
    expect(consistency.length).toBeGreaterThan(90);
  });

  it.each(inclusion)('inclusion %s', (_name, c) => {
    const ok = verifyInclusion(c.leafIdx, c.treeSize, b64(c.leafHash), proof(c.proof), b64(c.root));
    expect(ok).toBe(!c.wantErr);
  });

  it.each(consistency)('consistency %s', (_name, c) => {
    const ok = verifyConsistency(c.size1, c.size2, b64(c.root1), b64(c.root2), proof(c.proof));
    expect(ok).toBe(!c.wantErr);
  });

  it('generates exactly the happy-path proofs and roots over the reference leaves', () => {
    let checked = 0;
    for (const [, c] of inclusion) {
      if (c.wantErr || c.treeSize > REFERENCE_LEAVES.length || c.desc !== 'happy path') continue;
      if (!leafHash(REFERENCE_LEAVES[c.leafIdx]).equals(b64(c.leafHash))) continue;
      expect(treeRoot(c.treeSize, referenceNodes).toString('base64')).toBe(c.root);
      expect(inclusionProof(c.leafIdx, c.treeSize, referenceNodes).map((h) => h.toString('base64'))).toEqual(c.proof ?? []);
      checked++;
    }
    for (const [, c] of consistency) {
      if (c.wantErr || c.size2 > REFERENCE_LEAVES.length || c.desc !== 'happy path' || c.size1 === 0) continue;
      expect(treeRoot(c.size1, referenceNodes).toString('base64')).toBe(c.root1);
      expect(treeRoot(c.size2, referenceNodes).toString('base64')).toBe(c.root2);
      expect(consistencyProof(c.size1, c.size2, referenceNodes).map((h) => h.toString('base64'))).toEqual(c.proof ?? []);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});
