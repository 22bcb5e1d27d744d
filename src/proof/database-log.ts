import type { JWK } from 'jose';
import { EVENT_COLUMNS, EVENTS, toAuditEvent } from '../audit/feed.js';
import type { Database, Queryable } from '../db/client.js';
import { HASH_BYTES, TILE_WIDTH } from '../merkle/tiles.js';
import { toCheckpoint } from './checkpoints.js';
import { verifyLog, type LogReport, type LogSource } from './log-verifier.js';
import { MerkleLog } from './merkle-log.js';

const PAGE = 5_000;

/** The log as the database holds it, read in one snapshot. */
async function databaseSource(q: Queryable, log: MerkleLog): Promise<LogSource> {
  const checkpoints = (
    await q.query<Parameters<typeof toCheckpoint>[0]>(
      `SELECT tree_size::text AS tree_size, root_hash, last_revision::text AS last_revision, created_at, previous_root_hash, jws
         FROM audit_checkpoints ORDER BY audit_checkpoints.tree_size`,
    )
  ).map(toCheckpoint);
  return {
    checkpoints,
    async *events() {
      for (let after = '0'; ; ) {
        const rows = await q.query<Parameters<typeof toAuditEvent>[0]>(
          `SELECT ${EVENT_COLUMNS} FROM ${EVENTS} WHERE a.revision > $1::bigint ORDER BY a.revision LIMIT ${PAGE}`,
          [after],
        );
        if (rows.length === 0) return;
        yield rows.map(toAuditEvent);
        after = rows[rows.length - 1].revision;
      }
    },
    async storedLeaves(from, count) {
      const rows = await q.query<{ idx: string; hashes: Uint8Array }>(
        'SELECT idx::text AS idx, hashes FROM merkle_tiles WHERE level = 0 AND idx BETWEEN $1::bigint AND $2::bigint ORDER BY merkle_tiles.idx',
        [String(Math.floor(from / TILE_WIDTH)), String(Math.floor((from + count - 1) / TILE_WIDTH))],
      );
      const leaves: Buffer[] = [];
      for (const r of rows) {
        const tile = Buffer.from(r.hashes);
        for (let i = 0; i * HASH_BYTES < tile.length; i++) {
          const index = Number(r.idx) * TILE_WIDTH + i;
          if (index >= from && index < from + count) leaves.push(tile.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
        }
      }
      return leaves;
    },
    storedRoot: (size) => log.root(size, q),
    storedConsistency: async (from, to) => (await log.consistency(from, to, q)).map((h) => Buffer.from(h, 'hex')),
    async heads() {
      const rows = await q.query<{ user_id: string | null; head_hash: string }>(
        `SELECT user_id, head_hash FROM users WHERE head_revision IS NOT NULL
         UNION ALL SELECT NULL, head_hash FROM chain_heads WHERE chain = 'policies'`,
      );
      return new Map(rows.map((r) => [r.user_id, r.head_hash]));
    },
  };
}

/** Verifies the log in the database, in one snapshot (REPEATABLE READ): what `npm run audit:verify` runs. */
export async function verifyDatabase(db: Database, jwks: { keys: JWK[] }): Promise<LogReport> {
  const log = new MerkleLog(db);
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return verifyLog(await databaseSource(tx, log), jwks);
  });
}
