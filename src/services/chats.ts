import { beginUserWrite, type WriteContext } from '../audit/append.js';
import type { Database, Queryable, Transaction } from '../db/client.js';
import { NOW, type PointRequest, type SettledRevisions } from '../db/point.js';
import { ReadRouter } from '../db/read-router.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { runWrite, type IdempotencyRequest, type WriteResult } from './write.js';

/** Activity and creation times may run ahead of the server clock by at most this much. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

export interface ChatView {
  chatId: string;
  userId: string;
  createdAt: string;
  lastActivityAt: string | null;
  incognito: boolean;
  deletedAt: string | null;
  flags: { type: string; flaggedAt: string }[];
  revision: string;
}

interface ChatRecord {
  chat_id: string;
  user_id: string;
  created_at: Date;
  incognito: boolean;
  deleted_at: Date | null;
  flags: { type: string; flaggedAt: string; revision: string }[];
  last_activity_at: Date | null;
  revision: string;
}

const chatSelect = `SELECT c.chat_id, c.user_id, c.created_at, c.incognito, c.deleted_at, c.flags,
    c.last_activity_at,
    greatest(c.registered_revision, c.deleted_revision,
      (SELECT max((f->>'revision')::bigint) FROM jsonb_array_elements(c.flags) f))::text AS revision
  FROM chats c WHERE c.chat_id = $1`;

function chatView(c: ChatRecord, revision = c.revision): ChatView {
  return {
    chatId: c.chat_id,
    userId: c.user_id,
    createdAt: c.created_at.toISOString(),
    lastActivityAt: c.last_activity_at?.toISOString() ?? null,
    incognito: c.incognito,
    deletedAt: c.deleted_at?.toISOString() ?? null,
    flags: c.flags.map((f) => ({ type: f.type, flaggedAt: f.flaggedAt })),
    revision,
  };
}

function notInFuture(field: string, value: number, now: number): void {
  if (value > now + MAX_FUTURE_SKEW_MS) {
    throw badRequest(`${field} is more than 5 minutes in the future`, [{ path: field, message: 'must not be more than 5 minutes in the future' }]);
  }
}

async function loadChat(q: Queryable, chatId: string, lock = false): Promise<ChatRecord | null> {
  const rows = await q.query<ChatRecord>(lock ? `${chatSelect} FOR UPDATE OF c` : chatSelect, [chatId]);
  return rows[0] ?? null;
}

/** Who may act on a chat: anyone the route allowed, or only its owner for a consent:self caller. */
export type OwnerCheck = (ownerUserId: string) => void;

export class ChatService {
  /** Writes go to `db`, the primary; reads where `reads` sends them. */
  constructor(
    private readonly db: Database,
    private readonly settled: SettledRevisions,
    private readonly reads: ReadRouter = new ReadRouter({ name: 'primary', db, settled }),
  ) {}

  /** Every chat of a user, by chatId (an export). */
  async listForUser(userId: string): Promise<ChatView[]> {
    const rows = await this.db.query<ChatRecord>(`${chatSelect.replace('WHERE c.chat_id = $1', 'WHERE c.user_id = $1')} ORDER BY c.chat_id`, [userId]);
    return rows.map((c) => chatView(c));
  }

  /** The chat as stored now; `request` carries a minRevision. */
  async get(chatId: string, checkOwner: OwnerCheck, request: PointRequest = NOW): Promise<ChatView> {
    const chat = await this.reads.run(request, (src) => loadChat(src.db, chatId));
    if (!chat) throw notFound(`chat ${chatId} is not registered`);
    checkOwner(chat.user_id);
    return chatView(chat);
  }

  /**
   * Pages of several users' chats ordered by chatId (byte order), in one statement: for each
   * request at most `limit` chats after `after`, and whether there are more.
   */
  async pagesOf(
    requests: readonly { userId: string; after: string; limit: number }[],
    request: PointRequest = NOW,
  ): Promise<{ items: ChatView[]; more: boolean }[]> {
    const rows = await this.reads.run(request, (src) => src.db.query<ChatRecord & { page: number }>(
      `SELECT q.page, p.* FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS q(user_id, after, lim, page)
         CROSS JOIN LATERAL (${chatSelect.replace('WHERE c.chat_id = $1', `WHERE c.user_id = q.user_id AND c.chat_id > q.after ORDER BY c.chat_id LIMIT q.lim + 1`)}) p
        ORDER BY q.page, p.chat_id`,
      [requests.map((r) => r.userId), requests.map((r) => r.after), requests.map((r) => r.limit)],
    ));
    const pages = requests.map(() => ({ items: [] as ChatView[], more: false }));
    for (const row of rows) {
      const i = Number(row.page) - 1;
      if (pages[i].items.length === requests[i].limit) pages[i].more = true;
      else pages[i].items.push(chatView(row));
    }
    return pages;
  }

