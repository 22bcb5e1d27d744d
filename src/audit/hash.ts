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
 * Verifies events of one or more chains given in revision order: each event's hash, and that its
 * prevHash is the hash of the previous event of the same chain (genesis for the first one seen
 * when `fromGenesis`). Chains are keyed by userId, null for events about no user.
 */
export function verifyChains(
  events: Iterable<AuditEvent>,
  heads: Map<string | null, string> = new Map(),
  fromGenesis = true,
): ChainBreak[] {
  const breaks: ChainBreak[] = [];
  for (const e of events) {
    if (hashEvent(e) !== e.hash) breaks.push({ revision: e.revision, problem: 'hash_mismatch' });
    const expected = heads.get(e.userId) ?? (fromGenesis ? GENESIS_HASH : undefined);
    if (expected !== undefined && e.prevHash !== expected) {
      breaks.push({ revision: e.revision, problem: 'prev_hash_mismatch' });
    }
    heads.set(e.userId, e.hash);
  }
  return breaks;
}
