import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { DECISION_RECEIPT_TYP, resultsSha256, type DecisionReceiptPayload } from './receipts.js';

export interface ReceiptCheck {
  ok: boolean;
  problems: string[];
  payload: DecisionReceiptPayload | null;
  kid: string | null;
}

/**
 * Verifies a decision receipt against the response it came with, offline, with jose and the
 * published keys: the signature (EdDSA, by a key of `jwks`), then that the payload describes the
 * response: its point, its number of results and the SHA-256 of their RFC 8785 JSON. `response` is
 * a batch response (`{ asOf, revision, results, receipt }`) or a single decision with its receipt.
 */
export async function verifyDecisionReceipt(response: Record<string, unknown>, jwks: { keys: JWK[] }, issuer?: string): Promise<ReceiptCheck> {
  const problems: string[] = [];
  const { receipt, ...rest } = response;
  if (typeof receipt !== 'string') return { ok: false, problems: ['the response has no receipt'], payload: null, kid: null };
  const results = Array.isArray(rest.results) ? (rest.results as object[]) : [rest];
  let payload: DecisionReceiptPayload;
  let kid: string | null = null;
  try {
    const verified = await compactVerify(receipt, createLocalJWKSet(jwks), { algorithms: ['EdDSA'] });
    kid = verified.protectedHeader.kid ?? null;
    if (verified.protectedHeader.typ !== DECISION_RECEIPT_TYP) problems.push(`typ is ${verified.protectedHeader.typ}, not ${DECISION_RECEIPT_TYP}`);
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as DecisionReceiptPayload;
  } catch (err) {
    return { ok: false, problems: [`the signature does not verify: ${(err as Error).message}`], payload: null, kid };
  }
  if (issuer !== undefined && payload.iss !== issuer) problems.push(`iss is ${payload.iss}, not ${issuer}`);
  if (payload.asOf !== rest.asOf) problems.push(`the receipt is for asOf ${payload.asOf}, the response says ${String(rest.asOf)}`);
  if (payload.revision !== rest.revision) problems.push(`the receipt is for revision ${payload.revision}, the response says ${String(rest.revision)}`);
  if (payload.count !== results.length) problems.push(`the receipt counts ${payload.count} results, the response has ${results.length}`);
  if (payload.resultsSha256 !== resultsSha256(results)) problems.push('the results are not the ones the receipt was signed over (resultsSha256 differs)');
  return { ok: problems.length === 0, problems, payload, kid };
}
