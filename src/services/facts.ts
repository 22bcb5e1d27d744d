/**
 * The SQL that reads the facts rules are folded from, at a point, and their conversion into the
 * domain's types. Times cross the wire as epoch milliseconds.
 */
import type { Queryable } from '../db/client.js';
import { capOf, type Point } from '../db/point.js';
import type { FactRow } from '../db/user-facts.js';
import { isoTime, type ChatFacts, type Choice, type Plan, type Policy, type Surface, type UserFact } from '../domain/index.js';

/** Epoch milliseconds of a timestamptz. date_part works in float8 (extract in numeric, slower); times are whole milliseconds, so rounding makes it exact. */
const ms = (col: string) => `round(date_part('epoch', ${col}) * 1000)`;

/** JSON array of every policy, with its revision and recording time (the cache filters them to a point). */
const ALL_POLICIES_JSON = `(SELECT coalesce(json_agg(json_build_object(
    'version', version, 'effectiveAt', ${ms('effective_at')}, 'decisionDeadline', ${ms('decision_deadline')},
    'defaultChoice', default_choice, 'requiresReconsent', requires_reconsent,
    'grantedDays', retention_granted_days, 'deniedDays', retention_denied_days,
    'violationDays', retention_violation_days, 'revision', revision::text, 'recordedAt', ${ms('recorded_at')})
    ORDER BY effective_at), '[]'::json)
  FROM policies)`;

/** SQL for the newest policy revision: tells a `PolicyCache` whether it is current. */
export const POLICIES_REVISION = `(SELECT max(revision)::text FROM policies)`;

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

export type { FactRow } from '../db/user-facts.js';

export function toUserFacts(rows: readonly FactRow[]): UserFact[] {
  return rows.map((r) =>
    r.type === 'user.plan_changed'
      ? { kind: 'plan', at: r.at, seq: r.seq, plan: r.data.plan as Plan }
      : { kind: 'choice', at: r.at, seq: r.seq, choice: r.data.choice as Choice, surface: r.data.surface as Surface },
  );
}

/**
 * A user's facts (from `users.facts`) that count at a point: recorded at or below its revision
 * and, for an asOf read, at or before its time. Revisions stay far below 2^53, so they compare as
 * numbers.
 */
export function userFactsAt(rows: readonly FactRow[], revision: string, recordedBy: number | null): UserFact[] {
  const cap = Number(revision);
  const by = recordedBy ?? Number.POSITIVE_INFINITY;
  return toUserFacts(rows.filter((r) => r.seq <= cap && r.at <= by));
}

/** The policies that count at a point, and the newest revision among them (0 when none). */
export interface PolicySet {
  policies: readonly Policy[];
  revision: number;
}

/**
 * The policies, kept in memory. They are only ever added, so a caller names the newest policy
 * revision it knows of (a read's point carries the one read when its revision settled; a write
 * asks for `POLICIES_REVISION` in its own statement) and the list is read again only when it is
 * older, whichever instance added the policy. Policies commit in revision order (each write locks
 * the policies' chain head before it takes its revision), so a list read when the newest was R
 * holds every policy up to R: one cache serves the primary and replicas that have replayed less.
 * Revisions compare as numbers, as in `userFactsAt`.
 */
export class PolicyCache {
  private revision: string | null = null;
  private rows: PolicyRow[] = [];
  private entries: { policy: Policy; revision: number; recordedAt: number }[] = [];
  /** Every policy: what nearly every read counts, handed out without copying. */
  private everything: PolicySet = { policies: [], revision: 0 };
  private lastRecordedAt = 0;

  constructor(private readonly db: Queryable) {}

  /** `q` runs the reload: inside a transaction it must be the transaction (the embedded database has one connection). */
  private isCurrentFor(newest: string | null): boolean {
    return this.revision !== null && newest !== null && Number(newest) <= Number(this.revision);
  }

