import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { canonicalJson } from '../audit/canonical-json.js';
import { ChainFollower, type ChainBreak, type LoggedEvent } from '../audit/hash.js';
import { leafHash, type Hash } from '../merkle/hashes.js';
import { RootBuilder } from '../merkle/root-builder.js';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
import type { Checkpoint } from './checkpoints.js';

/**
 * What a verifier reads. Events and checkpoints are what anyone may hold (an export, or the
 * operator's database); the rest is what only the database has, checked too when present: the
 * stored tree (its leaves, roots and consistency proofs) and the chain heads kept on users' rows.
 */
export interface LogSource {
  /** Every event in revision order, page by page. */
  events(): AsyncIterable<LoggedEvent[]>;
  checkpoints: Checkpoint[];
  storedLeaves?(from: number, count: number): Promise<Hash[]>;
  storedRoot?(size: number): Promise<Hash>;
  storedConsistency?(from: number, to: number): Promise<Hash[]>;
  heads?(): Promise<Map<string | null, string>>;
}

/** Where the log breaks: an event (by revision), a checkpoint (by tree size) or a chain head. */
export interface LogBreak {
  where: string;
  message: string;
  /** Order along the log: the leaf index of an event, just below the tree size of a checkpoint. */
  position: number;
}

export interface LogReport {
  ok: boolean;
  events: number;
  checkpoints: number;
  breaks: LogBreak[];
  /** The first place the log breaks, in log order. */
  first: LogBreak | null;
}

const CHAIN_PROBLEMS: Record<ChainBreak['problem'], string> = {
  hash_mismatch: "its hash is not the hash of its content: the event was altered",
  prev_hash_mismatch: 'its prevHash is not the hash of the previous event of its chain: an event before it was removed, added or moved',
};

const hex = (s: string) => Buffer.from(s, 'hex');

async function checkCheckpoints(source: LogSource, jwks: { keys: JWK[] }, breaks: LogBreak[]): Promise<Checkpoint[]> {
  const keys = createLocalJWKSet(jwks);
  const sorted = [...source.checkpoints].sort((a, b) => a.treeSize - b.treeSize);
  let previous: Checkpoint | null = null;
  for (const cp of sorted) {
    const at = (message: string) => breaks.push({ where: `checkpoint ${cp.treeSize}`, message, position: cp.treeSize - 0.5 });
    try {
      const { payload } = await compactVerify(cp.jws, keys, { algorithms: ['EdDSA'] });
      const { jws: _jws, ...body } = cp;
      if (new TextDecoder().decode(payload) !== canonicalJson(body)) at('the signed payload is not this checkpoint');
    } catch (err) {
      at(`its signature does not verify with the published keys (${(err as Error).message})`);
    }
    if (cp.previousRootHash !== (previous?.rootHash ?? null)) at(`it names ${cp.previousRootHash} as the previous root, not ${previous?.rootHash ?? 'none'}`);
    if (previous !== null && previous.treeSize === cp.treeSize) at('two checkpoints of one tree size');
    if (source.storedRoot && !(await source.storedRoot(cp.treeSize)).equals(hex(cp.rootHash))) at("the stored tree's root at this size is not the signed root");
    if (previous !== null && source.storedConsistency) {
      const proof = await source.storedConsistency(previous.treeSize, cp.treeSize);
      if (!verifyConsistency(previous.treeSize, cp.treeSize, hex(previous.rootHash), hex(cp.rootHash), proof)) {
        at(`it is not consistent with checkpoint ${previous.treeSize}: the tree was rewritten between them`);
      }
    }
    previous = cp;
  }
  return sorted;
}

/**
 * Verifies a log (SPEC §6): every chain, every checkpoint's signature and link to the previous
 * root, the consistency of successive checkpoints, and that each checkpoint's root is the root of
 * the log's first events. Every break is reported, the first one in log order named apart.
 */
