/**
 * Seeding WITH SQL, NOT THROUGH THE API, for the statistics bench only: a million chats through
 * the API take 25-45 minutes on the reference machine. It writes the rows the API's writes would
 * have written had they been made at the seeded times: terms acceptances (with plan and choice),
 * choices in settings, plan changes and chat registrations, each with its audit event hashed and
 * chained by the service's own code (src/audit/hash.ts), users' facts and chain heads, chats and
 * their activity, and the revision sequence moved past them. The run then checks a sample through
 * the API: chains verify, consents and eligibility are what was seeded.
 */
import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { GENESIS_HASH, hashEvent, type AuditEvent } from '../../src/audit/hash.js';
import { mulberry32 } from './stats.js';

export const POLICY_START = Date.parse('2025-08-28T00:00:00.000Z');
export const DEADLINE = Date.parse('2025-09-28T00:00:00.000Z');
const DAY = 86_400_000;

export const SURFACES = ['web', 'web', 'web', 'web', 'web', 'ios', 'ios', 'android', 'android', 'desktop'] as const;
/** Pop-up variants as a product might have run them: what they showed, and how often users granted in each. */
export const VARIANTS = [
  { uiVariant: 'small-toggle-on', trainingToggleDefault: true, trainingToggleShown: true, share: 0.6, grantRate: 0.88 },
  { uiVariant: 'large-toggle-off', trainingToggleDefault: false, trainingToggleShown: true, share: 0.25, grantRate: 0.42 },
  { uiVariant: 'no-toggle', trainingToggleDefault: true, trainingToggleShown: false, share: 0.15, grantRate: 1 },
] as const;


export const userIdOf = (i: number) => `stat-u-${String(i).padStart(6, '0')}`;
export const chatIdOf = (i: number) => `stat-c-${String(i).padStart(7, '0')}`;

/** What was seeded for a user, for checking it through the API. */
export interface SeededUser {
  plan: string;
  /** The latest choice, null when none. */
  choice: 'granted' | 'denied' | null;
}

interface Stub {
  at: number;
  user: number;
  events: { type: string; chatId?: string; data: Record<string, unknown> }[];
  chat?: { chatId: string; createdAt: number };
}

/**
 * Users: 70 % free, 15 % pro, 5 % max, 10 % on a commercial plan. 85 % accept the terms in the
 * pop-up (a variant of VARIANTS, on a surface of SURFACES), more of them as the deadline nears, and
 * choose there; the others only get a plan (undecided, then the default). One in ten who chose
 * changes the choice later in settings. Chat i belongs to user i mod users, created after its user.
 */
function plan(users: number, chats: number): { stubs: Stub[]; seeded: SeededUser[] } {
  const rnd = mulberry32(14);
  const stubs: Stub[] = [];
  const seeded: SeededUser[] = [];
  const firstAt: number[] = [];
  for (let u = 0; u < users; u++) {
    const p = rnd();
    const userPlan = p < 0.7 ? 'free' : p < 0.85 ? 'pro' : p < 0.9 ? 'max' : ['team', 'enterprise', 'api', 'education', 'government'][u % 5];
    // Days from the announcement: most in the last week before the deadline, a tail after it.
    const r = rnd();
    const day = r < 0.35 ? rnd() * 23 : r < 0.85 ? 23 + rnd() * 8 : 31 + rnd() * 30;
    const at = POLICY_START + Math.floor(day * DAY);
    firstAt.push(at);
    const surface = SURFACES[Math.floor(rnd() * SURFACES.length)];
    let choice: SeededUser['choice'] = null;
    if (rnd() < 0.85) {
      const v = rnd();
      const variant = v < VARIANTS[0].share ? VARIANTS[0] : v < VARIANTS[0].share + VARIANTS[1].share ? VARIANTS[1] : VARIANTS[2];
      choice = rnd() < variant.grantRate ? 'granted' : 'denied';
      stubs.push({
        at,
        user: u,
        events: [
          {
            type: 'terms.accepted',
            data: {
              acceptanceId: randomUUID(),
              policyVersion: '2025-09-28',
              surface,
              trainingChoice: choice,
              presentation: {
                trainingToggleDefault: variant.trainingToggleDefault,
                trainingToggleShown: variant.trainingToggleShown,
                locale: 'en-GB',
                uiVariant: variant.uiVariant,
              },
            },
          },
          { type: 'user.plan_changed', data: { plan: userPlan } },
          { type: 'consent.choice_recorded', data: { choice, surface } },
        ],
      });
      if (rnd() < 0.1) {
        const later = at + Math.floor(rnd() * 20 * DAY);
        choice = rnd() < 0.7 ? 'denied' : 'granted';
        stubs.push({ at: later, user: u, events: [{ type: 'consent.choice_recorded', data: { choice, surface: 'web' } }] });
      }
    } else {
      stubs.push({ at, user: u, events: [{ type: 'user.plan_changed', data: { plan: userPlan } }] });
    }
    seeded.push({ plan: userPlan, choice });
  }
  for (let c = 0; c < chats; c++) {
    const u = c % users;
    const createdAt = firstAt[u] + 60_000 + Math.floor(rnd() * 60 * DAY);
    const chatId = chatIdOf(c);
    stubs.push({
      at: createdAt,
      user: u,
      events: [{ type: 'chat.registered', chatId, data: { createdAt: new Date(createdAt).toISOString(), incognito: false } }],
      chat: { chatId, createdAt },
    });
  }
  stubs.sort((a, b) => a.at - b.at || a.user - b.user);
  return { stubs, seeded };
}

const BATCH = 5_000;

