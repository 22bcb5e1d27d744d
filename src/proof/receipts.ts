import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import type { Signer } from './signing-keys.js';

export const DECISION_RECEIPT_TYP = 'decision-receipt+jws';

/** Hex SHA-256 of the RFC 8785 JSON of the results, exactly as returned. */
export function resultsSha256(results: readonly object[]): string {
  return createHash('sha256').update(canonicalJson(results), 'utf8').digest('hex');
}

/** The payload of a decision receipt: what a training run stores as proof of what it was allowed to use. */
export interface DecisionReceiptPayload {
  iss: string;
  iat: number;
  asOf: string;
  revision: string;
  count: number;
  resultsSha256: string;
}

/** A signed receipt over eligibility results answered at one point (SPEC §6). */
export function signDecisionReceipt(signer: Signer, results: readonly object[], point: { asOf: string; revision: string }, now: number): Promise<string> {
  const payload: DecisionReceiptPayload = {
    iss: signer.issuer,
    iat: Math.floor(now / 1000),
    asOf: point.asOf,
    revision: point.revision,
    count: results.length,
    resultsSha256: resultsSha256(results),
  };
  return signer.sign(payload, DECISION_RECEIPT_TYP);
}
