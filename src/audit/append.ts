import { randomUUID } from 'node:crypto';
import type { Transaction } from '../db/client.js';
import type { FactRow } from '../db/user-facts.js';
import { GENESIS_HASH, hashEvent, type AuditEvent } from './hash.js';

export interface Actor {
  sub: string;
  kind: 'user' | 'service';
}

/** Who writes, when, and under which request: the same for every event of one request. */
export interface WriteContext {
  actor: Actor;
  requestId: string;
  /** Server time of the request, in whole milliseconds. */
  now: Date;
}

export interface NewEvent {
  type: string;
  chatId?: string;
  data: Record<string, unknown>;
}

export const POLICY_CHAIN = 'policies';

/** An entry of `users.facts`. */
export type UserFactRow = FactRow;

/** Event types the consent state is folded from, kept on the user's row as well (`users.facts`). */
export const USER_FACT_TYPES: ReadonlySet<string> = new Set(['user.plan_changed', 'consent.choice_recorded']);

/**
 * Appends events to one hash chain inside the caller's transaction. The chain head was locked when
 * the write began (`beginWrite`), so concurrent writers of the same chain queue instead of forking it.
 */
export class ChainAppender {
  private head: string;
  private readonly appended: AuditEvent[] = [];

  constructor(
    private readonly tx: Transaction,
    private readonly ctx: WriteContext,
    readonly userId: string | null,
    headHash: string,
    private reserved: string[] = [],
  ) {
    this.head = headHash;
  }

  get events(): readonly AuditEvent[] {
    return this.appended;
  }

  /** The revision of the last event appended by this write, if any. */
  get lastRevision(): string | null {
    return this.appended.at(-1)?.revision ?? null;
  }

  /**
   * Builds and hashes the events; the statement that inserts them and moves the chain head is
   * deferred (`Transaction.defer`), sent with the transaction's next statement or its COMMIT.
   */
  async append(...events: NewEvent[]): Promise<AuditEvent[]> {
    if (events.length === 0) return [];
    const revisions = this.reserved.splice(0, events.length);
    if (revisions.length < events.length) {
      const more = await this.tx.query<{ r: string }>(
        "SELECT nextval('revision_seq')::text AS r FROM generate_series(1, $1::int)",
        [events.length - revisions.length],
      );
      revisions.push(...more.map((r) => r.r));
    }
    revisions.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    const occurredAt = this.ctx.now.toISOString();
    const built: AuditEvent[] = events.map((e, i) => {
      const event: Omit<AuditEvent, 'hash'> = {
        revision: revisions[i],
        eventId: randomUUID(),
        type: e.type,
        userId: this.userId,
        ...(e.chatId !== undefined ? { chatId: e.chatId } : {}),
        data: e.data,
        actor: this.ctx.actor,
        occurredAt,
        requestId: this.ctx.requestId,
        prevHash: this.head,
      };
      const full = { ...event, hash: hashEvent(event) };
      this.head = full.hash;
      return full;
    });
    const last = built[built.length - 1];
    const columns = [
      built.map((e) => e.revision),
      built.map((e) => e.eventId),
      built.map((e) => e.type),
      built.map((e) => e.chatId ?? null),
      built.map((e) => JSON.stringify(e.data)),
      built.map((e) => e.prevHash),
      built.map((e) => e.hash),
    ];
    // The log takes what is not personal; the rest goes where erasure can delete it (docs/decisions/0020).
    const insert = `INSERT INTO audit_events (revision, event_id, type, actor_kind, occurred_at, prev_hash, hash)
      SELECT r::bigint, e, t, $10, $11::timestamptz, p, h
        FROM unnest($1::text[], $2::text[], $3::text[], $6::text[], $7::text[]) AS x(r, e, t, p, h)),
      personal AS (INSERT INTO audit_event_personal (revision, user_id, chat_id, data, actor_sub, request_id)
      SELECT r::bigint, $8, c, d::jsonb, $9, $12
        FROM unnest($1::text[], $4::text[], $5::text[]) AS x(r, c, d)`;
    const params = [...columns, this.userId, this.ctx.actor.sub, this.ctx.actor.kind, occurredAt, this.ctx.requestId, last.hash, last.revision];
    if (this.userId === null) {
      this.tx.defer(
        `WITH ins AS (${insert}) UPDATE chain_heads SET head_hash = $13, head_revision = $14::bigint WHERE chain = '${POLICY_CHAIN}'`,
        params,
      );
    } else {
      const facts = built
        .filter((e) => USER_FACT_TYPES.has(e.type))
        .map((e) => ({ seq: Number(e.revision), type: e.type, data: e.data, at: this.ctx.now.getTime() }));
      this.tx.defer(
        `WITH ins AS (${insert}) UPDATE users SET head_hash = $13, head_revision = $14::bigint,
           created_revision = coalesce(created_revision, ($1::text[])[1]::bigint),
           facts = CASE WHEN $15::text = '[]' THEN facts ELSE facts || $15::text::jsonb END
         WHERE user_id = $8`,
        [...params, JSON.stringify(facts)],
      );
    }
    this.appended.push(...built);
    return built;
  }
}

