import { policyAt, reconsentCutoff } from './policy.js';
import {
  CONSUMER_PLANS,
  type Choice,
  type ConsentState,
  type Plan,
  type Policy,
  type UserFact,
} from './types.js';

type ChoiceFact = Extract<UserFact, { kind: 'choice' }>;

function byTime(a: UserFact, b: UserFact): number {
  return a.at - b.at || a.seq - b.seq;
}

/** Facts in recording order, whatever order they were given in (the same array when already in order). */
export function sortFacts(facts: readonly UserFact[]): readonly UserFact[] {
  for (let i = 1; i < facts.length; i++) {
    if (byTime(facts[i - 1], facts[i]) > 0) return [...facts].sort(byTime);
  }
  return facts;
}

interface Snapshot {
  plan: Plan | null;
  choice: ChoiceFact | null;
  policy: Policy | null;
}

/** Plan, latest valid choice and policy at `t`, from facts sorted by `sortFacts`. */
function snapshotAt(sorted: readonly UserFact[], policies: readonly Policy[], t: number): Snapshot {
  const policy = policyAt(policies, t);
  const cutoff = reconsentCutoff(policies, t);
  let plan: Plan | null = null;
  let choice: ChoiceFact | null = null;
  for (const f of sorted) {
    if (f.at > t) break;
    if (f.kind === 'plan') plan = f.plan;
    else choice = f.at >= cutoff ? f : null;
  }
  return { plan, choice, policy };
}

/**
 * Whether the user's chats may be trained on at `t` as far as the user is concerned: a consumer
 * plan, a policy in effect, and a valid grant or a default grant after the deadline.
 */
function grantedAt(s: Snapshot, t: number): boolean {
  if (s.policy === null || s.plan === null || !CONSUMER_PLANS.has(s.plan)) return false;
  if (s.choice !== null) return s.choice.choice === 'granted';
  return t >= s.policy.decisionDeadline && s.policy.defaultChoice === 'granted';
}

/**
 * Start of the continuous granted period that contains `t`, or null when not granted at `t`.
 * Granted-ness only changes at a fact, a policy's effectiveAt or a deadline, so it is checked at
 * those instants, walking back from `t`. A period is broken by a denial, by a return to undecided
 * (a policy that requires reconsent), and by any time on a plan that is not a consumer plan:
 * chats used while the plan was commercial never become trainable by a later plan change.
 */
function consentSinceAt(sorted: readonly UserFact[], policies: readonly Policy[], t: number, atT: Snapshot): number | null {
  if (!grantedAt(atT, t)) return null;
  const instants: number[] = [];
  for (const f of sorted) if (f.at <= t) instants.push(f.at);
  for (const p of policies) {
    if (p.effectiveAt <= t) instants.push(p.effectiveAt);
    if (p.decisionDeadline <= t) instants.push(p.decisionDeadline);
  }
  // A policy that requires reconsent starts a new period even when the user is granted on both
  // sides of its effectiveAt: what came before rests on choices it ignores.
  const cutoff = reconsentCutoff(policies, t);
  instants.sort((a, b) => b - a);
  let since = t;
  for (let i = 0; i < instants.length; i++) {
    const instant = instants[i];
    if (instant < cutoff) break;
    if (i > 0 && instant === instants[i - 1]) continue;
    // State on [instant, next instant) equals the state at `instant`.
    if (!grantedAt(snapshotAt(sorted, policies, instant), instant)) break;
    since = instant;
  }
  return since;
}

/** The empty state: what is known of a user before any fact about them. */
export function emptyConsent(policies: readonly Policy[], t: number): ConsentState {
  return consentAt([], policies, t);
}

/**
 * The consent state of a user at `t`: the fold of the facts recorded at or before `t`.
 * Facts may be given in any order.
 */
export function consentAt(facts: readonly UserFact[], policies: readonly Policy[], t: number): ConsentState {
  const sorted = sortFacts(facts);
  const s = snapshotAt(sorted, policies, t);
  const choice = s.choice;
  const commercial = s.plan !== null && !CONSUMER_PLANS.has(s.plan);
  const decisionRequired = !commercial && s.policy !== null && choice === null;

  let effective: Choice;
  let basis: ConsentState['basis'];
  if (commercial) {
    effective = 'denied';
    basis = 'commercial_plan';
  } else if (s.plan === null) {
    effective = 'denied';
    basis = 'plan_unknown';
  } else if (s.policy === null) {
    effective = 'denied';
    basis = 'no_policy_in_effect';
  } else if (choice !== null) {
    effective = choice.choice;
    basis = 'user_choice';
  } else if (t >= s.policy.decisionDeadline) {
    effective = s.policy.defaultChoice;
    basis = 'default_after_deadline';
  } else {
    effective = 'denied';
    basis = 'undecided';
  }
  const retentionDays =
    s.policy === null ? null : effective === 'granted' ? s.policy.retention.grantedDays : s.policy.retention.deniedDays;
  return {
    plan: s.plan,
    choice: choice === null ? null : choice.choice,
    choiceAt: choice === null ? null : choice.at,
    choiceSurface: choice === null ? null : choice.surface,
    policy: s.policy,
    effective,
    basis,
    decisionRequired,
    retentionDays,
    consentSince: effective === 'granted' ? consentSinceAt(sorted, policies, t, s) : null,
  };
}
