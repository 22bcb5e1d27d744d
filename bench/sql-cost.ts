/**
 * Diagnostic: what the service's read statements cost in PostgreSQL alone, next to the baseline's
 * primary-key SELECTs. One connection, statements run one after another (no HTTP, no concurrency),
 * so the figures are PostgreSQL execution + one loopback round trip each.
 *
 * Needs a seeded database left by `BENCH_KEEP_DB=1 npm run bench` (ids bench-c-*, bench-u-*):
 *   node --import tsx bench/sql-cost.ts            # BENCH_DB (consent_bench), BENCH_PG_URL, SQL_COST_RUNS
 *
 * The service's statements are rebuilt here from the helpers src/services/facts.ts and
 * src/db/point.ts export, to mirror singleSql / userReadSql / pageSql / batchSql in
 * src/services/{eligibility,consent}.ts as of this writing; if those change, this file needs the
 * same change (it measures what it says, not necessarily what the service runs today).
 */
import postgres from 'postgres';
import * as point from '../src/db/point.js';
import { chatColumns, policiesJson, USER_FACT_TYPES, userFactsJson } from '../src/services/facts.js';
import { median, percentile } from './lib/stats.js';

const base = new URL(process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) throw new Error('BENCH_PG_URL must be loopback');
base.pathname = `/${process.env.BENCH_DB || 'consent_bench'}`;
const runs = Number(process.env.SQL_COST_RUNS ?? 2000);

const { ANY_TIME, NO_REVISION_CAP } = point;
/** The watermark expression the service's point reads carry (older versions called a SQL function). */
const WATERMARK: string = (point as { VISIBLE_WATERMARK?: string }).VISIBLE_WATERMARK ?? 'consent_visible_watermark()::text';
const PAGE = Number(process.env.SQL_COST_PAGE ?? 5000);

const sql = postgres(base.toString(), { max: 1, prepare: true, onnotice: () => {} });
const q = (text: string, params: unknown[]) => sql.unsafe(text, params as never[], { prepare: true });

const CAP = ['$2::bigint', '$3::timestamptz', '$4::timestamptz'] as const;
const singleSql = `SELECT ${chatColumns(...CAP)},
    ${userFactsJson('c.user_id', CAP[0], CAP[1])} AS facts,
    ${policiesJson(CAP[0], CAP[1])} AS policies,
    ${WATERMARK} AS wm
  FROM (SELECT 1) one LEFT JOIN chats c ON c.chat_id = $1`;
const userReadSql = `SELECT u.user_id, (extract(epoch FROM u.created_at) * 1000)::float8 AS created_at,
    ${userFactsJson('u.user_id', '$2::bigint', '$3::timestamptz')} AS facts,
    ${policiesJson('$2::bigint', '$3::timestamptz')} AS policies,
    (SELECT json_build_object('revision', revision::text, 'at', (extract(epoch FROM occurred_at) * 1000)::float8, 'data', data)
       FROM audit_events WHERE user_id = u.user_id AND type = 'terms.accepted' AND revision <= $2::bigint AND occurred_at <= $3::timestamptz
      ORDER BY revision DESC LIMIT 1) AS terms,
    ${WATERMARK} AS wm
  FROM users u WHERE u.user_id = $1`;
const pageSql = `SELECT ${chatColumns(...CAP)} FROM chats c
  WHERE c.chat_id > $1 AND NOT c.incognito AND c.registered_revision <= ${CAP[0]} AND c.registered_at <= ${CAP[1]}
  ORDER BY c.chat_id LIMIT $5`;
const batchSql = `WITH c AS MATERIALIZED (SELECT ${chatColumns(...CAP)} FROM chats c WHERE c.chat_id = ANY($1::text[]))
  SELECT (SELECT coalesce(json_agg(c), '[]'::json) FROM c) AS chats,
    (SELECT coalesce(json_object_agg(f.user_id, f.facts), '{}'::json) FROM (
       SELECT e.user_id, json_agg(json_build_object('seq', e.revision, 'type', e.type, 'data', e.data,
           'at', (extract(epoch FROM e.occurred_at) * 1000)::float8) ORDER BY e.revision) AS facts
         FROM audit_events e
        WHERE e.user_id IN (SELECT DISTINCT user_id FROM c) AND ${USER_FACT_TYPES.replace('type', 'e.type')}
          AND e.revision <= ${CAP[0]} AND e.occurred_at <= ${CAP[1]}
        GROUP BY e.user_id) f) AS facts,
    ${policiesJson(CAP[0], CAP[1])} AS policies,
    ${WATERMARK} AS wm`;

const [{ chats, users }] = await sql`SELECT (SELECT count(*) FROM chats)::int AS chats, (SELECT count(*) FROM users)::int AS users`;
if (chats === 0) throw new Error(`no chats in ${base.pathname.slice(1)}: seed it with BENCH_KEEP_DB=1 npm run bench first`);
const chatId = (i: number) => `bench-c-${String(i).padStart(7, '0')}`;
const userId = (i: number) => `bench-u-${String(i).padStart(6, '0')}`;
const rnd = (n: number) => Math.floor(Math.random() * n);
const now = () => new Date().toISOString();
const cap = () => [NO_REVISION_CAP, ANY_TIME, now()];