export interface BeginOptions {
  /** Revisions to take in the same statement, for the events the write will append. */
  reserve?: number;
  /**
   * More columns to read in the same statement. `$1` is the user id. They are read with the
   * statement's snapshot, which can predate the commit of a writer this one waited for; the user's
   * own row (`facts`, `created_at`) is returned as it is once the lock is held.
   */
  columns?: string;
}

/**
 * Starts a write about a user: registers the transaction with the revision watermark, creates the
 * user on its first write, and locks the head of its chain until the transaction ends.
 */
export async function beginUserWrite<T extends object = object>(
  tx: Transaction,
  ctx: WriteContext,
  userId: string,
  options: BeginOptions = {},
): Promise<{ chain: ChainAppender; row: T & { created_at: number; facts: UserFactRow[] } }> {
  const rows = await tx.query<T & { head_hash: string; created_at: number; facts: UserFactRow[]; reserved: string[] }>(
    // A known user's row is locked as it is; only a new user's is inserted (and, should another
    // writer insert it first, locked by the no-op update): no row version written just to lock.
    // The row is read through w, so that the write is registered (consent_begin_write) before anything else.
    `WITH w AS (SELECT consent_begin_write(), true AS begun),
     known AS (SELECT k.* FROM w, LATERAL (SELECT users.head_hash, users.created_at, users.facts FROM users
                WHERE users.user_id = $1 AND w.begun FOR UPDATE OF users) k),
     created AS (INSERT INTO users (user_id, created_at, head_hash) SELECT $1, $2::timestamptz, $3 FROM w
           WHERE NOT EXISTS (SELECT 1 FROM known)
           ON CONFLICT (user_id) DO UPDATE SET head_hash = users.head_hash
           RETURNING head_hash, created_at, facts),
     u AS (SELECT * FROM known UNION ALL SELECT * FROM created)
     SELECT u.head_hash, (extract(epoch FROM u.created_at) * 1000)::float8 AS created_at, u.facts,
       ARRAY(SELECT nextval('revision_seq')::text FROM generate_series(1, $4::int)) AS reserved
       ${options.columns ? `, ${options.columns}` : ''}
     FROM u`,
    [userId, ctx.now.toISOString(), GENESIS_HASH, options.reserve ?? 0],
  );
  const row = rows[0];
  return { chain: new ChainAppender(tx, ctx, userId, row.head_hash, row.reserved), row };
}

/** Starts a write to the chain of events about no user (policies). */
export async function beginPolicyWrite(tx: Transaction, ctx: WriteContext): Promise<ChainAppender> {
  const rows = await tx.query<{ head_hash: string }>(
    `WITH w AS (SELECT consent_begin_write())
     SELECT head_hash FROM chain_heads, w WHERE chain = $1 FOR UPDATE OF chain_heads`,
    [POLICY_CHAIN],
  );
  return new ChainAppender(tx, ctx, null, rows[0]?.head_hash ?? GENESIS_HASH);
}
