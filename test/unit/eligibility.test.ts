import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  DAY_MS,
  REASONS,
  consentAt,
  decideEligibility,
  retentionUntil,
  type ChatFacts,
  type ConsentState,
  type Decision,
  type Reason,
  type UserFact,
} from '../../src/domain/index.js';
import {
  COMMERCIAL,
  D1,
  D2,
  DENIED_DEFAULT,
  E1,
  E2,
  RECONSENT,
  SEEDED,
  chat,
  choiceFact,
  days,
  planFact,
} from './fixtures.js';

const S = [SEEDED];
const PLAN_AT = E1 + days(1);
const G = E1 + days(2); // explicit grant
const T = E1 + days(10); // before the deadline
const TD = D1 + days(10); // after the deadline
const LAST = E1 + days(5); // chat activity after the grant

const GRANTED_FACTS: UserFact[] = [planFact(PLAN_AT, 'free'), choiceFact(G, 'granted')];
const granted = consentAt(GRANTED_FACTS, S, T);
const GRANTED_DAYS = DAY_MS * SEEDED.retention.grantedDays;
const DENIED_DAYS = DAY_MS * SEEDED.retention.deniedDays;
const VIOLATION_DAYS = DAY_MS * SEEDED.retention.violationDays;

function decide(c: ChatFacts | null, consent: ConsentState | null, t: number): Decision {
  return decideEligibility('chat-1', c, consent, t);
}