  /**
   * Registers a chat, or confirms an existing registration. `userId`, `incognito` and `createdAt`
   * never change: a registration that contradicts the existing one is a conflict, one that matches
   * it changes nothing and appends no event.
   */
  async register(
    ctx: WriteContext,
    idem: IdempotencyRequest | null,
    chatId: string,
    input: { userId: string; createdAt?: string; incognito?: boolean },
  ): Promise<WriteResult> {
    const now = ctx.now.getTime();
    const createdAt = input.createdAt === undefined ? now : Date.parse(input.createdAt);
    notInFuture('createdAt', createdAt, now);
    return runWrite(this.db, this.settled, idem, async (tx) => {
      const { chain } = await beginUserWrite(tx, ctx, input.userId, { reserve: 1 });
      const existing = await loadChat(tx, chatId, true);
      if (existing) {
        if (existing.user_id !== input.userId) throw conflict(`chat ${chatId} belongs to another user; userId never changes`);
        if (input.incognito !== undefined && input.incognito !== existing.incognito) {
          throw conflict(`chat ${chatId} is ${existing.incognito ? '' : 'not '}incognito; incognito never changes`);
        }
        if (input.createdAt !== undefined && createdAt !== existing.created_at.getTime()) {
          throw conflict(`chat ${chatId} was created at ${existing.created_at.toISOString()}; createdAt never changes`);
        }
        return { status: 200, body: chatView(existing), userId: input.userId };
      }
      const incognito = input.incognito ?? false;
      const createdIso = new Date(createdAt).toISOString();
      const [event] = await chain.append({ type: 'chat.registered', chatId, data: { createdAt: createdIso, incognito } });
      try {
        await tx.query(
          `WITH chat AS (INSERT INTO chats (chat_id, user_id, created_at, incognito, registered_at, registered_revision,
               last_activity_at, last_activity_revision, last_activity_recorded_at)
             VALUES ($1, $2, $3::timestamptz, $4, $5::timestamptz, $6::bigint, $3::timestamptz, $6::bigint, $5::timestamptz))
           INSERT INTO chat_activity (chat_id, revision, at, recorded_at) VALUES ($1, $6::bigint, $3::timestamptz, $5::timestamptz)`,
          [chatId, input.userId, createdIso, incognito, ctx.now.toISOString(), event.revision],
        );
      } catch (err) {
        // Registered at the same moment for another user (whose chain this write did not lock).
        if ((err as { code?: string }).code === '23505') throw conflict(`chat ${chatId} was registered concurrently`);
        throw err;
      }
      const view: ChatView = {
        chatId,
        userId: input.userId,
        createdAt: createdIso,
        lastActivityAt: createdIso,
        incognito,
        deletedAt: null,
        flags: [],
        revision: event.revision,
      };
      return { status: 201, body: view, headers: { location: `/v1/chats/${encodeURIComponent(chatId)}` }, userId: input.userId };
    });
  }

