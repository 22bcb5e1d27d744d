import { createHmac, randomUUID } from 'node:crypto';
import type { WriteContext } from '../audit/append.js';
import { hashEvent, type AuditEvent } from '../audit/hash.js';
import type { Database } from '../db/client.js';
import type { SettledRevisions } from '../db/point.js';
import { AppError, notFound } from '../errors.js';
import type { Signer } from '../proof/signing-keys.js';
import { runWrite, type IdempotencyRequest, type WriteResult } from './write.js';

/** What the erasure event records as its actor when the user erased itself: not the user's id. */
export const ERASED_SELF = 'erased-user';

export interface ErasureView {
  userId: string;
  erasedAt: string;
  revision: string;
}

/**
 * Erases a user (SPEC §6, docs/decisions/0020): in one transaction, under the lock of the user's
 * chain, every row that holds its id, its chats' ids or what it wrote is deleted (the user, its
 * chats and their activity, the personal part of its audit events, the responses stored for its
 * writes), and a `user.erased` event that names no one closes its chain. The events stay in the
 * append-only log with their hashes, and are returned redacted from then on.
 */
export class ErasureService {
  constructor(
    private readonly db: Database,
    private readonly settled: SettledRevisions,
    private readonly signer: Signer,
  ) {}

  /** A keyed hash: what the erasure's own stored response is filed under, so that it names no one. */
  private pseudonym(value: string): string {
    return `hmac:${createHmac('sha256', this.signer.pseudonymKey).update(value).digest('hex')}`;
  }

  async erase(ctx: WriteContext, idem: IdempotencyRequest | null, userId: string, selfErasure: boolean): Promise<WriteResult> {
    let filed: IdempotencyRequest | null = null;
    if (idem !== null) {
      // The key in plain, used for another request, is a reuse; the erasure's own record names
      // neither the user (path, body, a consent:self caller's sub) nor a key that may hold its id.
      const plain = await this.db.query('SELECT 1 FROM idempotency_keys WHERE sub = $1 AND key = $2', [idem.sub, idem.key]);
      if (plain.length > 0) throw new AppError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
      filed = { sub: selfErasure ? this.pseudonym(idem.sub) : idem.sub, key: this.pseudonym(idem.key), fingerprint: this.pseudonym(idem.fingerprint) };
    }
    const actor = selfErasure ? { sub: ERASED_SELF, kind: 'user' as const } : ctx.actor;
    const result = await runWrite(this.db, this.settled, filed, async (tx) => {
      const [user] = await tx.query<{ head_hash: string; revision: string }>(
        `WITH w AS (SELECT consent_begin_write())
         SELECT u.head_hash, nextval('revision_seq')::text AS revision FROM users u, w WHERE u.user_id = $1 FOR UPDATE OF u`,
        [userId],
      );
      if (user === undefined) throw notFound(`user ${userId} is not known`);
      // The chats first, in a statement of their own: it waits for activity reports that hold a
      // chat (FOR KEY SHARE), and the next statement, with a snapshot taken after they committed,
      // deletes the activity they recorded. Reports that come later find no chat.
      const chats = await tx.query<{ chat_id: string }>('DELETE FROM chats WHERE user_id = $1 RETURNING chat_id', [userId]);
      const counted = await tx.query<{ events: number }>(
        `WITH gone_activity AS (DELETE FROM chat_activity WHERE chat_id = ANY($2::text[])),
           gone_events AS (DELETE FROM audit_event_personal WHERE user_id = $1 RETURNING revision),
           gone_responses AS (DELETE FROM idempotency_keys WHERE user_id = $1 OR sub = $1),
           gone_user AS (DELETE FROM users WHERE user_id = $1)
         SELECT (SELECT count(*) FROM gone_events)::int AS events`,
        [userId, chats.map((c) => c.chat_id)],
      );
      const event: Omit<AuditEvent, 'hash'> = {
        revision: user.revision,
        eventId: randomUUID(),
        type: 'user.erased',
        userId: null,
        data: { redactedEvents: counted[0].events },
        actor,
        occurredAt: ctx.now.toISOString(),
        requestId: ctx.requestId,
        prevHash: user.head_hash,
      };
      const hash = hashEvent(event);
      tx.defer(
        `WITH e AS (INSERT INTO audit_events (revision, event_id, type, actor_kind, occurred_at, prev_hash, hash)
                    VALUES ($1::bigint, $2, 'user.erased', $3, $4::timestamptz, $5, $6))
         INSERT INTO audit_event_personal (revision, user_id, chat_id, data, actor_sub, request_id)
         VALUES ($1::bigint, NULL, NULL, $7::text::jsonb, $8, $9)`,
        [event.revision, event.eventId, actor.kind, event.occurredAt, event.prevHash, hash, JSON.stringify(event.data), actor.sub, event.requestId],
      );
      // The stored response names no user: the id is put back from the request on the way out.
      return { status: 200, body: { erasedAt: event.occurredAt, revision: event.revision }, userId: null };
    });
    const body = result.body as Omit<ErasureView, 'userId'>;
    return { ...result, body: { userId, erasedAt: body.erasedAt, revision: body.revision } satisfies ErasureView };
  }
}
