import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  createJsonSchemaTransform,
  jsonSchemaTransformObject,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { AuditFeed } from './audit/feed.js';
import { createTokenVerifier, type TokenVerifier } from './auth/verifier.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/client.js';
import { migrateDatabase } from './db/migrate.js';
import { SettledRevisions } from './db/point.js';
import { UserFactsCache } from './db/user-facts.js';
import { openReadRouter } from './db/replicas.js';
import { consoleRoutes } from './http/console.js';
import { authPlugin } from './http/plugins/auth.js';
import { deadlinesPlugin } from './http/plugins/deadlines.js';
import { clientErrorHandler, errorsPlugin, frameworkErrors } from './http/plugins/errors.js';
import { metricsPlugin } from './http/plugins/metrics.js';
import { protectionPlugin } from './http/plugins/protection.js';
import { requireStorable } from './http/storable.js';
import { graphqlPlugin } from './graphql/plugin.js';
import { auditRoutes } from './http/routes/audit.js';
import { chatRoutes } from './http/routes/chats.js';
import { eligibilityRoutes } from './http/routes/eligibility.js';
import { infraRoutes } from './http/routes/infra.js';
import { policyRoutes } from './http/routes/policies.js';
import { privacyRoutes } from './http/routes/privacy.js';
import { proofRoutes } from './http/routes/proofs.js';
import { retentionRoutes } from './http/routes/retention.js';
import { ErasureService } from './services/erasure.js';
import { UserProofService } from './services/user-proof.js';
import { Checkpoints } from './proof/checkpoints.js';
import { MerkleLog } from './proof/merkle-log.js';
import { loadSigner } from './proof/signing-keys.js';
import { statisticsRoutes } from './http/routes/statistics.js';
import { userRoutes } from './http/routes/users.js';
import { ChatService } from './services/chats.js';
import { ConsentService } from './services/consent.js';
import { EligibilityService } from './services/eligibility.js';
import { PolicyCache } from './services/facts.js';
import { PolicyService } from './services/policies.js';
import { StatisticsService } from './services/statistics.js';
import { pruneIdempotencyKeys } from './services/write.js';
import { observeDecisions, Telemetry, timedWrites } from './telemetry.js';

export const API_VERSION = '1.0.0';
const REQUEST_ID = /^[A-Za-z0-9._:@\-]{1,128}$/;
const PRUNE_EVERY_MS = 3_600_000;

export interface AppOptions {
  /** An open, migrated database to use instead of the one the configuration names. */
  db?: Database;
  verifier?: TokenVerifier;
  /** Where logs go instead of standard output. */
  logStream?: Writable;
}

