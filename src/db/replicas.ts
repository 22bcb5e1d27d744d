import { connectPostgres, type Database, type PostgresLimits } from './client.js';
import { replicatedRevision, SettledRevisions } from './point.js';
import { UserFactsCache } from './user-facts.js';
import { PrimaryProgress } from './primary-progress.js';
import { ReadRouter, type ReadLimits, type ReadSource } from './read-router.js';
import { WatermarkPublisher } from './watermark-publisher.js';

/** Streaming replicas reads may be sent to (config: DATABASE_READ_URLS and the bounds after it). */
export interface ReplicaTargets {
  urls: readonly string[];
  poolSize: number;
  limits?: Partial<PostgresLimits>;
  read: ReadLimits;
  /** How often the primary's settled revision is published for them. */
  publishEveryMs: number;
}

/**
 * The read router of a process: the primary alone, or, with replicas, a client of each replica,
 * its settled revisions read as the primary published them, and the publisher that publishes
 * them. `close` ends what this opened (not the primary).
 */
export function openReadRouter(
  primary: ReadSource,
  replicas: ReplicaTargets | null,
  log: { warn(obj: object, msg: string): void; info(msg: string): void },
  usersCacheMax = primary.settled.users.max,
): { router: ReadRouter; publisher: WatermarkPublisher | null; close(): Promise<void> } {
  if (replicas === null || replicas.urls.length === 0) return { router: new ReadRouter(primary), publisher: null, close: async () => {} };
  const dbs: Database[] = [];
  const sources: ReadSource[] = replicas.urls.map((url, i) => {
    const name = `replica-${i + 1}`;
    const db = connectPostgres(url, replicas.poolSize, replicas.limits, (what) => log.warn({ database: name }, `replica connection given up on: ${what}`));
    dbs.push(db);
    return { name, db, settled: new SettledRevisions(db, new UserFactsCache(usersCacheMax), { settle: replicatedRevision, authoritative: false }) };
  });
  // Lag is judged against samples that span twice the bound, so that "past the bound" is always known.
  const progress = new PrimaryProgress(2 * replicas.read.maxLagMs);
  const publisher = new WatermarkPublisher(primary.db, progress, replicas.publishEveryMs, (failing, err) => {
    if (failing) log.warn({ err }, 'publishing the settled revision for replicas failed; replicas fall behind until it works again');
    else log.info('publishing the settled revision for replicas works again');
  });
  const router = new ReadRouter(primary, sources, progress, replicas.read);
  return {
    router,
    publisher,
    async close() {
      publisher.close();
      router.close();
      await Promise.all(dbs.map((db) => db.close()));
    },
  };
}