export async function verifyLog(source: LogSource, jwks: { keys: JWK[] }): Promise<LogReport> {
  const breaks: LogBreak[] = [];
  const checkpoints = await checkCheckpoints(source, jwks, breaks);
  const follower = new ChainFollower();
  const builder = new RootBuilder();
  const signedSize = checkpoints.at(-1)?.treeSize ?? 0;
  let index = 0;
  let next = 0;
  let last = -1n;
  let diverged = false;
  for await (const page of source.events()) {
    const stored = source.storedLeaves && !diverged && index < signedSize ? await source.storedLeaves(index, Math.min(page.length, signedSize - index)) : [];
    for (const [k, e] of page.entries()) {
      const at = (message: string) => breaks.push({ where: `revision ${e.revision}`, message, position: index });
      const revision = BigInt(e.revision);
      if (revision <= last) at(`it comes after revision ${last}: the log is out of order`);
      last = revision;
      for (const b of follower.add(e)) at(CHAIN_PROBLEMS[b.problem]);
      const leaf = leafHash(hex(e.hash));
      builder.addLeafHash(leaf);
      if (!diverged && k < stored.length && !stored[k].equals(leaf)) {
        diverged = true;
        at(`it is not the event the stored tree holds at leaf ${index}: an event at or before it was removed, added or moved`);
      }
      index++;
      while (next < checkpoints.length && checkpoints[next].treeSize === index) {
        const cp = checkpoints[next++];
        const where = `checkpoint ${cp.treeSize}`;
        if (!builder.root().equals(hex(cp.rootHash))) {
          breaks.push({ where, message: `its root is not the root of the log's first ${cp.treeSize} events: the log was changed since it was signed`, position: index - 0.5 });
        } else if (cp.lastRevision !== e.revision) {
          breaks.push({ where, message: `it ends at revision ${cp.lastRevision}, the log's event ${cp.treeSize} is revision ${e.revision}`, position: index - 0.5 });
        }
      }
    }
  }
  for (const cp of checkpoints.slice(next)) {
    breaks.push({ where: `checkpoint ${cp.treeSize}`, message: `it covers ${cp.treeSize} events, the log holds only ${index}: events were removed`, position: Math.min(index, cp.treeSize) - 0.5 });
  }
  if (source.heads) {
    for (const [chain, head] of await source.heads()) {
      if (follower.heads.get(chain) !== head) {
        breaks.push({ where: chain === null ? 'the policies chain' : `the chain of user ${chain}`, message: `its head ${head} is not its last event: events at its end were removed`, position: Number.MAX_SAFE_INTEGER });
      }
    }
  }
  breaks.sort((a, b) => a.position - b.position);
  return { ok: breaks.length === 0, events: index, checkpoints: checkpoints.length, breaks, first: breaks[0] ?? null };
}

/** What GET /v1/users/{userId}/export answers. */
export interface UserExportFile {
  events: LoggedEvent[];
  checkpoint: Checkpoint;
  proofs: { revision: string; leafIndex: number; path: string[] }[];
}

/** Verifies a user's export offline: its chain from genesis, the checkpoint's signature, and each event's inclusion proof against it. */
export async function verifyUserExport(file: UserExportFile, jwks: { keys: JWK[] }): Promise<LogReport> {
  const breaks: LogBreak[] = [];
  const cp = file.checkpoint;
  await checkCheckpoints({ events: async function* () {}, checkpoints: [cp] }, jwks, breaks);
  // The checkpoint alone: its previous root cannot be checked here.
  for (let i = breaks.length - 1; i >= 0; i--) if (breaks[i].message.includes('as the previous root')) breaks.splice(i, 1);
  const follower = new ChainFollower();
  const proofs = new Map(file.proofs.map((p) => [p.revision, p]));
  for (const [i, e] of file.events.entries()) {
    const at = (message: string) => breaks.push({ where: `revision ${e.revision}`, message, position: i });
    for (const b of follower.add(e)) at(CHAIN_PROBLEMS[b.problem]);
    const p = proofs.get(e.revision);
    if (p === undefined || !verifyInclusion(p.leafIndex, cp.treeSize, leafHash(hex(e.hash)), p.path.map(hex), hex(cp.rootHash))) {
      at(`its inclusion proof does not verify against checkpoint ${cp.treeSize}`);
    }
  }
  breaks.sort((a, b) => a.position - b.position);
  return { ok: breaks.length === 0, events: file.events.length, checkpoints: 1, breaks, first: breaks[0] ?? null };
}