  private async current(newest: string | null, q: Queryable = this.db): Promise<PolicyRow[]> {
    if (!this.isCurrentFor(newest)) {
      const rows = await q.query<{ policies: PolicyRow[]; rev: string | null }>(
        `SELECT ${ALL_POLICIES_JSON} AS policies, ${POLICIES_REVISION} AS rev`,
      );
      this.rows = rows[0].policies;
      this.entries = this.rows.map((row) => ({ policy: toPolicy(row), revision: Number(row.revision), recordedAt: row.recordedAt }));
      this.everything = { policies: this.entries.map((e) => e.policy), revision: Math.max(0, ...this.entries.map((e) => e.revision)) };
      this.lastRecordedAt = Math.max(0, ...this.entries.map((e) => e.recordedAt));
      this.revision = rows[0].rev;
    }
    return this.rows;
  }

  /** Every policy as a row, for listing; `q` is the database asked for the newest policy revision. */
  async all(newest: string | null = null, q: Queryable = this.db): Promise<PolicyRow[]> {
    return this.current(newest ?? (await this.newest(q)), q);
  }

  /** The policies at a point, without waiting, when the cache is current for `newest`; null when it is not. */
  peek(newest: string | null, revision: string, recordedBy: number | null): PolicySet | null {
    return this.isCurrentFor(newest) ? this.select(revision, recordedBy) : null;
  }

  /** The policies recorded at a point, given the newest policy revision known when the point was fixed. */
  async at(newest: string | null, revision: string, recordedBy: number | null, q: Queryable = this.db): Promise<PolicySet> {
    await this.current(newest, q);
    return this.select(revision, recordedBy);
  }

  private select(revision: string, recordedBy: number | null): PolicySet {
    const cap = Number(revision);
    const by = recordedBy ?? Number.POSITIVE_INFINITY;
    if (this.everything.revision <= cap && this.lastRecordedAt <= by) return this.everything;
    const counted = this.entries.filter((e) => e.revision <= cap && e.recordedAt <= by);
    return { policies: counted.map((e) => e.policy), revision: Math.max(0, ...counted.map((e) => e.revision)) };
  }

  private async newest(q: Queryable): Promise<string | null> {
    return (await q.query<{ rev: string | null }>(`SELECT ${POLICIES_REVISION} AS rev`))[0].rev;
  }
}

/**
 * A chat's row as stored, with the revision and recording time of each of its facts, times as
 * epoch milliseconds. Which of them count at a point is decided in `toChatFacts`, the same way
 * as a user's facts and the chat's flags, so that every reader applies one rule; the statements
 * stay short and take no parameters but the chats asked for.
 */
export const CHAT_COLUMNS = `c.chat_id, c.user_id, c.incognito, c.registered_revision AS reg_rev, ${ms('c.registered_at')} AS reg_at,
  c.deleted_revision AS del_rev, ${ms('c.deleted_at')} AS del_at, CASE WHEN c.flags <> '[]'::jsonb THEN c.flags END AS flags,
  c.last_activity_revision AS act_rev, ${ms('c.last_activity_at')} AS act_at, ${ms('c.last_activity_recorded_at')} AS act_rec`;

/**
 * A chat's row in a stream's page. Its statement keeps only chats registered and not deleted at
 * the stream's point, and gives the latest activity only when it counts at the point (the rule of
 * `latestActivityCounts`, in SQL: $2 revision cap, $3 recordedBy, $5 the point's time), so that a
 * row carries what a decision needs and no more: a stream reads every chat.
 */
export const streamChatColumns = (incognito: boolean) => `c.chat_id, c.user_id,${incognito ? ' c.incognito,' : ''}
  CASE WHEN c.flags <> '[]'::jsonb THEN c.flags END AS flags,
  CASE WHEN c.last_activity_at <= $5::timestamptz AND c.last_activity_revision <= $2::bigint AND c.last_activity_recorded_at <= $3::timestamptz
    THEN ${ms('c.last_activity_at')} END AS act_at`;

