import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { Signer } from '../../proof/signing-keys.js';
import type { Database } from '../../db/client.js';
import { migrationsApplied } from '../../db/migrate.js';
import type { ReadRouter } from '../../db/read-router.js';
import type { Telemetry } from '../../telemetry.js';

/** /readyz gives the database this long to answer: an orchestrator's probe gets its answer well within a second. */
export const READY_TIMEOUT_MS = 500;

/** Probes and metrics are never shed or rate-limited: they are how operators see an overload. */
const operational = { auth: { public: true }, rateLimit: false, shedding: false } as const;

/** Each read replica as this instance sees it (only with DATABASE_READ_URLS). */
const Replicas = z
  .array(
    z.object({
      name: z.string().describe('replica-1, replica-2, ... in the order of DATABASE_READ_URLS'),
      state: z
        .enum(['ready', 'starting', 'lagging', 'down'])
        .describe('ready: reads go to it; starting: not read yet; lagging: further behind than DATABASE_READ_MAX_LAG_MS; down: failed, retried later'),
      settledRevision: z.string().nullable().describe('The newest revision it has replayed as the primary published it'),
      lagSeconds: z.number().nullable().describe('How long the primary has been beyond it'),
    }),
  )
  .optional()
  .describe('Read replicas: skipped while not ready, without making this instance unready');
const Ready = z.object({ status: z.literal('ready'), replicas: Replicas });
const NotReady = z.object({ status: z.literal('unavailable'), reason: z.string(), replicas: Replicas });

/** Liveness, readiness, metrics and the published verification keys: public, outside the API. */
export const infraRoutes: FastifyPluginAsyncZod<{ db: Database; verifier: TokenVerifier; telemetry: Telemetry; signer: Signer; reads: ReadRouter }> = async (
  app,
  opts,
) => {
  const replicas = () =>
    opts.reads.hasReplicas
      ? { replicas: opts.reads.replicaStatus().map(({ name, state, settledRevision, lagSeconds }) => ({ name, state, settledRevision, lagSeconds })) }
      : {};

  app.get('/healthz', {
    config: operational,
    schema: {
      tags: ['operations'],
      security: [],
      operationId: 'getHealth',
      summary: 'Liveness: 200 while the process runs',
      response: { 200: z.object({ status: z.literal('ok') }) },
    },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    config: operational,
    schema: {
      tags: ['operations'],
      security: [],
      operationId: 'getReadiness',
      summary: 'Readiness: 200 while the database answers and every migration is applied, else 503',
      description: `The database gets ${READY_TIMEOUT_MS} ms to answer. With read replicas, each is reported as this instance sees it.`,
      response: { 200: Ready, 503: NotReady },
    },
    handler: async (_request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const ready = await Promise.race([
          migrationsApplied(opts.db),
          new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
          }),
        ]);
        if (ready === true) return { status: 'ready' as const, ...replicas() };
        const reason = ready === 'timeout' ? 'the database did not answer in time' : 'migrations are not applied';
        return reply.code(503).header('retry-after', '1').send({ status: 'unavailable' as const, reason, ...replicas() });
      } catch {
        return reply.code(503).header('retry-after', '1').send({ status: 'unavailable' as const, reason: 'the database does not answer', ...replicas() });
      } finally {
        clearTimeout(timer);
      }
    },
  });

  app.get('/metrics', {
    config: operational,
    schema: {
      tags: ['operations'],
      security: [],
      operationId: 'getMetrics',
      summary: 'Metrics in the Prometheus text format',
      response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: z.string() } } } },
    },
    handler: async (_request, reply) => reply.type(opts.telemetry.contentType).send(await opts.telemetry.render()),
  });

  app.get('/.well-known/jwks.json', {
    config: operational,
    schema: {
      tags: ['operations'],
      security: [],
      operationId: 'getJwks',
      summary: 'The public keys this service publishes (JWKS)',
      description:
        'The keys that sign receipts and checkpoints, current and retired, and the keys that verify tokens when they are ' +
        'a local file (a remote AUTH_JWKS_URL is published where it lives).',
      response: { 200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
    },
    handler: async (_request, reply) => {
      const published = opts.verifier.published;
      const signing = opts.signer.publicJwks.keys;
      const kids = new Set(signing.map((k) => k.kid));
      const auth = 'url' in published ? [] : published.keys.filter((k) => k.kid === undefined || !kids.has(k.kid));
      return reply.header('cache-control', 'public, max-age=300').send({ keys: [...signing, ...auth] as Record<string, unknown>[] });
    },
  });
};