/** The service, ready to listen: database open and migrated, routes registered. Never listens. */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Request logs carry the request id (reqId) and never a token, whatever is logged.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization'], censor: '[redacted]' },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    // Request lines are logged at debug level by the onResponse hook below, not twice at info.
    logController: new LogController({ disableRequestLogging: true }),
    // Ids are up to 128 characters, and percent-encoding can triple that.
    routerOptions: { maxParamLength: 512 },
    bodyLimit: 1024 * 1024,
    // Requests that arrive on kept-alive connections while the service drains are served (with
    // Connection: close), not refused: shutdown drops no request it received.
    return503OnClosing: false,
    frameworkErrors,
    clientErrorHandler,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  // Before the database: a bad SIGNING_KEYS_FILE stops the start with nothing opened.
  const signer = await loadSigner({ file: config.proof.signingKeysFile, dataDir: config.dataDir, issuer: config.auth.audience });
  let db = options.db;
  const ownsDb = db === undefined;
  if (db === undefined) {
    db = await openDatabase(config.database, (what) => app.log.warn(`database connection given up on: ${what}`));
    try {
      await migrateDatabase(db, config.database.kind === 'postgres' ? config.database.url : undefined);
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  const opened = db;
  if (ownsDb) app.addHook('onClose', async () => opened.close());

  const verifier = options.verifier ?? (await createTokenVerifier(config));
  if (verifier.development) {
    app.log.warn(
      `DEVELOPMENT KEYS IN USE: no AUTH_JWKS_URL or AUTH_JWKS_FILE is set, so tokens are verified with a key made in ${config.dataDir}. ` +
        'Anyone who can read that directory can mint tokens. Mint one with `npm run token -- --sub alice --scope consent:self`. ' +
        'Configure real keys before serving real users.',
    );
  }

  if (signer.development) {
    app.log.warn(
      `DEVELOPMENT SIGNING KEYS IN USE: no SIGNING_KEYS_FILE is set, so receipts and checkpoints are signed with a key made in ${config.dataDir}. ` +
        'Configure SIGNING_KEYS_FILE before anyone relies on a signature.',
    );
  }

  // Bounded caches of the plugins, reported beside the token cache.
  const caches: { name: string; readonly size: number; readonly max: number }[] = [];
  const settled = new SettledRevisions(opened, new UserFactsCache(config.memory.userFactsCacheMaxEntries));
  const telemetry = new Telemetry({
    db: opened,
    settled: () => settled.known(),
    caches: () => [
      ...(verifier.cacheSize ? [{ name: 'verified_tokens', ...verifier.cacheSize() }] : []),
      ...caches.map((c) => ({ name: c.name, size: c.size, max: c.max })),
    ],
  });
  const database = timedWrites(opened, telemetry);
  // Reads may go to streaming replicas (DATABASE_READ_URLS); writes always go to `database`.
  const replicas = openReadRouter({ name: 'primary', db: database, settled }, config.readReplicas, app.log);
  app.addHook('onClose', async () => replicas.close());
  const reads = replicas.router;
  telemetry.readDatabases(reads, () => replicas.publisher?.published ?? null);
  app.removeContentTypeParser('text/plain');
  // Hooks on every request are synchronous (callback style): no promise per request for them.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    done();
  });

  await app.register(errorsPlugin);
  // A request not answered within REQUEST_TIMEOUT_MS gets 503 UNAVAILABLE; the database's own waits are shorter.
  await app.register(deadlinesPlugin, { timeoutMs: config.http.requestTimeoutMs });
  await app.register(metricsPlugin, { telemetry });
  await app.register(authPlugin, { verifier });
  await app.register(protectionPlugin, { config, db: opened });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Training consent service',
        version: API_VERSION,
        description:
          'Chat frontends record users\' training consent, terms acceptances and chats; training pipelines ask which chats may be ' +
          'used, at a point in time or revision they can reproduce; every change lands in an append-only, hash-chained audit log.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: 'http://127.0.0.1:3000', description: 'Local development' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      tags: [
        { name: 'users', description: 'Users and their plans' },
        { name: 'training consent', description: "A user's training choice and its effect" },
        { name: 'terms acceptances', description: 'Evidence of what a user accepted and was shown' },
        { name: 'policies', description: 'Terms versions' },
        { name: 'chats', description: 'Chats reported by frontends' },
        { name: 'training eligibility', description: 'Questions training pipelines ask' },
        { name: 'audit', description: 'The append-only, hash-chained audit log' },
        { name: 'operations', description: 'Probes, metrics and published keys, for operators (no token)' },
      ],
    },
    transform: createJsonSchemaTransform({ skipList: ['/docs', '/docs/*', '/openapi.json', '/graphql'] }),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { config: { auth: { public: true } }, schema: { hide: true } }, async () => app.swagger());
  await app.register(consoleRoutes, { development: verifier.development });

  const policies = new PolicyCache(database);
  const consent = new ConsentService(database, policies, settled, reads);
  const audit = new AuditFeed(database, settled, reads);
  const checkpoints = new Checkpoints(database, new MerkleLog(database), settled, signer);

  const chats = new ChatService(database, settled, reads);
  const eligibility = observeDecisions(new EligibilityService(database, policies, settled, reads), telemetry);
  const policyService = new PolicyService(database, policies, settled, reads);
  const statistics = new StatisticsService(database, policies, settled);
  // GraphQL: a second door onto the same services, at the root (see the REST scope below).
  await app.register(graphqlPlugin, {
    config,
    db: database,
    verifier,
    metrics: telemetry,
    services: { consent, chats, eligibility, policies: policyService, audit, settled, statistics },
    registerCache: (cache) => caches.push(cache),
  });
  await app.register(async (api) => {
    // Zod validates requests here only: mercurius and other plugins at the root keep their own compilers.
    api.setValidatorCompiler(validatorCompiler);
    // Responses are built by the services to the documented schemas; plain JSON keeps hot paths fast.
    api.setSerializerCompiler(() => (data) => JSON.stringify(data));
    api.addHook('onRoute', (route) => {
      if (!route.config?.auth) throw new Error(`route ${route.method} ${route.url} declares no auth rule`);
    });
    // Text PostgreSQL cannot store is refused where it enters, in whichever part of the request.
    api.addHook('preValidation', (request, _reply, done) => {
      try {
        requireStorable(request.params, 'params');
        requireStorable(request.query, 'query');
        if (request.body !== undefined) requireStorable(request.body, 'body');
        done();
      } catch (err) {
        done(err as Error);
      }
    });
    const zapi = api.withTypeProvider<ZodTypeProvider>();
    await zapi.register(infraRoutes, { db: opened, verifier, telemetry, signer, reads });
    await zapi.register(userRoutes, { consent, audit });
    await zapi.register(policyRoutes, { policies: policyService });
    await zapi.register(chatRoutes, { chats });
    await zapi.register(eligibilityRoutes, { eligibility, streamTimeoutMs: config.http.streamTimeoutMs, signer });
    await zapi.register(auditRoutes, { audit });
    await zapi.register(proofRoutes, { checkpoints, reads });
    await zapi.register(privacyRoutes, {
      // An export reads everything about a user together, on the primary: replicas may each be at another revision.
      proofs: new UserProofService(database, new ConsentService(database, policies, settled), new ChatService(database, settled), new AuditFeed(database, settled), checkpoints, policies, signer),
      erasure: new ErasureService(database, settled, signer),
      reads,
    });
    await zapi.register(retentionRoutes, { eligibility, streamTimeoutMs: config.http.streamTimeoutMs });
    await zapi.register(statisticsRoutes, { statistics });
  });

  const prune = () => pruneIdempotencyKeys(database, Date.now()).catch((err) => app.log.warn({ err }, 'pruning idempotency keys failed'));
  const timer = setInterval(prune, PRUNE_EVERY_MS).unref();
  app.addHook('onReady', async () => void prune());
  app.addHook('onClose', async () => clearInterval(timer));
  let stopCheckpoints = () => {};
  app.addHook('onReady', async () => {
    stopCheckpoints = checkpoints.schedule(config.proof.checkpointIntervalS, (err) => app.log.warn({ err }, 'making a checkpoint failed'));
  });
  app.addHook('onClose', async () => stopCheckpoints());
  return app;
}