export interface StreamChatRow {
  chat_id: string;
  user_id: string;
  /** Absent where the statement keeps no incognito chat. */
  incognito?: boolean;
  /** As stored (null when there are none). */
  flags: StoredFlag[] | null;
  /** The latest activity's time when it counts at the point; null when there is none or it does not. */
  act_at: number | null;
  /** Set by `completeStreamActivity` when `act_at` is null: the latest activity that counts at the point, or null. */
  activity_at_point?: number | null;
}

/**
 * A chat's row read at a point ($2 revision cap, $3 recordedBy, $4 the point's time): whether it
 * was registered, and its deletion and latest activity when they count, decided by the statement
 * with the rules `toChatFacts` applies to a `ChatRow` (which single checks read, since one
 * statement serves checks at different points); what it cannot tell is read by
 * `completeStreamActivity`. What nearly every chat shares (not incognito, registered) is NULL, so
 * that a batch's 10,000 rows carry and parse little beyond their ids and times.
 */
export const pointChatColumns = `c.chat_id, c.user_id, CASE WHEN c.incognito THEN true END AS incognito,
  CASE WHEN NOT (c.registered_revision <= $2::bigint AND c.registered_at <= $3::timestamptz) THEN true END AS unregistered,
  CASE WHEN c.deleted_revision <= $2::bigint AND c.deleted_at <= $3::timestamptz THEN ${ms('c.deleted_at')} END AS del_at,
  CASE WHEN c.flags <> '[]'::jsonb THEN c.flags END AS flags,
  CASE WHEN c.last_activity_at <= $4::timestamptz AND c.last_activity_revision <= $2::bigint AND c.last_activity_recorded_at <= $3::timestamptz
    THEN ${ms('c.last_activity_at')} END AS act_at`;

export interface PointChatRow extends Omit<StreamChatRow, 'incognito'> {
  /** true for an incognito chat, null otherwise. */
  incognito: true | null;
  /** true when the chat was not registered at the point, null when it was. */
  unregistered: true | null;
  /** The deletion's time when it counts at the point. */
  del_at: number | null;
}

export interface ChatRow {
  chat_id: string;
  user_id: string;
  incognito: boolean;
  /** Revisions arrive as text (int8). */
  reg_rev: string;
  reg_at: number;
  del_rev: string | null;
  del_at: number | null;
  /** As stored (null when there are none). */
  flags: StoredFlag[] | null;
  /** The latest activity reported (its time, revision and recording time), or null. */
  act_rev: string | null;
  act_at: number | null;
  act_rec: number | null;
  /** Set by `completeActivity` when the latest activity does not count at the point: the latest that does. */
  activity_at_point?: number | null;
}

/** What a point admits: facts at or below the revision cap, recorded at or before `by`; activity at or before `at`. */
interface Admits {
  cap: number;
  by: number;
  at: number;
}

const admits = (point: Point): Admits => ({
  cap: Number(point.revision),
  by: point.recordedBy ?? Number.POSITIVE_INFINITY,
  at: point.at,
});

/** Whether the chat was registered at the point. */
const registered = (row: ChatRow, p: Admits) => Number(row.reg_rev) <= p.cap && row.reg_at <= p.by;

/** Whether the chat's latest activity counts at the point: when it does not, an earlier one may. */
function latestActivityCounts(row: ChatRow, p: Admits): boolean {
  return row.act_at !== null && row.act_at <= p.at && Number(row.act_rev) <= p.cap && row.act_rec! <= p.by;
}

/** The latest activity of the chats in $1 that counts at the point ($2 cap, $3 recordedBy, $4 time). */
const activityAtSql = `SELECT ids.id AS chat_id,
    (SELECT ${ms('max(a.at)')} FROM chat_activity a
      WHERE a.chat_id = ids.id AND a.at <= $4::timestamptz AND a.revision <= $2::bigint AND a.recorded_at <= $3::timestamptz) AS at
  FROM unnest($1::text[]) AS ids(id)`;