async function time(label: string, n: number, params: () => unknown[], text: string) {
  for (let i = 0; i < Math.min(50, n); i++) await q(text, params());
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await q(text, params());
    ms.push(performance.now() - t0);
  }
  process.stdout.write(`  ${label.padEnd(44)} median ${median(ms).toFixed(3).padStart(8)} ms  p99 ${percentile(ms, 99).toFixed(3).padStart(8)} ms  (${n} runs)\n`);
  return median(ms);
}

process.stdout.write(`database ${base.pathname.slice(1)}: ${chats} chats, ${users} users\n`);
process.stdout.write('single statements, one connection, sequential:\n');
const pkChat = await time('baseline: chat PK select', runs, () => [chatId(rnd(chats))], 'SELECT chat_id, user_id, created_at, incognito, deleted_at, flags FROM chats WHERE chat_id = $1');
const single = await time('service: single eligibility (singleSql)', runs, () => [chatId(rnd(chats)), ...cap()], singleSql);
await time('  part: visible watermark', runs, () => [], `SELECT ${WATERMARK} AS wm`);
await time('  part: chat row + last activity', runs, () => [chatId(rnd(chats)), ...cap()], `SELECT ${chatColumns(...CAP)} FROM chats c WHERE c.chat_id = $1`);
await time('  part: user facts json', runs, () => [userId(rnd(users)), NO_REVISION_CAP, ANY_TIME], `SELECT ${userFactsJson('$1', '$2::bigint', '$3::timestamptz')} AS f`);
await time('  part: policies json', runs, () => [NO_REVISION_CAP, ANY_TIME], `SELECT ${policiesJson('$1::bigint', '$2::timestamptz')} AS p`);
const pkUser = await time('baseline: user PK select', runs, () => [userId(rnd(users))], 'SELECT user_id, created_at, head_revision::text FROM users WHERE user_id = $1');
const userRead = await time('service: consent read (userReadSql)', runs, () => [userId(rnd(users)), NO_REVISION_CAP, ANY_TIME], userReadSql);
process.stdout.write(`  => single eligibility costs ${(single / pkChat).toFixed(1)}x a chat PK select; consent read ${(userRead / pkUser).toFixed(1)}x a user PK select\n`);

process.stdout.write(`stream page of ${PAGE.toLocaleString('en-US')} (pageSql) vs a plain keyset page:\n`);
const start = () => chatId(rnd(Math.max(1, chats - PAGE)));
const page = await time(`service: pageSql, ${PAGE} rows`, 30, () => [start(), ...cap(), PAGE], pageSql);
const plain = await time('plain: chat_id, user_id keyset page', 30, () => [start(), PAGE], 'SELECT chat_id, user_id FROM chats WHERE chat_id > $1 ORDER BY chat_id LIMIT $2');
process.stdout.write(`  => pageSql alone, one page at a time, reads ~${Math.round(PAGE / (page / 1000)).toLocaleString('en-US')} rows/s (plain keyset: ~${Math.round(PAGE / (plain / 1000)).toLocaleString('en-US')} rows/s)\n`);

const size = Math.min(10_000, chats);
process.stdout.write(`batch of ${size.toLocaleString('en-US')} ids:\n`);
const ids = () => Array.from({ length: size }, () => chatId(rnd(chats)));
await time('service: batchSql', 10, () => [ids(), ...cap()], batchSql);
await time('baseline: chat_id = ANY($1)', 10, () => [ids()], 'SELECT chat_id, user_id, created_at, incognito, deleted_at, flags FROM chats WHERE chat_id = ANY($1::text[])');

if (process.env.SQL_COST_EXPLAIN === '1') {
  // Prepared with generic plans, so the plans show $n rather than 10,000 inlined ids.
  await sql.unsafe('SET plan_cache_mode = force_generic_plan');
  const explain = async (label: string, name: string, types: string, text: string, args: string) => {
    await sql.unsafe(`PREPARE ${name}(${types}) AS ${text}`);
    const plan = await sql.unsafe(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE ${name}(${args})`);
    process.stdout.write(`\nEXPLAIN ANALYZE ${label}:\n${plan.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}\n`);
  };
  const capArgs = `${NO_REVISION_CAP}, '${ANY_TIME}', '${now()}'`;
  await explain('singleSql', 'x_single', 'text, bigint, timestamptz, timestamptz', singleSql, `'${chatId(1)}', ${capArgs}`);
  await explain('pageSql', 'x_page', 'text, bigint, timestamptz, timestamptz, bigint', pageSql, `'${chatId(0)}', ${capArgs}, ${PAGE}`);
  const arr = `ARRAY[${ids().map((i) => `'${i}'`).join(',')}]::text[]`;
  await explain(`batchSql (${size} ids)`, 'x_batch', 'text[], bigint, timestamptz, timestamptz', batchSql, `${arr}, ${capArgs}`);
}
await sql.end({ timeout: 5 });
