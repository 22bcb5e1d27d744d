export const PLANS = ['free', 'pro', 'max', 'team', 'enterprise', 'api', 'education', 'government'] as const;
export type Plan = (typeof PLANS)[number];
export const CONSUMER_PLANS: ReadonlySet<Plan> = new Set<Plan>(['free', 'pro', 'max']);

export const CHOICES = ['granted', 'denied'] as const;
export type Choice = (typeof CHOICES)[number];

export const SURFACES = ['web', 'desktop', 'ios', 'android', 'cli', 'api', 'other'] as const;
export type Surface = (typeof SURFACES)[number];

export const DAY_MS = 86_400_000;

/** A terms version. Times are epoch milliseconds. */
export interface Policy {
  version: string;
  effectiveAt: number;
  decisionDeadline: number;
  defaultChoice: Choice;
  requiresReconsent: boolean;
  retention: { grantedDays: number; deniedDays: number; violationDays: number };
}

/**
 * The facts about a user that the consent state is folded from. `at` is when the fact was
 * recorded (server time); `seq` orders facts recorded in the same millisecond (the revision).
 */
export type UserFact =
  | { kind: 'plan'; at: number; seq: number; plan: Plan }
  | { kind: 'choice'; at: number; seq: number; choice: Choice; surface: Surface };

export const BASES = [
  'user_choice',
  'default_after_deadline',
  'undecided',
  'commercial_plan',
  'plan_unknown',
  'no_policy_in_effect',
] as const;
export type Basis = (typeof BASES)[number];

export interface ConsentState {
  plan: Plan | null;
  /** The latest choice that is valid under the policy in effect (null when none). */
  choice: Choice | null;
  choiceAt: number | null;
  choiceSurface: Surface | null;
  effective: Choice;
  basis: Basis;
  decisionRequired: boolean;
  policy: Policy | null;
  retentionDays: number | null;
  consentSince: number | null;
}

/** What is known of a chat at the point in time being evaluated. */
export interface ChatFacts {
  chatId: string;
  userId: string;
  incognito: boolean;
  /** When the deletion was recorded, if it counts at T. */
  deletedAt: number | null;
  /** Times of policy-violation flags that count at T. */
  flaggedAt: number[];
  /** Latest reported activity (creation included) at or before T, if any. */
  lastActivityAt: number | null;
}

export const REASONS = [
  'chat_not_found',
  'chat_deleted',
  'incognito',
  'plan_unknown',
  'commercial_plan',
  'no_policy_in_effect',
  'opted_out',
  'undecided',
  'default_denied',
  'predates_consent',
  'retention_expired',
  'user_choice',
  'default_after_deadline',
] as const;
export type Reason = (typeof REASONS)[number];

export interface Decision {
  chatId: string;
  userId: string | null;
  eligible: boolean;
  reason: Reason;
  policyVersion: string | null;
  consentSince: number | null;
  retentionUntil: number | null;
}