describe('decideEligibility: the decision table, one row at a time', () => {
  it('row 1: chat not registered at T -> chat_not_found, all nulls', () => {
    expect(decide(null, granted, T)).toEqual<Decision>({
      chatId: 'chat-1',
      userId: null,
      eligible: false,
      reason: 'chat_not_found',
      policyVersion: null,
      consentSince: null,
      retentionUntil: null,
    });
    expect(decide(null, null, T)).toMatchObject({ reason: 'chat_not_found', eligible: false, retentionUntil: null });
  });

  it('row 1: a chat whose owner has no consent state at all fails closed as chat_not_found', () => {
    const d = decide(chat({ lastActivityAt: LAST }), null, T);
    expect(d).toMatchObject({ eligible: false, reason: 'chat_not_found', policyVersion: null, consentSince: null, retentionUntil: null });
  });

  it('row 2: chat deleted at or before T -> chat_deleted, retentionUntil null even when flagged', () => {
    for (const deletedAt of [T, T - days(1)]) {
      const d = decide(chat({ lastActivityAt: LAST, deletedAt, flaggedAt: [LAST] }), granted, T);
      expect(d).toEqual<Decision>({
        chatId: 'chat-1',
        userId: 'user-1',
        eligible: false,
        reason: 'chat_deleted',
        policyVersion: SEEDED.version,
        consentSince: G,
        retentionUntil: null,
      });
    }
  });

  it('row 2: a deletion recorded after T does not count at T', () => {
    const d = decide(chat({ lastActivityAt: LAST, deletedAt: T + 1 }), granted, T);
    expect(d).toMatchObject({ eligible: true, reason: 'user_choice' });
  });

  it('row 3: incognito -> incognito, last activity + deniedDays', () => {
    const d = decide(chat({ lastActivityAt: LAST, incognito: true }), granted, T);
    expect(d).toEqual<Decision>({
      chatId: 'chat-1',
      userId: 'user-1',
      eligible: false,
      reason: 'incognito',
      policyVersion: SEEDED.version,
      consentSince: G,
      retentionUntil: LAST + DENIED_DAYS,
    });
  });

  it('row 4: plan unknown at T -> plan_unknown, last activity + deniedDays', () => {
    const consent = consentAt([choiceFact(G, 'granted')], S, TD);
    const d = decide(chat({ lastActivityAt: LAST }), consent, TD);
    expect(d).toMatchObject({
      eligible: false,
      reason: 'plan_unknown',
      policyVersion: SEEDED.version,
      consentSince: null,
      retentionUntil: LAST + DENIED_DAYS,
    });
  });

  it('row 4: the plan at T is used (a plan set after T does not count)', () => {
    const consent = consentAt([planFact(T + 1, 'free'), choiceFact(G, 'granted')], S, T);
    expect(decide(chat({ lastActivityAt: LAST }), consent, T).reason).toBe('plan_unknown');
  });

  it('row 5: commercial plan at T -> commercial_plan, retentionUntil null even when flagged', () => {
    for (const plan of COMMERCIAL) {
      const consent = consentAt([planFact(PLAN_AT, plan), choiceFact(G, 'granted')], S, TD);
      const d = decide(chat({ lastActivityAt: LAST, flaggedAt: [LAST] }), consent, TD);
      expect(d).toEqual<Decision>({
        chatId: 'chat-1',
        userId: 'user-1',
        eligible: false,
        reason: 'commercial_plan',
        policyVersion: SEEDED.version,
        consentSince: null,
        retentionUntil: null,
      });
    }
  });

  it('row 6: no policy in effect at T -> no_policy_in_effect (no policy, so no retention to apply)', () => {
    const t = E1 - days(1);
    const consent = consentAt([planFact(E1 - days(5), 'free'), choiceFact(E1 - days(4), 'granted')], S, t);
    const d = decide(chat({ lastActivityAt: E1 - days(3) }), consent, t);
    expect(d).toMatchObject({ eligible: false, reason: 'no_policy_in_effect', policyVersion: null, consentSince: null, retentionUntil: null });
  });

  it('row 7: latest valid choice denied -> opted_out, last activity + deniedDays', () => {
    const consent = consentAt([...GRANTED_FACTS, choiceFact(E1 + days(6), 'denied')], S, TD);
    const d = decide(chat({ lastActivityAt: LAST }), consent, TD);
    expect(d).toEqual<Decision>({
      chatId: 'chat-1',
      userId: 'user-1',
      eligible: false,
      reason: 'opted_out',
      policyVersion: SEEDED.version,
      consentSince: null,
      retentionUntil: LAST + DENIED_DAYS,
    });
  });

  it('row 8: no valid choice and T < deadline -> undecided, last activity + deniedDays', () => {
    const t = D1 - 1;
    const consent = consentAt([planFact(PLAN_AT, 'pro')], S, t);
    const d = decide(chat({ lastActivityAt: LAST }), consent, t);
    expect(d).toMatchObject({
      eligible: false,
      reason: 'undecided',
      policyVersion: SEEDED.version,
      consentSince: null,
      retentionUntil: LAST + DENIED_DAYS,
    });
  });

  it('row 8: undecided again under a policy that requires reconsent', () => {
    const t = E2 + days(1);
    const consent = consentAt(GRANTED_FACTS, [SEEDED, RECONSENT], t);
    const last = E2 + days(1) - 1;
    const d = decide(chat({ lastActivityAt: last }), consent, t);
    expect(d).toMatchObject({
      eligible: false,
      reason: 'undecided',
      policyVersion: RECONSENT.version,
      consentSince: null,
      retentionUntil: last + DAY_MS * RECONSENT.retention.deniedDays,
    });
  });

  it('row 9: no valid choice, T >= deadline, default denied -> default_denied, last activity + deniedDays', () => {
    const consent = consentAt([planFact(PLAN_AT, 'max')], [DENIED_DEFAULT], D1);
    const d = decide(chat({ lastActivityAt: LAST }), consent, D1);
    expect(d).toMatchObject({
      eligible: false,
      reason: 'default_denied',
      policyVersion: DENIED_DEFAULT.version,
      consentSince: null,
      retentionUntil: LAST + DAY_MS * DENIED_DEFAULT.retention.deniedDays,
    });
  });

  it('row 10: no activity in [consentSince, T] -> predates_consent, last activity + deniedDays', () => {
    const last = G - 1;
    const d = decide(chat({ lastActivityAt: last }), granted, T);
    expect(d).toEqual<Decision>({
      chatId: 'chat-1',
      userId: 'user-1',
      eligible: false,
      reason: 'predates_consent',
      policyVersion: SEEDED.version,
      consentSince: G,
      retentionUntil: last + DENIED_DAYS,
    });
  });

  it('row 10: a chat with no recorded activity at T predates the consent', () => {
    const d = decide(chat({ lastActivityAt: null }), granted, T);
    expect(d).toMatchObject({ eligible: false, reason: 'predates_consent', consentSince: G, retentionUntil: null });
  });

  it('row 10: activity exactly at consentSince counts (closed interval)', () => {
    expect(decide(chat({ lastActivityAt: G }), granted, T)).toMatchObject({ eligible: true, reason: 'user_choice' });
  });

  it('row 10: for a default grant, activity before the deadline predates it', () => {
    const consent = consentAt([planFact(PLAN_AT, 'free')], S, TD);
    expect(decide(chat({ lastActivityAt: D1 - 1 }), consent, TD)).toMatchObject({
      reason: 'predates_consent',
      consentSince: D1,
      retentionUntil: D1 - 1 + DENIED_DAYS,
    });
    expect(decide(chat({ lastActivityAt: D1 }), consent, TD)).toMatchObject({ reason: 'default_after_deadline', eligible: true });
  });

  it('row 11: T > last activity + grantedDays -> retention_expired, last activity + grantedDays', () => {
    const t = LAST + GRANTED_DAYS + 1;
    const consent = consentAt(GRANTED_FACTS, S, t);
    const d = decide(chat({ lastActivityAt: LAST }), consent, t);
    expect(d).toEqual<Decision>({
      chatId: 'chat-1',
      userId: 'user-1',
      eligible: false,
      reason: 'retention_expired',
      policyVersion: SEEDED.version,
      consentSince: G,
      retentionUntil: LAST + GRANTED_DAYS,
    });
  });

  it('row 11: at exactly last activity + grantedDays the chat is still eligible', () => {
    const t = LAST + GRANTED_DAYS;
    const consent = consentAt(GRANTED_FACTS, S, t);
    expect(decide(chat({ lastActivityAt: LAST }), consent, t)).toMatchObject({ eligible: true, reason: 'user_choice', retentionUntil: t });
  });

  it('eligible by user_choice: last activity + grantedDays', () => {
    const d = decide(chat({ lastActivityAt: LAST }), granted, T);
    expect(d).toEqual<Decision>({
      chatId: 'chat-1',
      userId: 'user-1',
      eligible: true,
      reason: 'user_choice',
      policyVersion: SEEDED.version,
      consentSince: G,
      retentionUntil: LAST + GRANTED_DAYS,
    });
  });

  it('eligible by default_after_deadline: consentSince is the deadline', () => {
    const consent = consentAt([planFact(PLAN_AT, 'free')], S, TD);
    const last = D1 + days(2);
    const d = decide(chat({ lastActivityAt: last }), consent, TD);
    expect(d).toEqual<Decision>({
      chatId: 'chat-1',
      userId: 'user-1',
      eligible: true,
      reason: 'default_after_deadline',
      policyVersion: SEEDED.version,
      consentSince: D1,
      retentionUntil: last + GRANTED_DAYS,
    });
  });

  it('eligible by user_choice after a default grant keeps consentSince at the deadline', () => {
    const t = D1 + days(20);
    const consent = consentAt([planFact(PLAN_AT, 'free'), choiceFact(D1 + days(10), 'granted')], S, t);
    const d = decide(chat({ lastActivityAt: D1 + days(5) }), consent, t);
    expect(d).toMatchObject({ eligible: true, reason: 'user_choice', consentSince: D1 });
  });

  it('a chat resumed after the consent becomes eligible again', () => {
    // Active before the grant (predates), then resumed after it: last activity is now after consentSince.
    expect(decide(chat({ lastActivityAt: G - days(1) }), granted, T).reason).toBe('predates_consent');
    expect(decide(chat({ lastActivityAt: G + days(1) }), granted, T).reason).toBe('user_choice');
  });
});

