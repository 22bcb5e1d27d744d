/**
 * A consent receipt's record, in the structure of ISO/IEC TS 27560 (consent record information
 * structure): who recorded it (controller), about whom (principal), for what purpose, on which
 * notice (the policy version and what the pop-up showed), how it was given (method), when, in
 * which state, and how to withdraw it. Built from one audit event, pure.
 */
export interface ConsentRecord {
  schemaVersion: 'ISO/IEC TS 27560:2023';
  recordId: string;
  iss: string;
  iat: number;
  controller: { id: string };
  principal: { id: string };
  purposes: { purpose: 'model training'; description: string; legalBasis: 'consent' }[];
  notice: { policyVersion: string | null; presentation: Record<string, unknown> | null };
  method: { surface: string; actor: 'user' | 'service'; event: string };
  timestamp: string;
  state: 'given' | 'refused' | 'not_stated';
  withdrawal: { method: string; effect: string };
  evidence: { revision: string; eventHash: string };
}

export interface ConsentEvent {
  eventId: string;
  revision: string;
  type: 'consent.choice_recorded' | 'terms.accepted';
  userId: string;
  data: Record<string, unknown>;
  actorKind: 'user' | 'service';
  occurredAt: string;
  hash: string;
}

const STATE = { granted: 'given', denied: 'refused' } as const;

/**
 * `policyVersion` is the policy in effect when the event was recorded (a terms acceptance names
 * its own); `presentation` what the terms pop-up showed, when the choice came with an acceptance.
 */
export function consentRecord(
  e: ConsentEvent,
  context: { issuer: string; now: number; policyVersion: string | null; presentation: Record<string, unknown> | null },
): ConsentRecord {
  const terms = e.type === 'terms.accepted';
  const choice = (terms ? e.data.trainingChoice : e.data.choice) as 'granted' | 'denied' | null | undefined;
  return {
    schemaVersion: 'ISO/IEC TS 27560:2023',
    recordId: e.eventId,
    iss: context.issuer,
    iat: Math.floor(context.now / 1000),
    controller: { id: context.issuer },
    principal: { id: e.userId },
    purposes: [{ purpose: 'model training', description: "Use of the principal's new or resumed chats to train models", legalBasis: 'consent' }],
    notice: {
      policyVersion: terms ? (e.data.policyVersion as string) : context.policyVersion,
      presentation: terms ? (e.data.presentation as Record<string, unknown>) : context.presentation,
    },
    method: { surface: e.data.surface as string, actor: e.actorKind, event: e.type },
    timestamp: e.occurredAt,
    state: choice ? STATE[choice] : 'not_stated',
    withdrawal: {
      method: `PUT /v1/users/${e.userId}/training-consent with {"choice":"denied"}`,
      effect: 'stops all future use for training, including of chats stored earlier',
    },
    evidence: { revision: e.revision, eventHash: e.hash },
  };
}
