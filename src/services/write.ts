import type { Database, Queryable, Transaction } from '../db/client.js';
import type { SettledRevisions } from '../db/point.js';
import { AppError } from '../errors.js';

export interface IdempotencyRequest {
  sub: string;
  key: string;
  /** Hash of method, path and body: the same key with another request is refused. */
  fingerprint: string;
}

export interface WriteResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** True when the response is a stored one, replayed for a retry. */
  replayed?: boolean;
  /** The user the write was about: its stored response goes when the user is erased. */
  userId?: string | null;
}

/** The unique violation of another request's Idempotency-Key (postgres.js and PGlite name its fields differently). */
function isKeyTaken(err: unknown): boolean {
  const e = err as { code?: string; constraint_name?: string; constraint?: string } | null;
  return e?.code === '23505' && (e.constraint_name ?? e.constraint) === 'idempotency_keys_sub_key_pk';
}

/** Keys are kept at least this long (SPEC: 24 hours); older ones are pruned. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

async function storedResponse(db: Queryable, idem: IdempotencyRequest): Promise<WriteResult | null> {
  const rows = await db.query<{ fingerprint: string; status_code: number; headers: Record<string, string>; body: string | null }>(
    'SELECT fingerprint, status_code, headers, body FROM idempotency_keys WHERE sub = $1 AND key = $2',
    [idem.sub, idem.key],
  );
  const row = rows[0];
  if (!row) return null;
  if (row.fingerprint !== idem.fingerprint) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
  }
  return {
    status: row.status_code,
    headers: row.headers,
    body: row.body === null ? null : JSON.parse(row.body),
    replayed: true,
  };
}

/**
 * Runs a write in one transaction. With an Idempotency-Key, a retry of the same request gets the
 * stored response and writes nothing; the response is stored in the same transaction as the write,
 * so a failed request stores nothing either. A concurrent duplicate waits on the key's row and then
 * replays the winner's response.
 */
export async function runWrite(
  db: Database,
  settled: SettledRevisions,
  idem: IdempotencyRequest | null,
  write: (tx: Transaction) => Promise<WriteResult>,
): Promise<WriteResult> {
  if (idem) {
    const stored = await storedResponse(db, idem);
    if (stored) return stored;
  }
  try {
    const result = await db.transaction(async (tx) => {
      const result = await write(tx);
      if (idem) {
        // Sent with the COMMIT. A concurrent request with the same key that committed first makes
        // it fail (unique violation) and this whole write roll back.
        tx.defer(
          `INSERT INTO idempotency_keys (sub, key, fingerprint, status_code, headers, body, created_at, user_id)
           VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, now(), $7)`,
          [
            idem.sub,
            idem.key,
            idem.fingerprint,
            result.status,
            JSON.stringify(result.headers ?? {}),
            result.body === undefined ? null : JSON.stringify(result.body),
            result.userId ?? null,
          ],
        );
      }
      return result;
    });
    // This process's later reads must include the write.
    const audited = (result.body as { revision?: unknown } | null | undefined)?.revision;
    const revision = (result as { revision?: unknown }).revision ?? audited;
    if (typeof revision === 'string') settled.noteCommitted(revision);
    if (typeof audited === 'string' && !result.replayed) settled.onAudited?.(audited);
    return result;
  } catch (err) {
    if (idem && isKeyTaken(err)) {
      const stored = await storedResponse(db, idem);
      if (stored) return stored;
    }
    throw err;
  }
}

export async function pruneIdempotencyKeys(db: Queryable, now: number): Promise<void> {
  await db.query('DELETE FROM idempotency_keys WHERE created_at < $1::timestamptz', [new Date(now - IDEMPOTENCY_TTL_MS).toISOString()]);
}