describe('decideEligibility: the first matching row wins', () => {
  it('deleted beats incognito; incognito beats plan and consent', () => {
    const both = chat({ lastActivityAt: LAST, deletedAt: T, incognito: true });
    expect(decide(both, granted, T).reason).toBe('chat_deleted');
    const commercial = consentAt([planFact(PLAN_AT, 'team')], S, T);
    expect(decide(chat({ lastActivityAt: LAST, incognito: true }), commercial, T).reason).toBe('incognito');
  });

  it('plan_unknown beats no_policy_in_effect; commercial_plan beats no_policy_in_effect', () => {
    const t = E1 - 1;
    expect(decide(chat({ lastActivityAt: t }), consentAt([], S, t), t).reason).toBe('plan_unknown');
    expect(decide(chat({ lastActivityAt: t }), consentAt([planFact(t - 1, 'government')], S, t), t).reason).toBe(
      'commercial_plan',
    );
  });

  it('opted_out beats predates_consent and retention', () => {
    const t = LAST + GRANTED_DAYS + days(1);
    const consent = consentAt([...GRANTED_FACTS, choiceFact(t - 1, 'denied')], S, t);
    expect(decide(chat({ lastActivityAt: LAST }), consent, t).reason).toBe('opted_out');
  });

  it('predates_consent beats retention_expired', () => {
    const t = G + GRANTED_DAYS + days(1);
    const consent = consentAt(GRANTED_FACTS, S, t);
    expect(decide(chat({ lastActivityAt: G - 1 }), consent, t).reason).toBe('predates_consent');
  });
});

