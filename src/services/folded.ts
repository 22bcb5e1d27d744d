import type { Point } from '../db/point.js';
import type { FactRow } from '../db/user-facts.js';
import { consentAt, isoOrNull, type ConsentState, type Policy } from '../domain/index.js';
import { toUserFacts } from './facts.js';

/** An owner's consent at a point, with what its chats' answers repeat formatted once. */
export interface Owner {
  state: ConsentState;
  since: string | null;
  /** The user id as a JSON string, for the stream's lines and the batch's JSON. */
  json: string;
  /** The policy version in effect as JSON (`null` when none), for the batch's JSON. */
  policyJson: string;
  /** `since` as JSON. */
  sinceJson: string;
  /** The bytes of its chats' decisions with `segmentReason` (`ownerSegment`), made when first written. */
  segment: Uint8Array | null;
  segmentReason: string | null;
  /** The bytes its chats' lines in a stream share (`ownerLineSegment`), made when first written. */
  lineSegment: Uint8Array | null;
}

/**
 * A fold kept with the facts it was folded from, and where it holds: the same facts (every one of
 * them counted), the same policies, and a time in [from, until).
 */
interface Folded {
  owner: Owner;
  policies: readonly Policy[];
  maxSeq: number;
  maxAt: number;
  from: number;
  until: number;
}

/**
 * The fold kept with a facts array, on the array itself (the users' facts cache hands out one
 * array per user until the user's facts change), so that a user read again is not folded again
 * and finding it costs no lookup: a fold is forgotten with its facts, and is bounded by the users'
 * facts cache. A symbol key: JSON and iteration of the array do not see it.
 */
const FOLDED = Symbol('folded');

type Holding = readonly FactRow[] & { [FOLDED]?: Folded };

/** The fold kept with these facts when it holds at this point under these policies. */
export function heldFold(facts: readonly FactRow[], policies: readonly Policy[], point: Point): Owner | undefined {
  const kept = (facts as Holding)[FOLDED];
  if (kept === undefined || kept.policies !== policies || kept.from > point.at || point.at >= kept.until) return undefined;
  if (kept.maxSeq > Number(point.revision) || kept.maxAt > (point.recordedBy ?? Number.POSITIVE_INFINITY)) return undefined;
  return kept.owner;
}

/**
 * The consent of a user at a point, from the user's facts (`users.facts`) as read. A user's
 * consent changes only at a fact's time, a policy's effectiveAt or a decision deadline
 * (`consentAt`): a fold of every one of these facts under these policies at `t` holds at any
 * later time before the next such instant, and is handed out again there.
 */
export function foldOwner(userId: string, facts: readonly FactRow[] | undefined, policies: readonly Policy[], point: Point): Owner {
  const t = point.at;
  const cap = Number(point.revision);
  const by = point.recordedBy ?? Number.POSITIVE_INFINITY;
  if (facts !== undefined) {
    const held = heldFold(facts, policies, point);
    if (held !== undefined) return held;
  }
  let maxSeq = -1;
  let maxAt = Number.NEGATIVE_INFINITY;
  const counted: FactRow[] = [];
  for (const f of facts ?? []) {
    if (f.seq <= cap && f.at <= by) counted.push(f);
    if (f.seq > maxSeq) maxSeq = f.seq;
    if (f.at > maxAt) maxAt = f.at;
  }
  const state = consentAt(toUserFacts(counted), policies, t);
  const since = isoOrNull(state.consentSince);
  const owner: Owner = {
    state,
    since,
    json: JSON.stringify(userId),
    policyJson: state.policy === null ? 'null' : JSON.stringify(state.policy.version),
    sinceJson: since === null ? 'null' : `"${since}"`,
    segment: null,
    segmentReason: null,
    lineSegment: null,
  };
  // Kept only when every fact counted: another point may count fewer.
  if (facts !== undefined && counted.length === facts.length) {
    let until = Number.POSITIVE_INFINITY;
    for (const p of policies) {
      if (p.effectiveAt > t && p.effectiveAt < until) until = p.effectiveAt;
      if (p.decisionDeadline > t && p.decisionDeadline < until) until = p.decisionDeadline;
    }
    for (const f of facts) if (f.at > t && f.at < until) until = f.at;
    (facts as Holding)[FOLDED] = { owner, policies, maxSeq, maxAt, from: t, until };
  }
  return owner;
}
