/**
 * Scenario f: the Merkle log at 10,000 and 1,000,000 events. Events beyond the seeded ones are
 * appended in SQL (the tree only reads each event's revision and hash), then, at each size:
 * checkpoint creation (the first one integrating every new event; then, five times, after 1,000
 * more events), inclusion and consistency proof latency over HTTP at that size (sequential
 * requests for random leaves and sizes), and the stored tree's size. Only BENCH_SCENARIOS=f runs it: the synthetic
 * events do not form chains, and the database is dropped afterwards.
 */
import postgres from 'postgres';
import { request } from '../lib/http.js';
import { median, percentile, round } from '../lib/stats.js';

export interface ProofScenarioContext {
  port: number;
  dbUrl: string;
  adminToken: string;
  log: (line?: string) => void;
}

const SIZES = [10_000, 1_000_000];
const PROOFS = 300;
const GROWTHS = 5;

async function appendSynthetic(sql: postgres.Sql, count: number): Promise<void> {
  for (let left = count; left > 0; left -= 100_000) {
    const n = Math.min(left, 100_000);
    await sql.begin(async (tx) => {
      await tx`SELECT consent_begin_write()`;
      await tx.unsafe(
        `INSERT INTO audit_events (revision, event_id, type, actor_kind, occurred_at, prev_hash, hash)
         SELECT r, gen_random_uuid()::text, 'bench.synthetic', 'service', now(), repeat('0', 64), encode(sha256(int8send(r)), 'hex')
           FROM (SELECT nextval('revision_seq') AS r FROM generate_series(1, $1::int)) s`,
        [n],
      );
    });
  }
}

export async function proofScenario(ctx: ProofScenarioContext) {
  const sql = postgres(ctx.dbUrl, { max: 1, onnotice: () => {} });
  const auth = { authorization: `Bearer ${ctx.adminToken}` };
  const post = async () => {
    const t0 = performance.now();
    const res = await request(ctx.port, '/v1/audit/checkpoints', { method: 'POST', headers: auth, timeoutMs: 600_000 });
    const ms = performance.now() - t0;
    if (res.status !== 201 && res.status !== 200) throw new Error(`checkpoint answered ${res.status}: ${res.body.slice(0, 200)}`);
    return { ms, checkpoint: JSON.parse(res.body) as { treeSize: number } };
  };
  const timed = async (path: string) => {
    const t0 = performance.now();
    const res = await request(ctx.port, path, { headers: auth });
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.body.slice(0, 200)}`);
    return ms;
  };
  const results: Record<string, unknown>[] = [];
  try {
    for (const target of SIZES) {
      const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_events`;
      if (n < target) await appendSynthetic(sql, target - n);
      const first = await post();
      const size = first.checkpoint.treeSize;
      const revisions = await sql<{ r: string }[]>`SELECT revision::text AS r FROM audit_events ORDER BY random() LIMIT ${PROOFS}`;
      const inclusion: number[] = [];
      for (const { r } of revisions) inclusion.push(await timed(`/v1/audit/proofs/inclusion?revision=${r}&treeSize=${size}`));
      const consistency: number[] = [];
      for (let i = 0; i < PROOFS; i++) {
        const from = 1 + Math.floor(Math.random() * (size - 1));
        consistency.push(await timed(`/v1/audit/proofs/consistency?from=${from}&to=${size}`));
      }
      const [{ bytes }] = await sql<{ bytes: string }[]>`SELECT pg_total_relation_size('merkle_tiles')::text AS bytes`;
      const growths: number[] = [];
      for (let i = 0; i < GROWTHS; i++) {
        await appendSynthetic(sql, 1_000);
        growths.push((await post()).ms);
      }
      const perMillion = (Number(bytes) / size) * 1_000_000;
      const row = {
        treeSize: size,
        firstCheckpointMs: round(first.ms, 1),
        checkpointAfter1000MsMedian: round(median(growths), 1),
        checkpointAfter1000Ms: growths.map((g) => round(g, 1)),
        inclusionMs: { median: round(median(inclusion), 2), p99: round(percentile(inclusion, 99), 2), n: inclusion.length },
        consistencyMs: { median: round(median(consistency), 2), p99: round(percentile(consistency, 99), 2), n: consistency.length },
        tilesBytes: Number(bytes),
        tilesMiBPerMillionEvents: round(perMillion / 2 ** 20, 1),
      };
      results.push(row);
      ctx.log(
        `  ${size.toLocaleString('en-US')} events: first checkpoint ${row.firstCheckpointMs} ms; after 1,000 more: median ${row.checkpointAfter1000MsMedian} ms ` +
          `(${row.checkpointAfter1000Ms.join(', ')}); inclusion proof median ${row.inclusionMs.median} ms, p99 ${row.inclusionMs.p99} ms; ` +
          `consistency proof median ${row.consistencyMs.median} ms, p99 ${row.consistencyMs.p99} ms; tiles ${(Number(bytes) / 2 ** 20).toFixed(1)} MiB ` +
          `(${row.tilesMiBPerMillionEvents} MiB per million events)`,
      );
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  return results;
}
