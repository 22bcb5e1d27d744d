import type { FastifyInstance } from 'fastify';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { Signer } from '../../proof/signing-keys.js';
import type { Database } from '../../db/client.js';
import { migrationsApplied } from '../../db/migrate.js';
import type { Metrics } from '../plugins/metrics.js';

const READY_TIMEOUT_MS = 2_000;

/** Liveness, readiness, metrics and the published verification keys: public, outside the API. */
export async function infraRoutes(app: FastifyInstance, opts: { db: Database; verifier: TokenVerifier; metrics: Metrics; signer: Signer }) {
  const hidden = { hide: true };
  app.get('/healthz', { config: { auth: { public: true } }, schema: hidden }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { auth: { public: true } }, schema: hidden }, async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const ready = await Promise.race([
        migrationsApplied(opts.db),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
        }),
      ]);
      if (ready) return { status: 'ready' };
      return reply.code(503).send({ status: 'unavailable', reason: 'migrations are not applied or the database does not answer' });
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'the database does not answer' });
    } finally {
      clearTimeout(timer);
    }
  });

  app.get('/metrics', { config: { auth: { public: true } }, schema: hidden }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(opts.metrics.render()),
  );

  app.get('/.well-known/jwks.json', { config: { auth: { public: true } }, schema: hidden }, async (_request, reply) => {
    // The service's signing keys (receipts, checkpoints), current and retired, and the token
    // verification keys when they are local; remote ones are published where they live.
    const published = opts.verifier.published;
    const signing = opts.signer.publicJwks.keys;
    const kids = new Set(signing.map((k) => k.kid));
    const auth = 'url' in published ? [] : published.keys.filter((k) => k.kid === undefined || !kids.has(k.kid));
    return reply.header('cache-control', 'public, max-age=300').send({ keys: [...signing, ...auth] });
  });
}
