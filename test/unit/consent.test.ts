import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  CHOICES,
  PLANS,
  SURFACES,
  consentAt,
  emptyConsent,
  sortFacts,
  type ConsentState,
  type Policy,
  type UserFact,
} from '../../src/domain/index.js';
import {
  COMMERCIAL,
  CONSUMER,
  D1,
  D2,
  D3,
  DENIED_DEFAULT,
  E1,
  E2,
  E3,
  FOLLOWUP,
  RECONSENT,
  SEEDED,
  choiceFact,
  days,
  planFact,
} from './fixtures.js';

const S = [SEEDED];

describe('consentAt: basis', () => {
  it('user_choice: a valid explicit choice under the policy in effect', () => {
    const g = E1 + days(2);
    const state = consentAt([planFact(E1 + days(1), 'free'), choiceFact(g, 'granted', 'ios')], S, E1 + days(3));
    expect(state).toEqual<ConsentState>({
      plan: 'free',
      choice: 'granted',
      choiceAt: g,
      choiceSurface: 'ios',
      effective: 'granted',
      basis: 'user_choice',
      decisionRequired: false,
      policy: SEEDED,
      retentionDays: 1825,
      consentSince: g,
    });
  });

  it('user_choice: an explicit denial wins over the default, also after the deadline', () => {
    const d = E1 + days(2);
    const facts = [planFact(E1 + days(1), 'pro'), choiceFact(d, 'denied', 'android')];
    for (const t of [E1 + days(3), D1, D1 + days(100)]) {
      const state = consentAt(facts, S, t);
      expect(state).toMatchObject({
        choice: 'denied',
        choiceAt: d,
        choiceSurface: 'android',
        effective: 'denied',
        basis: 'user_choice',
        decisionRequired: false,
        retentionDays: 30,
        consentSince: null,
      });
    }
  });

  it('default_after_deadline: no choice, t at or after the deadline, effective is the default', () => {
    const facts = [planFact(E1 + days(1), 'max')];
    for (const t of [D1, D1 + 1, D1 + days(400)]) {
      expect(consentAt(facts, S, t)).toEqual<ConsentState>({
        plan: 'max',
        choice: null,
        choiceAt: null,
        choiceSurface: null,
        effective: 'granted',
        basis: 'default_after_deadline',
        decisionRequired: true,
        policy: SEEDED,
        retentionDays: 1825,
        consentSince: D1,
      });
    }
  });

  it('default_after_deadline with a default of denied is denied', () => {
    const state = consentAt([planFact(E1 + days(1), 'free')], [DENIED_DEFAULT], D1);
    expect(state).toMatchObject({
      effective: 'denied',
      basis: 'default_after_deadline',
      decisionRequired: true,
      policy: DENIED_DEFAULT,
      retentionDays: DENIED_DEFAULT.retention.deniedDays,
      consentSince: null,
    });
  });

  it('undecided: consumer plan, no choice, before the deadline', () => {
    const facts = [planFact(E1 + days(1), 'free')];
    for (const t of [E1 + days(1), D1 - 1]) {
      expect(consentAt(facts, S, t)).toEqual<ConsentState>({
        plan: 'free',
        choice: null,
        choiceAt: null,
        choiceSurface: null,
        effective: 'denied',
        basis: 'undecided',
        decisionRequired: true,
        policy: SEEDED,
        retentionDays: 30,
        consentSince: null,
      });
    }
  });

  it('commercial_plan: every commercial plan is denied whatever the choice, and needs no decision', () => {
    for (const plan of COMMERCIAL) {
      for (const extra of [[], [choiceFact(E1 + days(2), 'granted')]] as UserFact[][]) {
        for (const t of [E1 + days(3), D1 + days(3)]) {
          const state = consentAt([planFact(E1 + days(1), plan), ...extra], S, t);
          expect(state).toMatchObject({
            plan,
            effective: 'denied',
            basis: 'commercial_plan',
            decisionRequired: false,
            policy: SEEDED,
            retentionDays: 30,
            consentSince: null,
          });
        }
      }
    }
  });

  it('commercial_plan wins over no_policy_in_effect', () => {
    const state = consentAt([planFact(E1 - days(5), 'enterprise')], S, E1 - days(1));
    expect(state).toMatchObject({ basis: 'commercial_plan', effective: 'denied', policy: null, retentionDays: null, decisionRequired: false });
  });

  it('plan_unknown: a plan never set fails closed, even with a grant and after the deadline', () => {
    const g = E1 + days(2);
    const state = consentAt([choiceFact(g, 'granted')], S, D1 + days(1));
    expect(state).toEqual<ConsentState>({
      plan: null,
      choice: 'granted',
      choiceAt: g,
      choiceSurface: 'web',
      effective: 'denied',
      basis: 'plan_unknown',
      decisionRequired: false,
      policy: SEEDED,
      retentionDays: 30,
      consentSince: null,
    });
    // With no choice, the frontend is asked to show the pop-up (plan unknown counts as not commercial).
    expect(consentAt([], S, D1 + days(1))).toMatchObject({ basis: 'plan_unknown', effective: 'denied', decisionRequired: true });
  });

  it('no_policy_in_effect: consumer plan before any policy takes effect', () => {
    const g = E1 - days(2);
    const state = consentAt([planFact(E1 - days(3), 'free'), choiceFact(g, 'granted')], S, E1 - 1);
    expect(state).toEqual<ConsentState>({
      plan: 'free',
      choice: 'granted',
      choiceAt: g,
      choiceSurface: 'web',
      effective: 'denied',
      basis: 'no_policy_in_effect',
      decisionRequired: false,
      policy: null,
      retentionDays: null,
      consentSince: null,
    });
    expect(consentAt([planFact(E1, 'free')], [], D1 + days(1))).toMatchObject({
      basis: 'no_policy_in_effect',
      effective: 'denied',
      policy: null,
      retentionDays: null,
      decisionRequired: false,
    });
  });

  it('a choice made before the policy took effect is valid once it does (no reconsent required)', () => {
    const g = E1 - days(2);
    const state = consentAt([planFact(E1 - days(3), 'free'), choiceFact(g, 'granted')], S, E1);
    expect(state).toMatchObject({ basis: 'user_choice', effective: 'granted', choiceAt: g, consentSince: E1 });
  });
});

