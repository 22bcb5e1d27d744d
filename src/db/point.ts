import { badRequest, unavailable } from '../errors.js';
import type { Database, Queryable } from './client.js';

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

/**
 * What a point read's SQL is given. The revision cap is always parameter `$2`, written in the SQL
 * as `CAP`: when it is null the statement takes the settled revision its connection has just
 * computed (see `Database.settledQuery`).
 */
export interface ReadCap {
  /** The revision cap, or null for "the revision settled just before this statement". */
  revision: string | null;
  at: number;
  /** ISO time facts must be recorded at or before (ANY_TIME when any). */
  recordedBy: string;
}

/** The revision cap in a point read's SQL: parameter $2, or the settled revision when it is null. */
export const CAP = `coalesce($2::bigint, current_setting('consent.settled_revision', true)::bigint)`;

export const NO_REVISION_CAP = '9223372036854775807';
/** Stands for "recorded at any time" (drivers do not all pass 'infinity' through). */
export const ANY_TIME = '9999-12-31T23:59:59.999Z';
export const SETTLE_WAIT_MS = 5_000;

/** Runs `consent_settled_revision` and keeps its result for the next statement of the connection. */
export const SETTLE_SQL = `SELECT set_config('consent.settled_revision', consent_settled_revision(${SETTLE_WAIT_MS})::text, false) AS r`;

export function settleFailed(err: unknown): never {
  if ((err as { code?: string }).code === '55P03') throw unavailable('recent writes have not settled yet; retry');
  throw err;
}

/**
 * Reads at a point (docs/decisions/0001). For "now" and `asOf`, the revisions taken so far are
 * settled first (every writer that could still commit one has ended) and the read runs after, in
 * a statement whose snapshot therefore holds every fact up to that revision: on PostgreSQL both go
 * in one round trip. `atRevision` settles, checks the revision exists and finds its time first.
 */
export async function readAtPoint<T>(
  db: Database,
  request: PointRequest,
  now: number,
  query: (cap: ReadCap) => { text: string; params: unknown[] },
): Promise<{ rows: T[]; point: Point }> {
  if (request.kind === 'atRevision') {
    const { revision, at } = await settleRevision(db, request.revision, request.where);
    const { text, params } = query({ revision, at, recordedBy: ANY_TIME });
    return { rows: await db.query<T>(text, params), point: { revision, at, recordedBy: null } };
  }
  if (request.kind === 'asOf') notInFuture(request, now);
  const at = request.kind === 'asOf' ? request.at : now;
  const recordedBy = request.kind === 'asOf' ? new Date(request.at).toISOString() : ANY_TIME;
  const { text, params } = query({ revision: null, at, recordedBy });
  const { settled, rows } = await db.settledQuery<T>(text, params).catch(settleFailed);
  return { rows, point: { revision: settled, at, recordedBy: request.kind === 'asOf' ? request.at : null } };
}

/** The newest revision taken, once every revision up to it has committed or been abandoned. */
export async function settledRevision(db: Queryable): Promise<string> {
  const rows = await db.query<{ r: string }>('SELECT consent_settled_revision($1)::text AS r', [SETTLE_WAIT_MS]).catch(settleFailed);
  return rows[0].r;
}

/**
 * Waits until `revision` has settled and returns the time the rules apply at for it: the latest
 * recording time among the facts up to it, so that the same revision always gives the same answer.
 */
export async function settleRevision(db: Queryable, revision: string, where = 'query'): Promise<{ revision: string; at: number }> {
  const newest = await settledRevision(db);
  if (BigInt(revision) > BigInt(newest)) {
    throw badRequest(`atRevision ${revision} is beyond the newest revision ${newest}`, [
      { path: `${where}.atRevision`, message: `must be at most ${newest}` },
    ]);
  }
  const rows = await db.query<{ at: number | null }>(
    `SELECT (extract(epoch FROM greatest(
       (SELECT occurred_at FROM audit_events WHERE revision <= $1 ORDER BY revision DESC LIMIT 1),
       (SELECT recorded_at FROM chat_activity WHERE revision <= $1 ORDER BY revision DESC LIMIT 1))) * 1000)::float8 AS at`,
    [revision],
  );
  return { revision, at: rows[0].at ?? 0 };
}

/** Parses the `asOf` / `atRevision` parameters of a read. */
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
  const revision = await settledRevision(db);
  return request.kind === 'asOf' ? { revision, at: request.at, recordedBy: request.at } : { revision, at: now, recordedBy: null };
}
