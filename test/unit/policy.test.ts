import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { policyAt, reconsentCutoff, type Policy } from '../../src/domain/index.js';
import { D1, DENIED_DEFAULT, E1, E2, E3, FOLLOWUP, RECONSENT, SEEDED, days } from './fixtures.js';

describe('policyAt: the policy with the latest effectiveAt <= t', () => {
  it('is null with no policies', () => {
    expect(policyAt([], E1)).toBeNull();
  });

  it('is null before the first policy takes effect', () => {
    expect(policyAt([SEEDED], E1 - 1)).toBeNull();
  });

  it('includes a policy from its effectiveAt exactly (<= t)', () => {
    expect(policyAt([SEEDED], E1)).toBe(SEEDED);
  });

  it('keeps the seeded policy in effect after its deadline', () => {
    expect(policyAt([SEEDED], D1 + days(3650))).toBe(SEEDED);
  });

  it('switches to a later policy at its effectiveAt and not before', () => {
    const policies = [SEEDED, RECONSENT, FOLLOWUP];
    expect(policyAt(policies, E2 - 1)).toBe(SEEDED);
    expect(policyAt(policies, E2)).toBe(RECONSENT);
    expect(policyAt(policies, E3 - 1)).toBe(RECONSENT);
    expect(policyAt(policies, E3)).toBe(FOLLOWUP);
  });

  it('does not depend on the order the policies are given in', () => {
    const pool = [SEEDED, RECONSENT, FOLLOWUP];
    fc.assert(
      fc.property(
        fc.shuffledSubarray(pool),
        fc.integer({ min: E1 - days(30), max: E3 + days(30) }),
        (subset, t) => {
          const reversed = [...subset].reverse();
          expect(policyAt(subset, t)).toBe(policyAt(reversed, t));
          const expected = subset
            .filter((p) => p.effectiveAt <= t)
            .sort((a, b) => b.effectiveAt - a.effectiveAt)[0] ?? null;
          expect(policyAt(subset, t)).toBe(expected);
        },
      ),
    );
  });
});

describe('reconsentCutoff: choices before it are not valid at t', () => {
  it('is -Infinity when no policy requires reconsent', () => {
    expect(reconsentCutoff([SEEDED, DENIED_DEFAULT, FOLLOWUP], E3 + days(1))).toBe(-Infinity);
  });

  it('is -Infinity before a reconsent policy takes effect', () => {
    expect(reconsentCutoff([SEEDED, RECONSENT], E2 - 1)).toBe(-Infinity);
  });

  it('is the effectiveAt of the reconsent policy from that instant on', () => {
    expect(reconsentCutoff([SEEDED, RECONSENT], E2)).toBe(E2);
    expect(reconsentCutoff([SEEDED, RECONSENT], E2 + days(10))).toBe(E2);
  });

  it('stays in place under a later policy that does not require reconsent', () => {
    expect(reconsentCutoff([SEEDED, RECONSENT, FOLLOWUP], E3 + days(1))).toBe(E2);
  });

  it('is the latest reconsent policy in effect when there are several', () => {
    const later: Policy = { ...RECONSENT, version: 'later-reconsent', effectiveAt: E3 + days(10), decisionDeadline: E3 + days(40) };
    const policies = [later, SEEDED, RECONSENT];
    expect(reconsentCutoff(policies, E3)).toBe(E2);
    expect(reconsentCutoff(policies, later.effectiveAt)).toBe(later.effectiveAt);
  });

  it('is never after t and does not depend on policy order', () => {
    const later: Policy = { ...RECONSENT, version: 'later-reconsent', effectiveAt: E3 + days(10) };
    const pool = [SEEDED, RECONSENT, FOLLOWUP, later];
    fc.assert(
      fc.property(
        fc.shuffledSubarray(pool),
        fc.integer({ min: E1 - days(30), max: later.effectiveAt + days(30) }),
        (subset, t) => {
          const cutoff = reconsentCutoff(subset, t);
          expect(cutoff <= t).toBe(true);
          expect(reconsentCutoff([...subset].reverse(), t)).toBe(cutoff);
          const inEffect = subset.filter((p) => p.requiresReconsent && p.effectiveAt <= t).map((p) => p.effectiveAt);
          expect(cutoff).toBe(inEffect.length === 0 ? -Infinity : Math.max(...inEffect));
        },
      ),
    );
  });
});
