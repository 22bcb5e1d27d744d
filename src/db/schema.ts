import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
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

/**
 * The append-only, hash-chained audit log. UPDATE, DELETE and TRUNCATE are refused by triggers.
 * It holds nothing personal: who and what each event is about is in `audit_event_personal`.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    revision: bigint('revision', { mode: 'bigint' }).primaryKey(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    actorKind: text('actor_kind').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [uniqueIndex('audit_events_event_id_key').on(t.eventId), index('audit_events_type_idx').on(t.type, t.revision)],
);

/**
 * The personal part of each audit event: who it is about, the chat, what was recorded and who
 * acted. Kept apart from the append-only log so that erasing a user can delete it; the event's
 * hash, in the log, still covers it, so an altered row no longer verifies (docs/decisions/0020).
 */
export const auditEventPersonal = pgTable(
  'audit_event_personal',
  {
    revision: bigint('revision', { mode: 'bigint' }).primaryKey(),
    userId: text('user_id'),
    chatId: text('chat_id'),
    data: jsonb('data').notNull(),
    actorSub: text('actor_sub').notNull(),
    requestId: text('request_id').notNull(),
  },
  (t) => [index('audit_event_personal_user_idx').on(t.userId, t.revision)],
);

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * The Merkle tree over the log, as tiles (docs/decisions/0021): the tile at (level, idx) holds up to
 * 256 consecutive hashes of tree level 8 * level, 32 bytes each, the last tile of a level growing
 * as the log does. Level-0 tiles hold leaf hashes and the revision of their first leaf.
 */
export const merkleTiles = pgTable(
  'merkle_tiles',
  {
    level: integer('level').notNull(),
    idx: bigint('idx', { mode: 'bigint' }).notNull(),
    firstRevision: bigint('first_revision', { mode: 'bigint' }),
    hashes: bytea('hashes').notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.idx] }), index('merkle_tiles_first_revision_idx').on(t.firstRevision)],
);

/** How far the tree has grown: its size and the revision of its last leaf. One row. */
export const merkleTree = pgTable('merkle_tree', {
  id: integer('id').primaryKey(),
  size: bigint('size', { mode: 'bigint' }).notNull(),
  lastRevision: bigint('last_revision', { mode: 'bigint' }).notNull(),
});

/** Signed checkpoints of the tree, append-only like the log. */
export const auditCheckpoints = pgTable('audit_checkpoints', {
  treeSize: bigint('tree_size', { mode: 'bigint' }).primaryKey(),
  rootHash: text('root_hash').notNull(),
  lastRevision: bigint('last_revision', { mode: 'bigint' }).notNull(),
  createdAt: ts('created_at').notNull(),
  previousRootHash: text('previous_root_hash'),
  jws: text('jws').notNull(),
});

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
    /** The user the write was about, so that erasing the user deletes its stored responses. */
    userId: text('user_id'),
  },
  (t) => [
    primaryKey({ columns: [t.sub, t.key] }),
    index('idempotency_keys_created_idx').on(t.createdAt),
    index('idempotency_keys_user_idx').on(t.userId).where(sql`user_id IS NOT NULL`),
  ],
);