describe('consentAt: decisionRequired', () => {
  it('is true for consumer and unknown plans without a valid choice, false otherwise', () => {
    const cases: [UserFact[], number, boolean][] = [
      [[planFact(E1 + days(1), 'free')], E1 + days(2), true], // undecided
      [[planFact(E1 + days(1), 'free')], D1 + days(2), true], // default applied but still no choice
      [[], E1 + days(2), true], // plan unknown, no choice
      [[planFact(E1 + days(1), 'free'), choiceFact(E1 + days(1), 'granted')], E1 + days(2), false],
      [[planFact(E1 + days(1), 'free'), choiceFact(E1 + days(1), 'denied')], E1 + days(2), false],
      [[planFact(E1 + days(1), 'team')], E1 + days(2), false], // commercial
      [[choiceFact(E1 + days(1), 'denied')], E1 + days(2), false], // plan unknown, has a choice
    ];
    for (const [facts, t, expected] of cases) {
      expect(consentAt(facts, S, t).decisionRequired).toBe(expected);
    }
  });

  it('becomes true again under a policy that requires reconsent, and false after a new choice', () => {
    const policies = [SEEDED, RECONSENT];
    const facts = [planFact(E1 + days(1), 'free'), choiceFact(E1 + days(2), 'granted')];
    expect(consentAt(facts, policies, E2 - 1).decisionRequired).toBe(false);
    expect(consentAt(facts, policies, E2).decisionRequired).toBe(true);
    expect(consentAt([...facts, choiceFact(E2 + days(1), 'denied')], policies, E2 + days(1)).decisionRequired).toBe(false);
  });
});

