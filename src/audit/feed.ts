import type { Database } from '../db/client.js';
import { CAP, NOW, readAtPoint, RevisionNotReached, type PointRequest, type SettledRevisions } from '../db/point.js';
import { ReadRouter, type ReadSource } from '../db/read-router.js';
import { badRequest, notFound } from '../errors.js';
import type { LoggedEvent } from './hash.js';

interface EventRow {
  revision: string;
  event_id: string;
  type: string;
  /** Null when the event's personal part was erased. */
  user_id: string | null;
  chat_id: string | null;
  data: Record<string, unknown> | null;
  actor_sub: string | null;
  actor_kind: 'user' | 'service';
  occurred_at: Date;
  request_id: string | null;
  prev_hash: string;
  hash: string;
  redacted: boolean;
}

/**
 * The event exactly as it was hashed: `chatId` only on chat events, keys as the API returns them.
 * An event whose personal part was erased comes back redacted, with its hash as it was.
 */
export function toAuditEvent(r: EventRow): LoggedEvent {
  if (r.redacted) {
    return { revision: r.revision, eventId: r.event_id, type: r.type, redacted: true, occurredAt: r.occurred_at.toISOString(), prevHash: r.prev_hash, hash: r.hash };
  }
  return {
    revision: r.revision,
    eventId: r.event_id,
    type: r.type,
    userId: r.user_id,
    ...(r.chat_id !== null ? { chatId: r.chat_id } : {}),
    data: r.data!,
    actor: { sub: r.actor_sub!, kind: r.actor_kind },
    occurredAt: r.occurred_at.toISOString(),
    requestId: r.request_id!,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** An event and its personal part, when it was not erased: `FROM ${EVENTS}` with `a` the log and `p` the personal part. */
export const EVENT_COLUMNS = `a.revision::text AS revision, a.event_id, a.type, p.user_id, p.chat_id, p.data, p.actor_sub, a.actor_kind,
  a.occurred_at, p.request_id, a.prev_hash, a.hash, p.revision IS NULL AS redacted`;
export const EVENTS = 'audit_events a LEFT JOIN audit_event_personal p ON p.revision = a.revision';

export interface Page {
  items: LoggedEvent[];
  nextCursor: string | null;
}

export class AuditFeed {
  /** Reads go where `reads` sends them; live followers read the primary (`feedOn`). */
  constructor(
    private readonly db: Database,
    settled: SettledRevisions,
    private readonly reads: ReadRouter = new ReadRouter({ name: 'primary', db, settled }),
  ) {}

  /** The primary, which live followers read: they are woken by its commits. */
  get primary(): ReadSource {
    return this.reads.primary;
  }

  /**
   * How many events (of these types, of this user when given) lie in (`after`, `through`],
   * counting no further than `max + 1`: how far behind a live consumer is, at bounded cost.
   */
  async countBetween(after: string, through: string, types: readonly string[] | null, userId: string | null, max: number): Promise<number> {
    // A user's events are found by its personal rows; the log itself names no user.
    const rows = await this.db.query<{ n: number }>(
      userId === null
        ? `SELECT count(*)::int AS n FROM (SELECT 1 FROM audit_events
             WHERE revision > $1::bigint AND revision <= $2::bigint AND ($3::text[] IS NULL OR type = ANY($3::text[]))
             LIMIT $4) e`
        : `SELECT count(*)::int AS n FROM (SELECT 1 FROM audit_event_personal p JOIN audit_events a ON a.revision = p.revision
             WHERE p.user_id = $5 AND p.revision > $1::bigint AND p.revision <= $2::bigint AND ($3::text[] IS NULL OR a.type = ANY($3::text[]))
             LIMIT $4) e`,
      userId === null ? [after, through, types, max + 1] : [after, through, types, max + 1, userId],
    );
    return rows[0].n;
  }

  /** One user's events in revision order; `nextCursor` is null once there are no more. `request` carries a minRevision. */
  forUser(userId: string, after: string, limit: number, now: number, request: PointRequest = NOW): Promise<Page> {
    return this.reads.run(request, (src) => this.forUserOn(src, userId, after, limit, now, request));
  }

  private async forUserOn(src: ReadSource, userId: string, after: string, limit: number, now: number, request: PointRequest): Promise<Page> {
    const { rows: result } = await readAtPoint<EventRow>(src.db, src.settled, request, now, (cap) => ({
      text: `SELECT ${EVENT_COLUMNS} FROM audit_event_personal p JOIN audit_events a ON a.revision = p.revision
              WHERE p.user_id = $1 AND p.revision <= ${CAP} AND p.revision > $3::bigint ORDER BY p.revision LIMIT $4`,
      params: [userId, cap.revision, after, limit],
    }));
    if (result.length === 0) {
      const known = await src.db.query('SELECT 1 FROM users WHERE user_id = $1', [userId]);
      if (known.length === 0) throw notFound(`user ${userId} is not known`);
    }
    const items = result.map(toAuditEvent);
    return { items, nextCursor: items.length === limit ? items[items.length - 1].revision : null };
  }

  /**
   * The global change feed. Only revisions that have settled are returned (every transaction that
   * could still commit one at or below the cursor has ended), so a consumer following
   * `nextCursor` sees every event exactly once even though revisions commit out of order.
   * `nextCursor` is always set: past the last item, or at the settled revision when the page is
   * not full, so that gaps left by abandoned revisions are stepped over once and for all.
   * `userId` keeps one user's events only (its cursor still moves through the whole log). A
   * replica that has not replayed `after` yet sends the read elsewhere, so a cursor never meets a
   * database that knows less than the one that gave it. `request` carries a minRevision.
   */
  feed(after: string, limit: number, types: readonly string[] | null, now: number, userId: string | null = null, request: PointRequest = NOW): Promise<Page> {
    return this.reads.run(request, (src) => this.feedOn(src, after, limit, types, now, userId, request));
  }

  async feedOn(
    src: ReadSource,
    after: string,
    limit: number,
    types: readonly string[] | null,
    now: number,
    userId: string | null = null,
    request: PointRequest = NOW,
  ): Promise<Page> {
    const { rows: result, point } = await readAtPoint<EventRow>(src.db, src.settled, request, now, (cap) =>
      userId === null
        ? {
            text: `SELECT ${EVENT_COLUMNS} FROM ${EVENTS}
              WHERE a.revision > $1::bigint AND a.revision <= ${CAP} AND ($3::text[] IS NULL OR a.type = ANY($3::text[]))
              ORDER BY a.revision LIMIT $4`,
            params: [after, cap.revision, types, limit],
          }
        : {
            // One user's events, for a live subscription to that user: the same rule, on the user's index.
            text: `SELECT ${EVENT_COLUMNS} FROM audit_event_personal p JOIN audit_events a ON a.revision = p.revision
              WHERE p.user_id = $5 AND p.revision > $1::bigint AND p.revision <= ${CAP} AND ($3::text[] IS NULL OR a.type = ANY($3::text[]))
              ORDER BY p.revision LIMIT $4`,
            params: [after, cap.revision, types, limit, userId],
          },
    );
    const items = result.map(toAuditEvent);
    if (items.length === limit) return { items, nextCursor: items[items.length - 1].revision };
    if (BigInt(point.revision) < BigInt(after)) {
      if (!src.settled.authoritative) throw new RevisionNotReached(after, point.revision);
      const newest = await src.db.query<{ r: string }>(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END::text AS r FROM revision_seq`);
      if (BigInt(after) > BigInt(newest[0].r)) {
        throw badRequest(`after ${after} is beyond the newest revision ${newest[0].r}`, [{ path: 'query.after', message: 'is beyond the newest revision' }]);
      }
      return { items, nextCursor: after };
    }
    return { items, nextCursor: point.revision };
  }
}
