import type { Policy } from './types.js';

/** The policy in effect at `t`: the one with the latest `effectiveAt <= t`. */
export function policyAt(policies: readonly Policy[], t: number): Policy | null {
  let best: Policy | null = null;
  for (const p of policies) {
    if (p.effectiveAt <= t && (best === null || p.effectiveAt > best.effectiveAt)) best = p;
  }
  return best;
}

/**
 * Choices recorded before this instant are not valid at `t`: the `effectiveAt` of the latest
 * policy in effect by `t` that requires reconsent (a later policy that does not require it keeps
 * the reset in place). `-Infinity` when no such policy applies.
 */
export function reconsentCutoff(policies: readonly Policy[], t: number): number {
  let cutoff = -Infinity;
  for (const p of policies) {
    if (p.requiresReconsent && p.effectiveAt <= t && p.effectiveAt > cutoff) cutoff = p.effectiveAt;
  }
  return cutoff;
}
