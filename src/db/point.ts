import { badRequest, unavailable } from '../errors.js';
import type { Queryable } from './client.js';

/**
 * The point a read is evaluated at. Facts count when their revision is <= `revision` and, for an
 * `asOf` read, when they were recorded at or before `recordedBy`. `at` is the time the rules are
 * applied at (deadlines, retention, plan and policy in effect).
 */
export interface Point {
  revision: string;
  at: number;
  recordedBy: number | null;
}

/** `where` names the part of the request the point came from, for error paths (default `query`). */
export type PointRequest =
  | { kind: 'now' }
  | { kind: 'asOf'; at: number; where?: string }
  | { kind: 'atRevision'; revision: string; where?: string };

/** Parameters of a read before its revision is known: the cap is the largest revision there is. */
export interface ReadCap {
  revision: string;
  at: number;
  /** ISO time facts must be recorded at or before (ANY_TIME when any). */
  recordedBy: string;
}

/**
 * The newest revision the calling statement's rows are complete at, or NULL when a writer of this
 * database was in flight in its snapshot (docs/decisions/0001). Written out in each statement rather
 * than called as the SQL function of the same name: PostgreSQL plans a non-inlined SQL function's
 * body again on every call, which cost more than the rest of a point read.
 */
export const VISIBLE_WATERMARK = `(CASE WHEN NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()))
      OR consent_snapshot_complete(pg_current_snapshot())
    THEN greatest(coalesce((SELECT max(revision) FROM audit_events), 0), coalesce((SELECT max(revision) FROM chat_activity), 0))
  END)::text`;

export const NO_REVISION_CAP = '9223372036854775807';
/** Stands for "recorded at any time" (drivers do not all pass 'infinity' through). */
export const ANY_TIME = '9999-12-31T23:59:59.999Z';
const SETTLE_WAIT_MS = 5_000;

/**
 * How a read finds its revision: every query that supports point reads returns
 * `VISIBLE_WATERMARK` computed in the same statement. When the statement's snapshot had
 * no transaction in flight, that is the revision its rows are complete at (one round trip).
 * Otherwise the read waits for the revisions taken so far to settle and runs again capped at them.
 */
export async function readAtPoint<T>(
  db: Queryable,
  request: PointRequest,
  now: number,
  read: (cap: ReadCap) => Promise<{ result: T; visibleRevision: string | null }>,
): Promise<{ result: T; point: Point }> {
  if (request.kind === 'atRevision') {
    const { revision, at } = await settleRevision(db, request.revision, request.where);
    const { result } = await read({ revision, at, recordedBy: ANY_TIME });
    return { result, point: { revision, at, recordedBy: null } };
  }
  const at = request.kind === 'asOf' ? request.at : now;
  if (request.kind === 'asOf') notInFuture(request, now);
  const recordedBy = request.kind === 'asOf' ? new Date(request.at).toISOString() : ANY_TIME;
  const first = await read({ revision: NO_REVISION_CAP, at, recordedBy });
  if (first.visibleRevision !== null) {
    return { result: first.result, point: { revision: first.visibleRevision, at, recordedBy: request.kind === 'asOf' ? request.at : null } };
  }
  const revision = await settledRevision(db);
  const second = await read({ revision, at, recordedBy });
  return { result: second.result, point: { revision, at, recordedBy: request.kind === 'asOf' ? request.at : null } };
}

/** The newest revision taken, once every revision up to it has committed or been abandoned. */
export async function settledRevision(db: Queryable): Promise<string> {
  try {
    const rows = await db.query<{ r: string }>('SELECT consent_settled_revision($1)::text AS r', [SETTLE_WAIT_MS]);
    return rows[0].r;
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') throw unavailable('recent writes have not settled yet; retry');
    throw err;
  }
}

/**
 * Waits until `revision` has settled and returns the time the rules apply at for it: the latest
 * recording time among the facts up to it, so that the same revision always gives the same answer.
 */
export async function settleRevision(db: Queryable, revision: string, where = 'query'): Promise<{ revision: string; at: number }> {
  const rows = await db.query<{ wm: string | null; at: number | null }>(
    `SELECT ${VISIBLE_WATERMARK} AS wm,
            (extract(epoch FROM greatest(
              (SELECT occurred_at FROM audit_events WHERE revision <= $1 ORDER BY revision DESC LIMIT 1),
              (SELECT recorded_at FROM chat_activity WHERE revision <= $1 ORDER BY revision DESC LIMIT 1))) * 1000)::float8 AS at`,
    [revision],
  );
  let { wm, at } = rows[0];
  if (wm === null || BigInt(wm) < BigInt(revision)) {
    const newest = await settledRevision(db);
    if (BigInt(revision) > BigInt(newest)) {
      throw badRequest(`atRevision ${revision} is beyond the newest revision ${newest}`, [
        { path: `${where}.atRevision`, message: `must be at most ${newest}` },
      ]);
    }
    if (wm === null || BigInt(wm) < BigInt(revision)) {
      // Facts up to the revision may have committed since the first statement: read the time again.
      const again = await db.query<{ at: number | null }>(
        `SELECT (extract(epoch FROM greatest(
           (SELECT occurred_at FROM audit_events WHERE revision <= $1 ORDER BY revision DESC LIMIT 1),
           (SELECT recorded_at FROM chat_activity WHERE revision <= $1 ORDER BY revision DESC LIMIT 1))) * 1000)::float8 AS at`,
        [revision],
      );
      at = again[0].at;
    }
  }
  return { revision, at: at ?? 0 };
}

/** Parses the `asOf` / `atRevision` query parameters of a read. */
export function pointRequest(query: { asOf?: string; atRevision?: string }, where = 'query'): PointRequest {
  if (query.asOf !== undefined && query.atRevision !== undefined) {
    throw badRequest('asOf and atRevision cannot be used together', [
      { path: `${where}.asOf`, message: 'use either asOf or atRevision' },
    ]);
  }
  if (query.asOf !== undefined) return { kind: 'asOf', at: Date.parse(query.asOf), where };
  if (query.atRevision !== undefined) return { kind: 'atRevision', revision: BigInt(query.atRevision).toString(), where };
  return { kind: 'now' };
}

function notInFuture(request: { at: number; where?: string }, now: number): void {
  if (request.at > now) {
    throw badRequest('asOf is in the future', [{ path: `${request.where ?? 'query'}.asOf`, message: 'must not be in the future' }]);
  }
}

/** The point a multi-statement read (a stream) is evaluated at, fixed before it starts. */
export async function resolvePoint(db: Queryable, request: PointRequest, now: number): Promise<Point> {
  if (request.kind === 'atRevision') {
    const { revision, at } = await settleRevision(db, request.revision, request.where);
    return { revision, at, recordedBy: null };
  }
  if (request.kind === 'asOf') notInFuture(request, now);
  const rows = await db.query<{ wm: string | null }>(`SELECT ${VISIBLE_WATERMARK} AS wm`);
  const revision = rows[0].wm ?? (await settledRevision(db));
  return request.kind === 'asOf' ? { revision, at: request.at, recordedBy: request.at } : { revision, at: now, recordedBy: null };
}
