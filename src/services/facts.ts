/**
 * The SQL that reads the facts rules are folded from, at a point, and their conversion into the
 * domain's types. Times cross the wire as epoch milliseconds.
 */
import type { ChatFacts, Choice, Plan, Policy, Surface, UserFact } from '../domain/index.js';
import { ANY_TIME, type ReadCap } from '../db/point.js';

const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

/** JSON array of the policies recorded at the point. Parameters: $R revision cap, $C recordedBy. */
export function policiesJson(r: string, c: string): string {
  return `(SELECT coalesce(json_agg(json_build_object(
      'version', version, 'effectiveAt', ${ms('effective_at')}, 'decisionDeadline', ${ms('decision_deadline')},
      'defaultChoice', default_choice, 'requiresReconsent', requires_reconsent,
      'grantedDays', retention_granted_days, 'deniedDays', retention_denied_days,
      'violationDays', retention_violation_days, 'revision', revision::text, 'recordedAt', ${ms('recorded_at')})
      ORDER BY effective_at), '[]'::json)
    FROM policies WHERE revision <= ${r} AND recorded_at <= ${c})`;
}

export const USER_FACT_TYPES = `type IN ('user.plan_changed', 'consent.choice_recorded')`;

/** JSON array of one user's consent facts at the point. */
export function userFactsJson(u: string, r: string, c: string): string {
  return `(SELECT coalesce(json_agg(json_build_object('seq', revision, 'type', type, 'data', data, 'at', ${ms('occurred_at')}) ORDER BY revision), '[]'::json)
    FROM audit_events WHERE user_id = ${u} AND ${USER_FACT_TYPES} AND revision <= ${r} AND occurred_at <= ${c})`;
}

export interface PolicyRow {
  version: string;
  effectiveAt: number;
  decisionDeadline: number;
  defaultChoice: Choice;
  requiresReconsent: boolean;
  grantedDays: number;
  deniedDays: number;
  violationDays: number;
  revision: string;
  recordedAt: number;
}

export function toPolicy(row: PolicyRow): Policy {
  return {
    version: row.version,
    effectiveAt: row.effectiveAt,
    decisionDeadline: row.decisionDeadline,
    defaultChoice: row.defaultChoice,
    requiresReconsent: row.requiresReconsent,
    retention: { grantedDays: row.grantedDays, deniedDays: row.deniedDays, violationDays: row.violationDays },
  };
}

export interface FactRow {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: number;
}

export function toUserFacts(rows: readonly FactRow[]): UserFact[] {
  return rows.map((r) =>
    r.type === 'user.plan_changed'
      ? { kind: 'plan', at: r.at, seq: r.seq, plan: r.data.plan as Plan }
      : { kind: 'choice', at: r.at, seq: r.seq, choice: r.data.choice as Choice, surface: r.data.surface as Surface },
  );
}

/** Columns of a chat row, and its last activity at the point (`t` the evaluation time). */
export function chatColumns(r: string, c: string, t: string): string {
  return `c.chat_id, c.user_id, c.incognito, ${ms('c.created_at')} AS created_at,
    ${ms('c.registered_at')} AS registered_at, c.registered_revision::text AS registered_revision,
    ${ms('c.deleted_at')} AS deleted_at, c.deleted_revision::text AS deleted_revision, c.flags,
    (SELECT ${ms('max(a.at)')} FROM chat_activity a
      WHERE a.chat_id = c.chat_id AND a.at <= ${t} AND a.revision <= ${r} AND a.recorded_at <= ${c}) AS last_activity_at`;
}

export interface ChatRow {
  chat_id: string;
  user_id: string;
  incognito: boolean;
  created_at: number;
  registered_at: number;
  registered_revision: string;
  deleted_at: number | null;
  deleted_revision: string | null;
  flags: { type: string; flaggedAt: string; revision: string }[];
  last_activity_at: number | null;
}

/** Whether a fact recorded at (`revision`, `at`) counts at a read's cap. */
export class CapFilter {
  private readonly maxRevision: bigint;
  private readonly recordedBy: number;

  constructor(cap: ReadCap) {
    this.maxRevision = BigInt(cap.revision);
    this.recordedBy = cap.recordedBy === ANY_TIME ? Number.POSITIVE_INFINITY : Date.parse(cap.recordedBy);
  }

  counts(revision: string, at: number): boolean {
    return at <= this.recordedBy && BigInt(revision) <= this.maxRevision;
  }
}

/** The chat as known at the cap, or null when it was not registered yet. */
export function toChatFacts(row: ChatRow, cap: CapFilter): ChatFacts | null {
  if (!cap.counts(row.registered_revision, row.registered_at)) return null;
  const deleted =
    row.deleted_at !== null && row.deleted_revision !== null && cap.counts(row.deleted_revision, row.deleted_at) ? row.deleted_at : null;
  const flaggedAt: number[] = [];
  for (const f of row.flags) {
    const at = Date.parse(f.flaggedAt);
    if (f.type === 'policy_violation' && cap.counts(f.revision, at)) flaggedAt.push(at);
  }
  return {
    chatId: row.chat_id,
    userId: row.user_id,
    incognito: row.incognito,
    deletedAt: deleted,
    flaggedAt,
    lastActivityAt: row.last_activity_at,
  };
}
