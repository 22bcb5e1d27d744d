import type { DecisionView } from '../services/eligibility.js';

/**
 * Eligibility decisions as JSON, written by hand for the hot reads: the same document the response
 * schema describes (`EligibilityDecision`, `EligibilityBatch`, the same fields in the same order),
 * without a schema walk per decision. A batch of 10,000 decisions is one string built in one pass.
 * Strings that come from users (ids, policy versions) go through JSON.stringify; the rest are
 * reason codes, booleans, ISO times and revisions, which need no escaping.
 */
const str = JSON.stringify;
const strOrNull = (s: string | null) => (s === null ? 'null' : str(s));
const timeOrNull = (s: string | null) => (s === null ? 'null' : `"${s}"`);

export function decisionJson(d: DecisionView): string {
  return (
    `{"chatId":${str(d.chatId)},"userId":${strOrNull(d.userId)},"eligible":${d.eligible},"reason":"${d.reason}",` +
    `"policyVersion":${strOrNull(d.policyVersion)},"consentSince":${timeOrNull(d.consentSince)},` +
    `"retentionUntil":${timeOrNull(d.retentionUntil)},"asOf":"${d.asOf}","revision":"${d.revision}"}`
  );
}

/** A single decision, with its receipt when there is one. */
export function singleJson(d: DecisionView, receipt?: unknown): string {
  const json = decisionJson(d);
  return receipt === undefined ? json : `${json.slice(0, -1)},"receipt":${str(receipt)}}`;
}

/** A batch: its point, its results in request order, its receipt when there is one. */
export function batchJson(batch: { asOf: string; revision: string; results: readonly DecisionView[] }, receipt?: unknown): string {
  let out = `{"asOf":"${batch.asOf}","revision":"${batch.revision}","results":[`;
  const { results } = batch;
  for (let i = 0; i < results.length; i++) out += i === 0 ? decisionJson(results[i]) : `,${decisionJson(results[i])}`;
  out += ']';
  if (receipt !== undefined) out += `,"receipt":${str(receipt)}`;
  return `${out}}`;
}