/** Seeds `users` users and `chats` chats into a migrated, empty database. */
export async function seedWithSql(
  sql: postgres.Sql,
  users: number,
  chats: number,
  progress: (line: string) => void,
): Promise<{ seeded: SeededUser[]; events: number; lastRevision: number }> {
  const { stubs, seeded } = plan(users, chats);
  const heads: string[] = new Array(users).fill(GENESIS_HASH);
  const headRevision: number[] = new Array(users).fill(0);
  const created: { at: number; revision: number }[] = new Array(users);
  const facts: { seq: number; type: string; data: Record<string, unknown>; at: number }[][] = Array.from({ length: users }, () => []);
  // Revisions start past whatever the migrations took (the seeded policy's event).
  const [{ last }] = await sql<{ last: string }[]>`SELECT last_value::text AS last FROM revision_seq`;
  let revision = Number(last);
  let events: AuditEvent[] = [];
  let chatRows: { chatId: string; userId: string; at: string; revision: number }[] = [];
  let written = 0;
  const flush = async () => {
    if (events.length > 0) {
      // The log and each event's personal part (decision 0020), as the service writes them.
      await sql`WITH x AS (SELECT * FROM unnest(${sql.array(events.map((e) => e.revision))}::text[], ${sql.array(events.map((e) => e.eventId))}::text[],
            ${sql.array(events.map((e) => e.type))}::text[], ${sql.array(events.map((e) => e.userId!))}::text[],
            ${sql.array(events.map((e) => e.chatId ?? null) as string[])}::text[], ${sql.array(events.map((e) => JSON.stringify(e.data)))}::text[],
            ${sql.array(events.map((e) => e.occurredAt))}::text[], ${sql.array(events.map((e) => e.requestId))}::text[],
            ${sql.array(events.map((e) => e.prevHash))}::text[], ${sql.array(events.map((e) => e.hash))}::text[])
          AS x(r, e, t, u, c, d, o, q, p, h)),
        personal AS (INSERT INTO audit_event_personal (revision, user_id, chat_id, data, actor_sub, request_id)
          SELECT r::bigint, u, c, d::jsonb, 'bench-seed', q FROM x)
        INSERT INTO audit_events (revision, event_id, type, actor_kind, occurred_at, prev_hash, hash)
          SELECT r::bigint, e, t, 'service', o::timestamptz, p, h FROM x`;
      written += events.length;
      events = [];
    }
    if (chatRows.length > 0) {
      const ids = sql.array(chatRows.map((c) => c.chatId));
      const owners = sql.array(chatRows.map((c) => c.userId));
      const ats = sql.array(chatRows.map((c) => c.at));
      const revs = sql.array(chatRows.map((c) => String(c.revision)));
      await sql`WITH x AS (SELECT * FROM unnest(${ids}::text[], ${owners}::text[], ${ats}::text[], ${revs}::text[]) AS x(c, u, a, r)),
        chat AS (INSERT INTO chats (chat_id, user_id, created_at, incognito, registered_at, registered_revision,
            last_activity_at, last_activity_revision, last_activity_recorded_at)
          SELECT c, u, a::timestamptz, false, a::timestamptz, r::bigint, a::timestamptz, r::bigint, a::timestamptz FROM x)
        INSERT INTO chat_activity (chat_id, revision, at, recorded_at) SELECT c, r::bigint, a::timestamptz, a::timestamptz FROM x`;
      chatRows = [];
    }
    progress(`  seeded ${written.toLocaleString('en-US')} events`);
  };

  for (const stub of stubs) {
    const userId = userIdOf(stub.user);
    const occurredAt = new Date(stub.at).toISOString();
    const requestId = randomUUID();
    for (const e of stub.events) {
      revision++;
      const event: Omit<AuditEvent, 'hash'> = {
        revision: String(revision),
        eventId: randomUUID(),
        type: e.type,
        userId,
        ...(e.chatId !== undefined ? { chatId: e.chatId } : {}),
        data: e.data,
        actor: { sub: 'bench-seed', kind: 'service' },
        occurredAt,
        requestId,
        prevHash: heads[stub.user],
      };
      const full = { ...event, hash: hashEvent(event) };
      heads[stub.user] = full.hash;
      headRevision[stub.user] = revision;
      created[stub.user] ??= { at: stub.at, revision };
      if (e.type === 'user.plan_changed' || e.type === 'consent.choice_recorded') {
        facts[stub.user].push({ seq: revision, type: e.type, data: e.data, at: stub.at });
      }
      events.push(full);
    }
    if (stub.chat) chatRows.push({ chatId: stub.chat.chatId, userId, at: occurredAt, revision });
    if (events.length >= BATCH) await flush();
  }
  await flush();

  for (let from = 0; from < users; from += BATCH) {
    const to = Math.min(users, from + BATCH);
    const range = Array.from({ length: to - from }, (_, k) => from + k);
    await sql`INSERT INTO users (user_id, created_at, created_revision, head_hash, head_revision, facts)
      SELECT u, a::timestamptz, cr::bigint, h, hr::bigint, f::jsonb
        FROM unnest(${sql.array(range.map(userIdOf))}::text[], ${sql.array(range.map((u) => new Date(created[u].at).toISOString()))}::text[],
          ${sql.array(range.map((u) => String(created[u].revision)))}::text[], ${sql.array(range.map((u) => heads[u]))}::text[],
          ${sql.array(range.map((u) => String(headRevision[u])))}::text[], ${sql.array(range.map((u) => JSON.stringify(facts[u])))}::text[])
        AS x(u, a, cr, h, hr, f)`;
  }
  await sql`SELECT setval('revision_seq', ${revision})`;
  return { seeded, events: written, lastRevision: revision };
}