describe('consentAt: retentionDays follows effective', () => {
  it('uses grantedDays when effective is granted and deniedDays when denied, of the policy in effect', () => {
    const policies = [SEEDED, RECONSENT];
    const plan = planFact(E1 + days(1), 'free');
    const cases: [UserFact[], number, number | null][] = [
      [[plan, choiceFact(E1 + days(2), 'granted')], E1 + days(3), 1825],
      [[plan, choiceFact(E1 + days(2), 'denied')], E1 + days(3), 30],
      [[plan], E1 + days(3), 30], // undecided
      [[plan], D1, 1825], // default grant
      [[planFact(E1 + days(1), 'api')], D1, 30], // commercial
      [[plan], E2 + days(1), RECONSENT.retention.deniedDays], // undecided again under RECONSENT
      [[plan], D2, RECONSENT.retention.grantedDays], // default grant under RECONSENT
      [[plan, choiceFact(E2 + days(1), 'granted')], E2 + days(2), RECONSENT.retention.grantedDays],
      [[plan], E1 - 1, null], // no policy in effect
    ];
    for (const [facts, t, expected] of cases) {
      const state = consentAt(facts, policies, t);
      expect(state.retentionDays).toBe(expected);
      if (state.policy) {
        expect(state.retentionDays).toBe(
          state.effective === 'granted' ? state.policy.retention.grantedDays : state.policy.retention.deniedDays,
        );
      }
    }
  });
});

describe('consentAt: consentSince', () => {
  const plan = planFact(E1 + days(1), 'free');

  it('is the time of the explicit grant that began the period', () => {
    const g = E1 + days(5);
    expect(consentAt([plan, choiceFact(g, 'granted')], S, g).consentSince).toBe(g);
    expect(consentAt([plan, choiceFact(g, 'granted')], S, D1 + days(100)).consentSince).toBe(g);
  });

  it('is the decision deadline for a default grant', () => {
    expect(consentAt([plan], S, D1).consentSince).toBe(D1);
    expect(consentAt([plan], S, D1 + days(700)).consentSince).toBe(D1);
  });

  it('an explicit grant after a default grant continues the same period', () => {
    const g = D1 + days(10);
    const state = consentAt([plan, choiceFact(g, 'granted')], S, g + days(1));
    expect(state.basis).toBe('user_choice');
    expect(state.choiceAt).toBe(g);
    expect(state.consentSince).toBe(D1);
  });

  it('granting again does not restart the period', () => {
    const g1 = E1 + days(3);
    const g2 = E1 + days(10);
    const g3 = D1 + days(10);
    const state = consentAt([plan, choiceFact(g1, 'granted'), choiceFact(g2, 'granted', 'cli'), choiceFact(g3, 'granted')], S, g3 + 1);
    expect(state.choiceAt).toBe(g3);
    expect(state.consentSince).toBe(g1);
  });

  it('a denial ends the period; a later grant starts a new one at its own time', () => {
    const g1 = E1 + days(3);
    const d = E1 + days(10);
    const g2 = D1 + days(10);
    const facts = [plan, choiceFact(g1, 'granted'), choiceFact(d, 'denied'), choiceFact(g2, 'granted')];
    expect(consentAt(facts, S, d - 1).consentSince).toBe(g1);
    expect(consentAt(facts, S, d).consentSince).toBeNull();
    expect(consentAt(facts, S, D1 + days(1)).consentSince).toBeNull(); // the default does not override a denial
    expect(consentAt(facts, S, g2).consentSince).toBe(g2);
  });

  it('a denial after a default grant ends it; a new grant starts a new period', () => {
    const d = D1 + days(3);
    const g = D1 + days(7);
    const facts = [plan, choiceFact(d, 'denied'), choiceFact(g, 'granted')];
    expect(consentAt(facts, S, d - 1).consentSince).toBe(D1);
    expect(consentAt(facts, S, d).consentSince).toBeNull();
    expect(consentAt(facts, S, g + days(1)).consentSince).toBe(g);
  });

  it('is null whenever effective is denied', () => {
    for (const t of [E1 + days(2), D1 + days(2)]) {
      expect(consentAt([plan, choiceFact(E1 + days(1), 'denied')], S, t).consentSince).toBeNull();
    }
    expect(consentAt([plan], S, D1 - 1).consentSince).toBeNull();
  });

  it('a grant recorded before the plan is set starts the period when the plan is set', () => {
    const p = E1 + days(5);
    const state = consentAt([choiceFact(E1 + days(2), 'granted'), planFact(p, 'free')], S, p + days(1));
    expect(state).toMatchObject({ basis: 'user_choice', effective: 'granted', consentSince: p });
  });

  // The code ends a period at any time on a non-consumer plan (SPEC is silent on plan changes).
  it('time on a commercial plan breaks the period', () => {
    const g = E1 + days(2);
    const toTeam = E1 + days(5);
    const backToFree = E1 + days(9);
    const facts = [plan, choiceFact(g, 'granted'), planFact(toTeam, 'team'), planFact(backToFree, 'pro')];
    expect(consentAt(facts, S, toTeam - 1).consentSince).toBe(g);
    expect(consentAt(facts, S, toTeam).consentSince).toBeNull();
    expect(consentAt(facts, S, backToFree)).toMatchObject({ basis: 'user_choice', effective: 'granted', consentSince: backToFree });
  });

  // A plan first set after the deadline: the user was plan_unknown (denied) until then, so the
  // continuous granted period begins at the plan change, not at the deadline.
  it('a default grant to a user whose plan is first set after the deadline starts at the plan change', () => {
    const p = D1 + days(20);
    expect(consentAt([planFact(p, 'free')], S, p + days(1))).toMatchObject({
      basis: 'default_after_deadline',
      consentSince: p,
    });
  });

  it('a switch between consumer plans does not break the period', () => {
    const g = E1 + days(2);
    const facts = [plan, choiceFact(g, 'granted'), planFact(E1 + days(4), 'pro'), planFact(E1 + days(6), 'max')];
    expect(consentAt(facts, S, E1 + days(7)).consentSince).toBe(g);
  });
});

