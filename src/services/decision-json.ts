import type { DecisionView } from './eligibility.js';
import type { JsonBytes } from './json-bytes.js';

/**
 * Eligibility decisions as JSON, written by hand for the hot reads: the same document the response
 * schema describes (`EligibilityDecision`, `EligibilityBatch`, the same fields in the same order),
 * without a schema walk per decision. Strings that come from users (ids, policy versions) go
 * through JSON.stringify; the rest are reason codes, booleans, ISO times and revisions, which need
 * no escaping. The batch writes its decisions as bytes straight from the decision table's answer,
 * with what each owner's decisions share encoded once (`ownerSegment`, `writeDecision`,
 * `Decider.write`): the same JSON, byte for byte, as `decisionJson` gives (a test compares them).
 */
export const str = JSON.stringify;
const strOrNull = (s: string | null) => (s === null ? 'null' : str(s));
const timeOrNull = (s: string | null) => (s === null ? 'null' : `"${s}"`);

/** A decision's JSON from its fields, each already JSON; `point` is `"asOf":…,"revision":…}`. */
export function decisionFields(
  chatId: string,
  userId: string,
  eligible: boolean,
  reason: string,
  policyVersion: string,
  consentSince: string,
  retentionUntil: string,
  point: string,
): string {
  return (
    `{"chatId":${chatId},"userId":${userId},"eligible":${eligible},"reason":"${reason}",` +
    `"policyVersion":${policyVersion},"consentSince":${consentSince},"retentionUntil":${retentionUntil},${point}`
  );
}

/**
 * The bytes of a decision's fields from `userId` to `retentionUntil`'s name, as `decisionFields`
 * writes them (each already JSON): what an owner's chats with the same reason share, so that it
 * is encoded once per owner and reason and copied into each decision (`writeDecision`).
 */
export function ownerSegment(userId: string, eligible: boolean, reason: string, policyVersion: string, consentSince: string): Uint8Array {
  // Its own memory, not a slice of Buffer's shared 8 KiB pool: a segment lives as long as its
  // owner's fold, and one kept slice would keep its whole pool chunk.
  return ownBytes(`,"userId":${userId},"eligible":${eligible},"reason":"${reason}","policyVersion":${policyVersion},"consentSince":${consentSince},"retentionUntil":`);
}

/** What a decision's JSON, and a stream's line, begin with before the chat id. */
export const DECISION_HEAD: Uint8Array = Buffer.from('{"chatId":');
export const NULL_BYTES: Uint8Array = Buffer.from('null');
/** The end of a stream's line. */
export const LINE_END: Uint8Array = Buffer.from('}\n');

/** A string as bytes in memory of its own (see `ownerSegment`). */
function ownBytes(text: string): Uint8Array {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

/** What an owner's lines in a stream share: `,"userId":…,"retentionUntil":` (the user id already JSON). */
export function ownerLineSegment(userId: string): Uint8Array {
  return ownBytes(`,"userId":${userId},"retentionUntil":`);
}

/**
 * What a decision of a batch ends with after its retention time: `,` and `pointJson`'s bytes
 * (`last`), and the same followed by the next decision's head (`next`), so that one copy goes
 * between two decisions.
 */
export function pointTails(point: string): { last: Uint8Array; next: Uint8Array } {
  return { last: Buffer.from(`,${point}`), next: Buffer.from(`,${point},{"chatId":`) };
}

/**
 * A decision written as bytes (`JsonBytes`) after its head (`DECISION_HEAD`, or the previous
 * decision's `next` tail), the same JSON as `decisionFields`: the chat id, the segment its owner
 * and reason share (`ownerSegment`), the retention time in epoch milliseconds or null, and a tail
 * of `pointTails`.
 */
export function writeDecision(out: JsonBytes, chatId: string, segment: Uint8Array, retentionUntil: number | null, tail: Uint8Array): void {
  out.string(chatId);
  out.bytes(segment);
  if (retentionUntil === null) out.bytes(NULL_BYTES);
  else out.time(retentionUntil);
  out.bytes(tail);
}

/** The end of every decision's JSON at a point. */
export const pointJson = (asOf: string, revision: string) => `"asOf":"${asOf}","revision":"${revision}"}`;

export function decisionJson(d: DecisionView): string {
  return decisionFields(
    str(d.chatId),
    strOrNull(d.userId),
    d.eligible,
    d.reason,
    strOrNull(d.policyVersion),
    timeOrNull(d.consentSince),
    timeOrNull(d.retentionUntil),
    pointJson(d.asOf, d.revision),
  );
}

/** A single decision, with its receipt when there is one. */
export function singleJson(d: DecisionView, receipt?: unknown): string {
  const json = decisionJson(d);
  return receipt === undefined ? json : `${json.slice(0, -1)},"receipt":${str(receipt)}}`;
}

/** A batch: its point, its results in request order, its receipt when there is one. */
export function batchJson(batch: { asOf: string; revision: string; results: readonly DecisionView[] }, receipt?: unknown): string {
  // Joined from an array: a string grown by += is a rope of thousands of pieces, slow to flatten.
  const results = batch.results.map(decisionJson).join(',');
  const signed = receipt === undefined ? '' : `,"receipt":${str(receipt)}`;
  return `{"asOf":"${batch.asOf}","revision":"${batch.revision}","results":[${results}]${signed}}`;
}

/**
 * The same batch from its results written as bytes already (`parts`, in request order, each its
 * decisions separated by commas), between `before` and `after` (a GraphQL response's envelope).
 */
export function batchBytes(batch: { asOf: string; revision: string; parts: readonly Buffer[] }, before = '', after = ''): Buffer {
  const pieces: Buffer[] = [Buffer.from(`${before}{"asOf":"${batch.asOf}","revision":"${batch.revision}","results":[`)];
  for (const part of batch.parts) {
    if (part.length === 0) continue;
    if (pieces.length > 1) pieces.push(COMMA);
    pieces.push(part);
  }
  pieces.push(after === '' ? END : Buffer.from(`]}${after}`));
  return Buffer.concat(pieces);
}

const COMMA = Buffer.from(',');
const END = Buffer.from(']}');