describe('decideEligibility: a policy-violation flag extends retentionUntil', () => {
  it('to flag time + violationDays when that is later (denied retention)', () => {
    const flag = LAST + days(1);
    const d = decide(chat({ lastActivityAt: LAST, incognito: true, flaggedAt: [flag] }), granted, T);
    expect(d).toMatchObject({ reason: 'incognito', retentionUntil: flag + VIOLATION_DAYS });
  });

  it('to flag time + violationDays when that is later (retention_expired)', () => {
    const t = LAST + GRANTED_DAYS + days(2);
    const flag = t - days(1);
    const consent = consentAt(GRANTED_FACTS, S, t);
    const d = decide(chat({ lastActivityAt: LAST, flaggedAt: [flag] }), consent, t);
    expect(d).toMatchObject({ reason: 'retention_expired', eligible: false, retentionUntil: flag + VIOLATION_DAYS });
  });

  it('never shortens it (eligible: last + grantedDays is already later)', () => {
    const d = decide(chat({ lastActivityAt: LAST, flaggedAt: [LAST] }), granted, T);
    expect(d).toMatchObject({ reason: 'user_choice', eligible: true, retentionUntil: LAST + GRANTED_DAYS });
  });

  it('uses the latest-reaching of several flags', () => {
    const flags = [LAST + days(3), LAST + days(9), LAST + days(1)];
    const consent = consentAt([...GRANTED_FACTS, choiceFact(LAST + days(10), 'denied')], S, LAST + days(11));
    const d = decide(chat({ lastActivityAt: LAST, flaggedAt: flags }), consent, LAST + days(11));
    expect(d).toMatchObject({ reason: 'opted_out', retentionUntil: LAST + days(9) + VIOLATION_DAYS });
  });

  it('does not extend a null value', () => {
    const flagged = chat({ lastActivityAt: LAST, flaggedAt: [T] });
    expect(decide(chat({ ...flagged, deletedAt: T }), granted, T).retentionUntil).toBeNull();
    const commercial = consentAt([planFact(PLAN_AT, 'enterprise')], S, T);
    expect(decide(flagged, commercial, T).retentionUntil).toBeNull();
    expect(decide(null, granted, T).retentionUntil).toBeNull();
  });
});