describe('consentAt: a policy that requires reconsent', () => {
  const policies = [SEEDED, RECONSENT];
  const plan = planFact(E1 + days(1), 'free');
  const g = E1 + days(2);
  const grantedEarlier = [plan, choiceFact(g, 'granted')];

  it('ignores choices made before its effectiveAt: the user is undecided again', () => {
    expect(consentAt(grantedEarlier, policies, E2 - 1)).toMatchObject({ basis: 'user_choice', consentSince: g, policy: SEEDED });
    expect(consentAt(grantedEarlier, policies, E2)).toEqual<ConsentState>({
      plan: 'free',
      choice: null,
      choiceAt: null,
      choiceSurface: null,
      effective: 'denied',
      basis: 'undecided',
      decisionRequired: true,
      policy: RECONSENT,
      retentionDays: RECONSENT.retention.deniedDays,
      consentSince: null,
    });
  });

  it('ignores an earlier denial too', () => {
    const facts = [plan, choiceFact(g, 'denied')];
    expect(consentAt(facts, policies, E2 + days(1))).toMatchObject({ basis: 'undecided', choice: null });
  });

  it('applies its default after its own deadline, with consentSince at that deadline', () => {
    expect(consentAt(grantedEarlier, policies, D2)).toMatchObject({
      basis: 'default_after_deadline',
      effective: 'granted',
      choice: null,
      consentSince: D2,
    });
  });

  it('accepts a choice made after its effectiveAt, starting a new period at that choice', () => {
    const c = E2 + days(3);
    const state = consentAt([...grantedEarlier, choiceFact(c, 'granted')], policies, c + days(1));
    expect(state).toMatchObject({ basis: 'user_choice', effective: 'granted', choiceAt: c, consentSince: c });
  });

  // DISAGREEMENT with SPEC (reported): the choice at E2 is valid (not "before its effectiveAt"),
  // and the earlier grant is ignored under RECONSENT, so the grant that began the period is the one
  // at E2. The code merges it with the ignored pre-E2 grant and answers consentSince = g.
  it('accepts a choice made exactly at its effectiveAt, and the period starts there, not at the ignored grant', () => {
    const state = consentAt([...grantedEarlier, choiceFact(E2, 'granted')], policies, E2 + days(1));
    expect(state).toMatchObject({ basis: 'user_choice', effective: 'granted', choiceAt: E2 });
    expect(state.consentSince).toBe(E2);
  });

  // DISAGREEMENT with SPEC (reported): under a reconsent policy whose deadline is its effectiveAt,
  // the earlier explicit grant is ignored and the user is granted by default from the deadline;
  // "for a default grant it is the decision deadline". The code answers the ignored grant's time.
  it('a default grant under a reconsent policy with an immediate deadline starts at that deadline', () => {
    const immediate: Policy = { ...RECONSENT, version: 'immediate', decisionDeadline: E2 };
    const state = consentAt(grantedEarlier, [SEEDED, immediate], E2 + days(1));
    expect(state).toMatchObject({ basis: 'default_after_deadline', effective: 'granted', choice: null, policy: immediate });
    expect(state.consentSince).toBe(E2);
  });

  it('the reset stays in place under a later policy that does not require reconsent', () => {
    const all = [SEEDED, RECONSENT, FOLLOWUP];
    // Under FOLLOWUP, before its own deadline, the pre-RECONSENT grant does not come back.
    expect(consentAt(grantedEarlier, all, E3 + days(1))).toMatchObject({ basis: 'undecided', choice: null, policy: FOLLOWUP });
    expect(consentAt(grantedEarlier, all, D3)).toMatchObject({ basis: 'default_after_deadline', consentSince: D3 });
    // A choice made under RECONSENT stays valid under FOLLOWUP, and its period continues.
    const c = E2 + days(3);
    expect(consentAt([...grantedEarlier, choiceFact(c, 'granted')], all, E3 + days(1))).toMatchObject({
      basis: 'user_choice',
      policy: FOLLOWUP,
      consentSince: c,
    });
  });
});

