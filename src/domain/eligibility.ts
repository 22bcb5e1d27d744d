import { CONSUMER_PLANS, DAY_MS, type ChatFacts, type ConsentState, type Decision, type Reason } from './types.js';

/**
 * The training-eligibility decision table (SPEC section 2): the first matching row gives the
 * reason; only the last row is eligible. `consent` is the chat owner's consent state at `t`.
 * A chat that is unknown at `t` is never eligible.
 */
export function decideEligibility(
  chatId: string,
  chat: ChatFacts | null,
  consent: ConsentState | null,
  t: number,
): Decision {
  if (chat === null || consent === null) {
    return { chatId, userId: chat?.userId ?? null, eligible: false, reason: 'chat_not_found', policyVersion: null, consentSince: null, retentionUntil: null };
  }
  const reason = firstMatchingRow(chat, consent, t);
  return {
    chatId,
    userId: chat.userId,
    eligible: reason === 'user_choice' || reason === 'default_after_deadline',
    reason,
    policyVersion: consent.policy?.version ?? null,
    consentSince: consent.consentSince,
    retentionUntil: retentionUntil(reason, chat, consent),
  };
}

/** Rows 2 to 11 of the table, in order, for a registered chat; the eligible reasons otherwise. */
function firstMatchingRow(chat: ChatFacts, consent: ConsentState, t: number): Reason {
  const policy = consent.policy;
  if (chat.deletedAt !== null && chat.deletedAt <= t) return 'chat_deleted';
  if (chat.incognito) return 'incognito';
  if (consent.plan === null) return 'plan_unknown';
  if (!CONSUMER_PLANS.has(consent.plan)) return 'commercial_plan';
  if (policy === null) return 'no_policy_in_effect';
  if (consent.basis === 'user_choice' && consent.effective === 'denied') return 'opted_out';
  if (consent.basis === 'undecided') return 'undecided';
  if (consent.basis === 'default_after_deadline' && consent.effective === 'denied') return 'default_denied';
  // Granted from here on, so consentSince is set.
  const last = chat.lastActivityAt;
  if (last === null || consent.consentSince === null || last < consent.consentSince) return 'predates_consent';
  if (t > last + policy.retention.grantedDays * DAY_MS) return 'retention_expired';
  return consent.basis === 'user_choice' ? 'user_choice' : 'default_after_deadline';
}

/**
 * How long the chat may be kept: null when it is gone or never covered; last activity plus the
 * granted or denied retention otherwise; a policy-violation flag extends it to at least the flag
 * time plus the violation retention.
 */
export function retentionUntil(reason: Reason, chat: ChatFacts, consent: ConsentState): number | null {
  if (reason === 'chat_not_found' || reason === 'chat_deleted' || reason === 'commercial_plan') return null;
  const policy = consent.policy;
  if (policy === null || chat.lastActivityAt === null) return null;
  const granted = reason === 'user_choice' || reason === 'default_after_deadline' || reason === 'retention_expired';
  let until = chat.lastActivityAt + (granted ? policy.retention.grantedDays : policy.retention.deniedDays) * DAY_MS;
  for (const flagged of chat.flaggedAt) {
    until = Math.max(until, flagged + policy.retention.violationDays * DAY_MS);
  }
  return until;
}