/**
 * Reads, from chat_activity, the latest activity that counts at the point for the rows whose
 * latest activity does not (a read in the past, an activity reported after the point, or none
 * reported), in one statement for all of them; nothing when every row's own counts.
 */
export function completeActivity(db: Queryable, rows: readonly ChatRow[], point: Point): Promise<void> | undefined {
  const p = admits(point);
  const ids: string[] = [];
  for (const r of rows) if (registered(r, p) && !latestActivityCounts(r, p)) ids.push(r.chat_id);
  if (ids.length === 0) return undefined;
  return activityAt(db, ids, point, rows);
}

/** The same for rows read at the point (a stream's, a batch's): those registered whose statement gave no latest activity. */
export function completeStreamActivity(
  db: Queryable,
  rows: readonly (StreamChatRow | PointChatRow)[],
  point: Point,
): Promise<void> | undefined {
  const ids: string[] = [];
  for (const r of rows) if (r.act_at === null && !('unregistered' in r && r.unregistered === true)) ids.push(r.chat_id);
  return ids.length === 0 ? undefined : activityAt(db, ids, point, rows);
}

function activityAt(db: Queryable, ids: string[], point: Point, rows: readonly { chat_id: string; activity_at_point?: number | null }[]): Promise<void> {
  const { revision, recordedBy, at } = capOf(point);
  return db.query<{ chat_id: string; at: number | null }>(activityAtSql, [ids, revision, recordedBy, isoTime(at)]).then((found) => {
    const byId = new Map<string, number | null>();
    for (const a of found) byId.set(a.chat_id, a.at);
    for (const r of rows) if (byId.has(r.chat_id)) r.activity_at_point = byId.get(r.chat_id) ?? null;
  });
}

/** A flag as kept in `chats.flags`. */
export interface StoredFlag {
  type: string;
  flaggedAt: string;
  revision: string;
}

/** The times of the policy-violation flags that count at a point. */
function flaggedAt(flags: readonly StoredFlag[] | null, p: Admits): number[] {
  if (flags === null) return [];
  const times: number[] = [];
  for (const f of flags) {
    const at = Date.parse(f.flaggedAt);
    if (f.type === 'policy_violation' && Number(f.revision) <= p.cap && at <= p.by) times.push(at);
  }
  return times;
}

/** The chat as known at the point, or null when it was not registered yet. */
export function toChatFacts(row: ChatRow, point: Point): ChatFacts | null {
  const p = admits(point);
  if (!registered(row, p)) return null;
  const deleted = row.del_rev !== null && Number(row.del_rev) <= p.cap && row.del_at! <= p.by;
  return {
    chatId: row.chat_id,
    userId: row.user_id,
    incognito: row.incognito === true,
    deletedAt: deleted ? row.del_at : null,
    flaggedAt: flaggedAt(row.flags, p),
    lastActivityAt: latestActivityCounts(row, p) ? row.act_at : (row.activity_at_point ?? null),
  };
}

/** A chat of a stream's page (registered and not deleted at the point) as known at the point. */
export function streamChatFacts(row: StreamChatRow, point: Point): ChatFacts {
  return {
    chatId: row.chat_id,
    userId: row.user_id,
    incognito: row.incognito === true,
    deletedAt: null,
    flaggedAt: row.flags === null ? [] : flaggedAt(row.flags, admits(point)),
    lastActivityAt: row.act_at ?? row.activity_at_point ?? null,
  };
}

/** A chat read at a point (`pointChatColumns`) as known at it, or null when it was not registered yet. */
export function pointChatFacts(row: PointChatRow, point: Point): ChatFacts | null {
  if (row.unregistered === true) return null;
  return {
    chatId: row.chat_id,
    userId: row.user_id,
    incognito: row.incognito === true,
    deletedAt: row.del_at,
    flaggedAt: row.flags === null ? [] : flaggedAt(row.flags, admits(point)),
    lastActivityAt: row.act_at ?? row.activity_at_point ?? null,
  };
}
