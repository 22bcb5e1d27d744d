import type { DecisionView } from './eligibility.js';

/**
 * Eligibility decisions as JSON, written by hand for the hot reads: the same document the response
 * schema describes (`EligibilityDecision`, `EligibilityBatch`, the same fields in the same order),
 * without a schema walk per decision. Strings that come from users (ids, policy versions) go
 * through JSON.stringify; the rest are reason codes, booleans, ISO times and revisions, which need
 * no escaping. The batch writes its decisions straight from the decision table's answer with what
 * each owner repeats formatted once (`Decider.json`); both go through `decisionFields`.
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

/** A batch: its point, its results in request order (`json` when the service wrote them already), its receipt when there is one. */
export function batchJson(batch: { asOf: string; revision: string } & ({ results: readonly DecisionView[] } | { json: string }), receipt?: unknown): string {
  // Joined from an array: a string grown by += is a rope of thousands of pieces, slow to flatten.
  const results = 'json' in batch ? batch.json : batch.results.map(decisionJson).join(',');
  const signed = receipt === undefined ? '' : `,"receipt":${str(receipt)}`;
  return `{"asOf":"${batch.asOf}","revision":"${batch.revision}","results":[${results}]${signed}}`;
}