  /**
   * Records that the chat was used at `at`. Not audited, and a single statement without a
   * transaction of its own: frontends may call it on every message.
   */
  async reportActivity(
    ctx: WriteContext,
    idem: IdempotencyRequest | null,
    chatId: string,
    at: number,
    ownerMustBe: string | null,
  ): Promise<WriteResult> {
    notInFuture('at', at, ctx.now.getTime());
    const record = async (q: Queryable): Promise<WriteResult & { revision?: string | null }> => {
      const rows = await q.query<{ user_id: string; deleted: boolean; revision: string | null }>(
        // FOR KEY SHARE: an erasure deleting the chat waits for this report, or this report for it, so
        // that no activity of an erased user's chat is left behind.
        `WITH c AS (SELECT chat_id, user_id, deleted_at FROM chats WHERE chat_id = $1 FOR KEY SHARE),
         ins AS (INSERT INTO chat_activity (chat_id, revision, at, recorded_at)
           SELECT c.chat_id, nextval('revision_seq'), $2::timestamptz, $3::timestamptz
             FROM c CROSS JOIN LATERAL (SELECT consent_begin_write()) w
            WHERE c.deleted_at IS NULL AND ($4::text IS NULL OR c.user_id = $4::text)
           RETURNING revision),
         latest AS (UPDATE chats SET last_activity_at = $2::timestamptz, last_activity_revision = ins.revision,
             last_activity_recorded_at = $3::timestamptz
           FROM ins WHERE chats.chat_id = $1 AND (chats.last_activity_at IS NULL OR chats.last_activity_at < $2::timestamptz))
         SELECT c.user_id, c.deleted_at IS NOT NULL AS deleted, (SELECT revision::text FROM ins) AS revision FROM c`,
        [chatId, new Date(at).toISOString(), ctx.now.toISOString(), ownerMustBe],
      );
      const row = rows[0];
      if (!row) throw notFound(`chat ${chatId} is not registered`);
      if (ownerMustBe !== null && row.user_id !== ownerMustBe) throw forbidden('a consent:self token may only act on its own chats');
      if (row.deleted) throw conflict(`chat ${chatId} is deleted`);
      return { status: 204, body: undefined, revision: row.revision, userId: row.user_id };
    };
    if (idem) return runWrite(this.db, this.settled, idem, record);
    const result = await record(this.db);
    // Not audited, but this process's later reads must count it all the same.
    if (result.revision) this.settled.noteCommitted(result.revision);
    return result;
  }

  async delete(ctx: WriteContext, idem: IdempotencyRequest | null, chatId: string, checkOwner: OwnerCheck): Promise<WriteResult> {
    return this.change(ctx, idem, chatId, checkOwner, async (tx, chat, append) => {
      if (chat.deleted_at !== null) return null;
      const revision = await append({ type: 'chat.deleted', chatId, data: {} });
      tx.defer('UPDATE chats SET deleted_at = $2::timestamptz, deleted_revision = $3::bigint WHERE chat_id = $1', [
        chatId,
        ctx.now.toISOString(),
        revision,
      ]);
      return revision;
    });
  }

  async flag(ctx: WriteContext, idem: IdempotencyRequest | null, chatId: string, type: string): Promise<WriteResult> {
    return this.change(ctx, idem, chatId, () => {}, async (tx, _chat, append) => {
      const revision = await append({ type: 'chat.flagged', chatId, data: { type } });
      const flag = { type, flaggedAt: ctx.now.toISOString(), revision };
      tx.defer(`UPDATE chats SET flags = flags || jsonb_build_array($2::text::jsonb) WHERE chat_id = $1`, [chatId, JSON.stringify(flag)]);
      return revision;
    });
  }

  /** A change to an existing chat, under its owner's chain lock; returns the chat as it now is. */
  private async change(
    ctx: WriteContext,
    idem: IdempotencyRequest | null,
    chatId: string,
    checkOwner: OwnerCheck,
    apply: (
      tx: Transaction,
      chat: ChatRecord,
      append: (e: { type: string; chatId: string; data: Record<string, unknown> }) => Promise<string>,
    ) => Promise<string | null>,
  ): Promise<WriteResult> {
    return runWrite(this.db, this.settled, idem, async (tx) => {
      const owner = await tx.query<{ user_id: string }>('SELECT user_id FROM chats WHERE chat_id = $1', [chatId]);
      if (owner.length === 0) throw notFound(`chat ${chatId} is not registered`);
      checkOwner(owner[0].user_id);
      const { chain } = await beginUserWrite(tx, ctx, owner[0].user_id, { reserve: 1 });
      const chat = await loadChat(tx, chatId, true);
      // Gone while this write waited for the owner's chain: its user was erased.
      if (chat === null || chat.user_id !== owner[0].user_id) throw notFound(`chat ${chatId} is not registered`);
      const revision = await apply(tx, chat, async (e) => (await chain.append(e))[0].revision);
      const now = (await loadChat(tx, chatId))!;
      return { status: 200, body: chatView(now, revision ?? now.revision), userId: owner[0].user_id };
    });
  }
}
