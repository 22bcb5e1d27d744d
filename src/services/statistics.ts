import type { Database } from '../db/client.js';
import { capOf, readyPoint, resolvePoint, type PointRequest } from '../db/point.js';
import {
  CONSUMER_PLANS,
  consentAt,
  isoTime,
  reconsentCutoff,
  type Basis,
  type Choice,
  type Plan,
  type Surface,
  type UserFact,
} from '../domain/index.js';
import type { PolicyCache } from './facts.js';
import type { SettledRevisions } from '../db/point.js';

/** How the grant a user's consent rests on was given: what a privacy officer weighs it by. */
export const GRANT_EVIDENCE = [
  /** The user never chose: the policy's default applies after the deadline. */
  'default_after_deadline',
  /** Granted in the terms pop-up, the training toggle shown and pre-set to on. */
  'popup_toggle_preset_on',
  /** Granted in the terms pop-up, the toggle shown and pre-set to off: the user switched it on. */
  'popup_toggle_preset_off',
  /** Granted in the terms pop-up without the toggle being shown. */
  'popup_toggle_hidden',
  /** Granted outside the pop-up (a settings page: the consent endpoint). */
  'outside_popup',
] as const;
export type GrantEvidence = (typeof GRANT_EVIDENCE)[number];

/** At most this many groups of terms acceptances are returned (uiVariant is free text); the rest are counted. */
export const MAX_ACCEPTANCE_GROUPS = 1_000;

export interface ConsentStatistics {
  asOf: string;
  revision: string;
  users: {
    total: number;
    decisionRequired: number;
    byPlanAndBasis: { plan: Plan | null; basis: Basis; effective: Choice; count: number }[];
  };
  grantsInForce: { total: number; byEvidence: { evidence: GrantEvidence; count: number }[] };
  choicesPerDay: { day: string; surface: Surface; choice: Choice; count: number }[];
  termsAcceptances: {
    total: number;
    groups: {
      surface: Surface;
      uiVariant: string | null;
      trainingToggleShown: boolean;
      trainingToggleDefault: boolean;
      granted: number;
      denied: number;
      withoutChoice: number;
    }[];
    omittedGroups: number;
  };
}

/** A user's latest fact of a kind at the point, in the order the fold reads them (time, then revision). */
const latestFact = (type: string) => `SELECT f->'data' AS data, (f->>'seq')::bigint AS seq, (f->>'at')::float8 AS at
    FROM jsonb_array_elements(u.facts) f
   WHERE f->>'type' = '${type}' AND (f->>'seq')::bigint <= $1::bigint AND (f->>'at')::float8 <= $2::float8
   ORDER BY 3 DESC, 2 DESC LIMIT 1`;

/**
 * Users at a point grouped by what their consent is folded from: the latest plan, the latest choice
 * and whether it was recorded before the reconsent cutoff ($4). For a latest grant, how it was
 * given: the terms acceptance recorded with it, if any (the user's latest before it, recorded in
 * the same request, hence at the same instant, with the same choice), and what its pop-up showed.
 * $1 revision cap, $2 facts recorded by (the earlier of the point's recording bound and its time),
 * $3 users created by, $4 reconsent cutoff (epoch ms, -Infinity for none), $5 the consumer plans
 * (only a valid grant on one of them can be in force: the others need no look-up).
 */
const userGroupsSql = `SELECT p.data->>'plan' AS plan, c.data->>'choice' AS choice, c.at >= $4::float8 AS valid,
    min(c.at) AS choice_at, e.evidence, count(*)::int AS n
  FROM users u
  LEFT JOIN LATERAL (${latestFact('user.plan_changed')}) p ON true
  LEFT JOIN LATERAL (${latestFact('consent.choice_recorded')}) c ON true
  LEFT JOIN LATERAL (
    SELECT CASE
             WHEN round(date_part('epoch', t.occurred_at) * 1000) <> c.at OR tp.data->>'trainingChoice' IS DISTINCT FROM 'granted' THEN NULL
             WHEN tp.data->'presentation'->>'trainingToggleShown' = 'false' THEN 'popup_toggle_hidden'
             WHEN tp.data->'presentation'->>'trainingToggleDefault' = 'true' THEN 'popup_toggle_preset_on'
             ELSE 'popup_toggle_preset_off' END AS evidence
      FROM audit_event_personal tp JOIN audit_events t ON t.revision = tp.revision
     WHERE c.data->>'choice' = 'granted' AND c.at >= $4::float8 AND p.data->>'plan' = ANY($5::text[])
       AND tp.user_id = u.user_id AND t.type = 'terms.accepted' AND tp.revision < c.seq
     ORDER BY tp.revision DESC LIMIT 1) e ON true
 WHERE coalesce(u.created_revision, 0) <= $1::bigint AND u.created_at <= $3::timestamptz
 GROUP BY 1, 2, 3, 5`;