describe('decideEligibility: properties', () => {
  const reasonConsistent = fc.record({
    plan: fc.constantFrom('free', 'pro', 'max', 'team', 'api', null),
    choice: fc.constantFrom('granted', 'denied', null),
    choiceAt: fc.integer({ min: E1 - days(10), max: D2 + days(10) }),
    t: fc.integer({ min: E1 - days(10), max: D2 + days(2000) }),
    last: fc.option(fc.integer({ min: E1 - days(10), max: D2 + days(10) }), { nil: null }),
    deletedAt: fc.option(fc.integer({ min: E1 - days(10), max: D2 + days(2000) }), { nil: null }),
    incognito: fc.boolean(),
    flags: fc.array(fc.integer({ min: E1 - days(10), max: D2 + days(10) }), { maxLength: 3 }),
    reconsent: fc.boolean(),
  });

  it('eligible exactly for user_choice and default_after_deadline; retentionUntil null for gone or uncovered chats', () => {
    fc.assert(
      fc.property(reasonConsistent, (r) => {
        const facts: UserFact[] = [];
        if (r.plan !== null) facts.push(planFact(E1 - days(20), r.plan));
        if (r.choice !== null) facts.push(choiceFact(r.choiceAt, r.choice));
        const policies = r.reconsent ? [SEEDED, RECONSENT] : S;
        const consent = consentAt(facts, policies, r.t);
        const c = chat({
          lastActivityAt: r.last !== null && r.last <= r.t ? r.last : null,
          deletedAt: r.deletedAt,
          incognito: r.incognito,
          flaggedAt: r.flags.filter((f) => f <= r.t),
        });
        const d = decide(c, consent, r.t);
        expect(REASONS).toContain(d.reason);
        expect(d.eligible).toBe(d.reason === 'user_choice' || d.reason === 'default_after_deadline');
        expect(d.policyVersion).toBe(consent.policy?.version ?? null);
        expect(d.retentionUntil).toBe(retentionUntil(d.reason, c, consent));
        const nullReasons: Reason[] = ['chat_not_found', 'chat_deleted', 'commercial_plan'];
        if (nullReasons.includes(d.reason)) expect(d.retentionUntil).toBeNull();
        if (d.eligible) {
          expect(d.consentSince).not.toBeNull();
          expect(c.lastActivityAt!).toBeGreaterThanOrEqual(d.consentSince!);
          expect(r.t).toBeLessThanOrEqual(c.lastActivityAt! + GRANTED_DAYS);
          expect(d.retentionUntil).toBeGreaterThanOrEqual(c.lastActivityAt! + DAY_MS * consent.policy!.retention.grantedDays);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decideEligibility: a policy that requires reconsent', () => {
  it('a chat active only before the reconsent policy predates a new grant made after it', () => {
    const policies = [SEEDED, RECONSENT];
    const c = E2 + days(3);
    const t = c + days(1);
    const consent = consentAt([...GRANTED_FACTS, choiceFact(c, 'granted')], policies, t);
    expect(decide(chat({ lastActivityAt: E2 - days(1) }), consent, t)).toMatchObject({
      eligible: false,
      reason: 'predates_consent',
      policyVersion: RECONSENT.version,
      consentSince: c,
    });
  });

  // DISAGREEMENT with SPEC (reported), the eligibility consequence of the consentSince boundary
  // case in consent.test.ts: a grant recorded exactly at the reconsent policy's effectiveAt is
  // merged with the ignored earlier grant, so a chat last used under the old consent is eligible.
  it('a chat active only before the reconsent policy predates a new grant made exactly at its effectiveAt', () => {
    const policies = [SEEDED, RECONSENT];
    const t = E2 + days(1);
    const consent = consentAt([...GRANTED_FACTS, choiceFact(E2, 'granted')], policies, t);
    expect(decide(chat({ lastActivityAt: E2 - days(1) }), consent, t)).toMatchObject({
      eligible: false,
      reason: 'predates_consent',
      policyVersion: RECONSENT.version,
      consentSince: E2,
    });
  });
});
