import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

/**
 * Every recorded fact takes its position from this one sequence: audit events and chat activity
 * reports. Revisions therefore only grow, and a reader can tell which facts count at revision R.
 */
export const revisionSeq = pgSequence('revision_seq', { startWith: 1, increment: 1 });

/** The append-only, hash-chained audit log. UPDATE, DELETE and TRUNCATE are refused by triggers. */
export const auditEvents = pgTable(
  'audit_events',
  {
    revision: bigint('revision', { mode: 'bigint' }).primaryKey(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    userId: text('user_id'),
    chatId: text('chat_id'),
    data: jsonb('data').notNull(),
    actorSub: text('actor_sub').notNull(),
    actorKind: text('actor_kind').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    requestId: text('request_id').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    uniqueIndex('audit_events_event_id_key').on(t.eventId),
    index('audit_events_user_idx').on(t.userId, t.revision),
    index('audit_events_user_terms_idx').on(t.userId, t.revision).where(sql`type = 'terms.accepted'`),
    index('audit_events_type_idx').on(t.type, t.revision),
  ],
);

/** One row per user: existence and the head of the user's hash chain. */
export const users = pgTable('users', {
  userId: text('user_id').primaryKey(),
  createdAt: ts('created_at').notNull(),
  createdRevision: bigint('created_revision', { mode: 'bigint' }),
  headHash: text('head_hash').notNull(),
  headRevision: bigint('head_revision', { mode: 'bigint' }),
  /**
   * The user's consent facts (plan changes and choices) as `[{ seq, type, data, at }]`, appended
   * with their audit events: what the consent state is folded from, in one row.
   */
  facts: jsonb('facts').notNull().default(sql`'[]'::jsonb`),
});

/**
 * The newest settled revision as the primary last published it, one row. Streaming replicas replay
 * it only after every commit of a revision up to it, so a replica reads it as the revision it may
 * answer at (docs/decisions/0040).
 */
export const settledWatermark = pgTable(
  'settled_watermark',
  {
    one: boolean('one').primaryKey().default(true),
    revision: bigint('revision', { mode: 'bigint' }).notNull(),
    publishedAt: ts('published_at').notNull(),
  },
  (t) => [check('settled_watermark_one_row', sql`${t.one}`)],
);

/** Heads of chains that belong to no user (policies). */
export const chainHeads = pgTable('chain_heads', {
  chain: text('chain').primaryKey(),
  headHash: text('head_hash').notNull(),
  headRevision: bigint('head_revision', { mode: 'bigint' }),
});

export const policies = pgTable(
  'policies',
  {
    version: text('version').primaryKey(),
    effectiveAt: ts('effective_at').notNull(),
    decisionDeadline: ts('decision_deadline').notNull(),
    defaultChoice: text('default_choice').notNull(),
    requiresReconsent: boolean('requires_reconsent').notNull(),
    retentionGrantedDays: integer('retention_granted_days').notNull(),
    retentionDeniedDays: integer('retention_denied_days').notNull(),
    retentionViolationDays: integer('retention_violation_days').notNull(),
    recordedAt: ts('recorded_at').notNull(),
    revision: bigint('revision', { mode: 'bigint' }).notNull(),
  },
  (t) => [index('policies_effective_at_idx').on(t.effectiveAt)],
);

/**
 * The current projection of each chat. Every fact carries the revision and time it was recorded
 * at, so the chat can be evaluated at any earlier point without reading the log.
 */
export const chats = pgTable(
  'chats',
  {
    chatId: text('chat_id').primaryKey(),
    userId: text('user_id').notNull(),
    createdAt: ts('created_at').notNull(),
    incognito: boolean('incognito').notNull(),
    registeredAt: ts('registered_at').notNull(),
    registeredRevision: bigint('registered_revision', { mode: 'bigint' }).notNull(),
    deletedAt: ts('deleted_at'),
    deletedRevision: bigint('deleted_revision', { mode: 'bigint' }),
    /** [{ type, flaggedAt, revision }] in recording order. */
    flags: jsonb('flags').notNull().default(sql`'[]'::jsonb`),
    /**
     * The latest activity (the greatest `at`) with the revision and time it was recorded at: a
     * read whose point counts it needs no look at chat_activity.
     */
    lastActivityAt: ts('last_activity_at'),
    lastActivityRevision: bigint('last_activity_revision', { mode: 'bigint' }),
    lastActivityRecordedAt: ts('last_activity_recorded_at'),
  },
  (t) => [index('chats_user_idx').on(t.userId)],
);

/** Reported chat activity (creation included). Not audited; positioned by revision. */
export const chatActivity = pgTable(
  'chat_activity',
  {
    chatId: text('chat_id').notNull(),
    revision: bigint('revision', { mode: 'bigint' }).notNull(),
    at: ts('at').notNull(),
    recordedAt: ts('recorded_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.chatId, t.revision] }),
    index('chat_activity_chat_at_idx').on(t.chatId, t.at),
    index('chat_activity_revision_idx').on(t.revision),
  ],
);

/** Stored responses of writes made with an Idempotency-Key, per caller. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    sub: text('sub').notNull(),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    statusCode: integer('status_code').notNull(),
    headers: jsonb('headers').notNull(),
    body: text('body'),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sub, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);