describe('consentAt: facts recorded in the same millisecond', () => {
  it('are ordered by seq', () => {
    const t = E1 + days(2);
    const facts = [choiceFact(t, 'denied', 'web', 11), choiceFact(t, 'granted', 'ios', 10), planFact(t, 'free', 9)];
    expect(consentAt(facts, S, t)).toMatchObject({ choice: 'denied', choiceSurface: 'web', plan: 'free' });
    expect(sortFacts(facts).map((f) => f.seq)).toEqual([9, 10, 11]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const LO = E1 - days(40);
const HI = D3 + days(40);
/** Instants where the state may change, so the generators hit boundaries often. */
const SPECIAL = [E1, D1, E2, D2, E3, D3].flatMap((x) => [x - 1, x, x + 1]);

const timeArb = fc.oneof(fc.constantFrom(...SPECIAL), fc.integer({ min: LO, max: HI }));

/** Policies with distinct effectiveAt (so policyAt is unambiguous): a subset of the fixtures or random ones. */
const randomPolicyArb: fc.Arbitrary<Policy> = fc
  .record({
    effectiveAt: timeArb,
    window: fc.integer({ min: 0, max: days(60) }),
    defaultChoice: fc.constantFrom(...CHOICES),
    requiresReconsent: fc.boolean(),
    grantedDays: fc.integer({ min: 1, max: 2000 }),
    deniedDays: fc.integer({ min: 1, max: 60 }),
    violationDays: fc.integer({ min: 1, max: 800 }),
  })
  .map((r) => ({
    version: `p-${r.effectiveAt}`,
    effectiveAt: r.effectiveAt,
    decisionDeadline: r.effectiveAt + r.window,
    defaultChoice: r.defaultChoice,
    requiresReconsent: r.requiresReconsent,
    retention: { grantedDays: r.grantedDays, deniedDays: r.deniedDays, violationDays: r.violationDays },
  }));

const policiesArb: fc.Arbitrary<readonly Policy[]> = fc.oneof<fc.Arbitrary<readonly Policy[]>[]>(
  fc.constant([SEEDED]),
  fc.constant([SEEDED, RECONSENT, FOLLOWUP]),
  fc.subarray([SEEDED, RECONSENT, FOLLOWUP]),
  fc.constant([DENIED_DEFAULT]),
  fc.uniqueArray(randomPolicyArb, { maxLength: 4, selector: (p) => p.effectiveAt }),
);

type RawFact =
  | { kind: 'plan'; at: number; plan: (typeof PLANS)[number] }
  | { kind: 'choice'; at: number; choice: (typeof CHOICES)[number]; surface: (typeof SURFACES)[number] };

function rawFactArb(at: fc.Arbitrary<number>): fc.Arbitrary<RawFact> {
  return fc.oneof(
    fc.record({ kind: fc.constant('plan' as const), at, plan: fc.constantFrom(...PLANS, ...CONSUMER, ...CONSUMER) }),
    fc.record({
      kind: fc.constant('choice' as const),
      at,
      choice: fc.constantFrom(...CHOICES),
      surface: fc.constantFrom(...SURFACES),
    }),
  );
}

/** Facts with unique seq (a revision), in recording order; several may share a millisecond. */
function withSeq(raw: readonly RawFact[], firstSeq = 1): UserFact[] {
  return raw.map((f, i) => ({ ...f, seq: firstSeq + i }) as UserFact);
}

const factsArb = fc.array(rawFactArb(timeArb), { maxLength: 12 }).map((raw) => withSeq(raw));

describe('consentAt: properties', () => {
  it('(a) is order-consistent: any permutation of the same facts gives the same state', () => {
    fc.assert(
      fc.property(
        factsArb.chain((facts) =>
          fc.tuple(fc.constant(facts), fc.shuffledSubarray(facts, { minLength: facts.length, maxLength: facts.length })),
        ),
        policiesArb,
        timeArb,
        ([facts, permuted], policies, t) => {
          const expected = consentAt(facts, policies, t);
          expect(consentAt(permuted, policies, t)).toEqual(expected);
          expect(consentAt([...facts].reverse(), policies, t)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('(b) before every fact and every policy, the state is the empty state', () => {
    const empty: ConsentState = {
      plan: null,
      choice: null,
      choiceAt: null,
      choiceSurface: null,
      effective: 'denied',
      basis: 'plan_unknown',
      decisionRequired: false,
      policy: null,
      retentionDays: null,
      consentSince: null,
    };
    fc.assert(
      fc.property(factsArb, policiesArb, fc.integer({ min: 1, max: days(3650) }), (facts, policies, gap) => {
        const first = Math.min(...facts.map((f) => f.at), ...policies.map((p) => p.effectiveAt), HI);
        const t = first - gap;
        const state = consentAt(facts, policies, t);
        expect(state).toEqual(consentAt([], policies, t));
        expect(state).toEqual(emptyConsent(policies, t));
        expect(state).toEqual(empty);
      }),
      { numRuns: 500 },
    );
  });

  it('(b\') before every fact (policies anywhere), the state equals the empty state at t', () => {
    fc.assert(
      fc.property(factsArb, policiesArb, fc.integer({ min: 1, max: days(400) }), (facts, policies, gap) => {
        const t = Math.min(...facts.map((f) => f.at), HI) - gap;
        const state = consentAt(facts, policies, t);
        expect(state).toEqual(emptyConsent(policies, t));
        expect(state).toMatchObject({ plan: null, choice: null, choiceAt: null, consentSince: null, effective: 'denied', basis: 'plan_unknown' });
      }),
      { numRuns: 500 },
    );
  });

  it('(c) facts recorded after t never change the state at t', () => {
    fc.assert(
      fc.property(
        fc.array(rawFactArb(timeArb), { maxLength: 10 }),
        fc.array(rawFactArb(fc.integer({ min: 1, max: days(800) })), { minLength: 1, maxLength: 8 }),
        policiesArb,
        timeArb,
        fc.boolean(),
        (rawBefore, rawAfterOffsets, policies, t, interleaveSeq) => {
          // Facts at or before t, plus some at t or earlier that are kept, and some strictly after t.
          const base = withSeq(rawBefore);
          const later = rawAfterOffsets.map((f) => ({ ...f, at: t + f.at }));
          // seq is a revision; later facts normally get higher ones, but the fold must not care.
          const extra = withSeq(later, interleaveSeq ? -1000 : base.length + 1);
          const expected = consentAt(base, policies, t);
          expect(consentAt([...base, ...extra], policies, t)).toEqual(expected);
          expect(consentAt([...extra, ...base], policies, t)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('consentSince, when set, is not after t, and is set exactly when effective is granted', () => {
    fc.assert(
      fc.property(factsArb, policiesArb, timeArb, (facts, policies, t) => {
        const state = consentAt(facts, policies, t);
        expect(state.consentSince !== null).toBe(state.effective === 'granted');
        if (state.consentSince !== null) expect(state.consentSince).toBeLessThanOrEqual(t);
        // Granted over the whole period [consentSince, t].
        if (state.consentSince !== null) {
          expect(consentAt(facts, policies, state.consentSince).effective).toBe('granted');
        }
      }),
      { numRuns: 500 },
    );
  });
});
