import {
  DAY_MS,
  type ChatFacts,
  type Choice,
  type Plan,
  type Policy,
  type Surface,
  type UserFact,
} from '../../src/domain/index.js';

/** Epoch milliseconds of an RFC 3339 timestamp. */
export const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad timestamp ${iso}`);
  return ms;
};

export const days = (n: number): number => n * DAY_MS;

/** The policy seeded by the migrations (SPEC section 2, "Policies"). */
export const SEEDED: Policy = Object.freeze({
  version: '2025-09-28',
  effectiveAt: at('2025-08-28T00:00:00.000Z'),
  decisionDeadline: at('2025-09-28T00:00:00.000Z'),
  defaultChoice: 'granted',
  requiresReconsent: false,
  retention: Object.freeze({ grantedDays: 1825, deniedDays: 30, violationDays: 730 }),
}) as Policy;

export const E1 = SEEDED.effectiveAt;
export const D1 = SEEDED.decisionDeadline;

/** A later policy that requires reconsent, with retention values distinct from the seeded one. */
export const RECONSENT: Policy = Object.freeze({
  version: '2026-03-01',
  effectiveAt: at('2026-03-01T00:00:00.000Z'),
  decisionDeadline: at('2026-04-01T00:00:00.000Z'),
  defaultChoice: 'granted',
  requiresReconsent: true,
  retention: Object.freeze({ grantedDays: 1000, deniedDays: 15, violationDays: 365 }),
}) as Policy;

export const E2 = RECONSENT.effectiveAt;
export const D2 = RECONSENT.decisionDeadline;

/** A policy after RECONSENT that does not itself require reconsent. */
export const FOLLOWUP: Policy = Object.freeze({
  version: '2026-06-01',
  effectiveAt: at('2026-06-01T00:00:00.000Z'),
  decisionDeadline: at('2026-07-01T00:00:00.000Z'),
  defaultChoice: 'granted',
  requiresReconsent: false,
  retention: Object.freeze({ grantedDays: 1825, deniedDays: 30, violationDays: 730 }),
}) as Policy;

export const E3 = FOLLOWUP.effectiveAt;
export const D3 = FOLLOWUP.decisionDeadline;

/** Same dates as the seeded policy, but undecided users default to `denied`. */
export const DENIED_DEFAULT: Policy = Object.freeze({
  version: '2025-09-28-denied',
  effectiveAt: E1,
  decisionDeadline: D1,
  defaultChoice: 'denied',
  requiresReconsent: false,
  retention: Object.freeze({ grantedDays: 900, deniedDays: 20, violationDays: 400 }),
}) as Policy;

export const CONSUMER: readonly Plan[] = ['free', 'pro', 'max'];
export const COMMERCIAL: readonly Plan[] = ['team', 'enterprise', 'api', 'education', 'government'];

let nextSeq = 1;

/** A plan change recorded at `t`. `seq` (the revision) defaults to a fresh increasing number. */
export function planFact(t: number, plan: Plan, seq = nextSeq++): UserFact {
  return { kind: 'plan', at: t, seq, plan };
}

/** A consent choice recorded at `t`. */
export function choiceFact(t: number, choice: Choice, surface: Surface = 'web', seq = nextSeq++): UserFact {
  return { kind: 'choice', at: t, seq, choice, surface };
}

/** Chat facts as evaluated at some T; defaults: registered, not incognito, not deleted, unflagged. */
export function chat(overrides: Partial<ChatFacts> = {}): ChatFacts {
  return {
    chatId: 'chat-1',
    userId: 'user-1',
    incognito: false,
    deletedAt: null,
    flaggedAt: [],
    lastActivityAt: null,
    ...overrides,
  };
}
