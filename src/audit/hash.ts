import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export const GENESIS_HASH = '0'.repeat(64);

/** An audit event exactly as the API returns it. */
export interface AuditEvent {
  revision: string;
  eventId: string;
  type: string;
  userId: string | null;
  chatId?: string;
  data: Record<string, unknown>;
  actor: { sub: string; kind: 'user' | 'service' };
  occurredAt: string;
  requestId: string;
  prevHash: string;
  hash: string;
}

/**
 * An event of an erased user, as the log returns it: what is left is not personal, and its hash
 * is the one computed when it was whole, which a verifier takes as given.
 */
export interface RedactedEvent {
  revision: string;
  eventId: string;
  type: string;
  redacted: true;
  occurredAt: string;
  prevHash: string;
  hash: string;
}

/** An event of the log: whole, or redacted once its user was erased. */
export type LoggedEvent = AuditEvent | RedactedEvent;

export const isRedacted = (e: LoggedEvent): e is RedactedEvent => (e as RedactedEvent).redacted === true;

/** Lowercase hex SHA-256 of the canonical JSON of the event without its `hash`. */
export function hashEvent(event: Omit<AuditEvent, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = event;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

export interface ChainBreak {
  revision: string;
  problem: 'hash_mismatch' | 'prev_hash_mismatch';
}

/**
 * Follows one or more chains event by event, in revision order: each event's hash, and that its
 * prevHash is the hash of the previous event of the same chain (genesis for the first one seen
 * when `fromGenesis`). Chains are keyed by userId, null for events about no user. A redacted event
 * (and the `user.erased` event that closes an erased chain, which names no user) carries no user:
 * its hash is taken as given, and it must continue the chain whose head its prevHash names, or
 * start a new one.
 */
export class ChainFollower {
  /** Chain of each current head hash, for events that name no chain. */
  private readonly chainOfHead = new Map<string, string | null>();

  constructor(
    readonly heads: Map<string | null, string> = new Map(),
    private readonly fromGenesis = true,
  ) {
    for (const [chain, head] of heads) this.chainOfHead.set(head, chain);
  }

  add(e: LoggedEvent): ChainBreak[] {
    const breaks: ChainBreak[] = [];
    let chain: string | null;
    if (isRedacted(e) || (e.type === 'user.erased' && e.userId === null)) {
      const known = this.chainOfHead.get(e.prevHash);
      chain = known !== undefined ? known : `erased:${e.revision}`;
      if (!isRedacted(e) && hashEvent(e) !== e.hash) breaks.push({ revision: e.revision, problem: 'hash_mismatch' });
      if (known === undefined && e.prevHash !== GENESIS_HASH && this.fromGenesis) breaks.push({ revision: e.revision, problem: 'prev_hash_mismatch' });
    } else {
      chain = e.userId;
      if (hashEvent(e) !== e.hash) breaks.push({ revision: e.revision, problem: 'hash_mismatch' });
      const expected = this.heads.get(chain) ?? (this.fromGenesis ? GENESIS_HASH : undefined);
      if (expected !== undefined && e.prevHash !== expected) breaks.push({ revision: e.revision, problem: 'prev_hash_mismatch' });
    }
    const previous = this.heads.get(chain);
    if (previous !== undefined) this.chainOfHead.delete(previous);
    this.heads.set(chain, e.hash);
    this.chainOfHead.set(e.hash, chain);
    return breaks;
  }
}

/** Verifies events of one or more chains given in revision order (see `ChainFollower`). */
export function verifyChains(
  events: Iterable<LoggedEvent>,
  heads: Map<string | null, string> = new Map(),
  fromGenesis = true,
): ChainBreak[] {
  const follower = new ChainFollower(heads, fromGenesis);
  const breaks: ChainBreak[] = [];
  for (const e of events) breaks.push(...follower.add(e));
  return breaks;
}