/** Consent choices recorded at the point, by UTC day of recording, surface and choice. */
const choicesPerDaySql = `SELECT to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, p.data->>'surface' AS surface,
    p.data->>'choice' AS choice, count(*)::int AS n
  FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision
  WHERE a.type = 'consent.choice_recorded' AND a.revision <= $1::bigint AND a.occurred_at <= $2::timestamptz
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;

/** Terms acceptances recorded at the point, by what the pop-up showed and what came of it. */
const acceptancesSql = `SELECT p.data->>'surface' AS surface, p.data->'presentation'->>'uiVariant' AS ui_variant,
    (p.data->'presentation'->>'trainingToggleShown')::boolean AS shown,
    (p.data->'presentation'->>'trainingToggleDefault')::boolean AS preset,
    count(*) FILTER (WHERE p.data->>'trainingChoice' = 'granted')::int AS granted,
    count(*) FILTER (WHERE p.data->>'trainingChoice' = 'denied')::int AS denied,
    count(*) FILTER (WHERE p.data->>'trainingChoice' IS NULL)::int AS without_choice
  FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision
  WHERE a.type = 'terms.accepted' AND a.revision <= $1::bigint AND a.occurred_at <= $2::timestamptz
  GROUP BY 1, 2, 3, 4
  ORDER BY count(*) DESC, 1, 2 NULLS FIRST, 3, 4`;

interface UserGroupRow {
  plan: Plan | null;
  choice: Choice | null;
  valid: boolean | null;
  choice_at: number | null;
  evidence: GrantEvidence | null;
  n: number;
}

/**
 * The figures behind the console's overview, at a point like every read: users by plan and
 * consent basis, the grants in force by the evidence behind them, choices per day, and what terms
 * pop-ups showed against what users chose. Each user's consent is the fold of `consentAt`: users
 * are grouped in SQL by the facts the fold reads (latest plan, latest choice and whether a
 * reconsent policy voids it), and each group is folded once (docs/decisions/0050).
 */
export class StatisticsService {
  constructor(
    private readonly db: Database,
    private readonly policies: PolicyCache,
    private readonly settled: SettledRevisions,
  ) {}

  async at(request: PointRequest, now: number): Promise<ConsentStatistics> {
    const point = readyPoint(this.settled, request, now) ?? (await resolvePoint(this.db, this.settled, request, now));
    const cap = capOf(point);
    const { policies } =
      this.policies.peek(point.newestPolicy, point.revision, point.recordedBy) ??
      (await this.policies.at(point.newestPolicy, point.revision, point.recordedBy));
    const factsBy = Math.min(point.at, point.recordedBy ?? Number.POSITIVE_INFINITY);
    const cutoff = reconsentCutoff(policies, point.at);
    // The embedded database has one connection: the three statements queue there either way.
    const [groups, days, acceptances] = await Promise.all([
      // Without JIT: the planner's estimate for the per-user look-ups crosses jit_above_cost, and
      // compiling took 400 ms of a 1.4 s statement at 100,000 users, more than it saved.
      this.db.transaction(async (tx) => {
        await tx.query('SET LOCAL jit = off');
        return tx.query<UserGroupRow>(userGroupsSql, [cap.revision, String(factsBy), cap.recordedBy, String(cutoff), [...CONSUMER_PLANS]]);
      }),
      this.db.query<{ day: string; surface: Surface; choice: Choice; n: number }>(choicesPerDaySql, [cap.revision, cap.recordedBy]),
      this.db.query<{
        surface: Surface;
        ui_variant: string | null;
        shown: boolean;
        preset: boolean;
        granted: number;
        denied: number;
        without_choice: number;
      }>(acceptancesSql, [cap.revision, cap.recordedBy]),
    ]);

    const byPlanAndBasis = new Map<string, { plan: Plan | null; basis: Basis; effective: Choice; count: number }>();
    const byEvidence = new Map<GrantEvidence, number>(GRANT_EVIDENCE.map((e) => [e, 0]));
    let total = 0;
    let decisionRequired = 0;
    let grants = 0;
    for (const g of groups) {
      // One user standing for the group: the fold reads nothing else of a user's facts.
      const facts: UserFact[] = [];
      if (g.plan !== null) facts.push({ kind: 'plan', at: 0, seq: 0, plan: g.plan });
      if (g.choice !== null) facts.push({ kind: 'choice', at: g.choice_at!, seq: 1, choice: g.choice, surface: 'other' });
      const state = consentAt(facts, policies, point.at);
      total += g.n;
      if (state.decisionRequired) decisionRequired += g.n;
      const key = `${state.plan}|${state.basis}|${state.effective}`;
      const entry = byPlanAndBasis.get(key) ?? { plan: state.plan, basis: state.basis, effective: state.effective, count: 0 };
      entry.count += g.n;
      byPlanAndBasis.set(key, entry);
      if (state.effective === 'granted') {
        grants += g.n;
        const evidence: GrantEvidence = state.basis === 'default_after_deadline' ? 'default_after_deadline' : (g.evidence ?? 'outside_popup');
        byEvidence.set(evidence, byEvidence.get(evidence)! + g.n);
      }
    }

    const kept = acceptances.slice(0, MAX_ACCEPTANCE_GROUPS);
    const count = (rows: typeof acceptances) => rows.reduce((s, r) => s + r.granted + r.denied + r.without_choice, 0);
    return {
      asOf: isoTime(point.at),
      revision: point.revision,
      users: {
        total,
        decisionRequired,
        byPlanAndBasis: [...byPlanAndBasis.values()].sort(
          (a, b) => String(a.plan).localeCompare(String(b.plan)) || a.basis.localeCompare(b.basis) || a.effective.localeCompare(b.effective),
        ),
      },
      grantsInForce: { total: grants, byEvidence: GRANT_EVIDENCE.map((evidence) => ({ evidence, count: byEvidence.get(evidence)! })) },
      choicesPerDay: days.map((d) => ({ day: d.day, surface: d.surface, choice: d.choice, count: d.n })),
      termsAcceptances: {
        total: count(acceptances),
        groups: kept.map((r) => ({
          surface: r.surface,
          uiVariant: r.ui_variant,
          trainingToggleShown: r.shown,
          trainingToggleDefault: r.preset,
          granted: r.granted,
          denied: r.denied,
          withoutChoice: r.without_choice,
        })),
        omittedGroups: acceptances.length - kept.length,
      },
    };
  }
}
