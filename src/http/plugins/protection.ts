import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { AppError } from '../../errors.js';
import { sendProblem } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: never shed under pressure (probes and metrics: how operators see an overload). */
    shedding?: boolean;
  }
}

/** Headers a browser client may read from responses, and send with requests. */
const EXPOSED_HEADERS = ['etag', 'x-request-id', 'retry-after', 'consent-revision', 'consent-as-of', 'idempotent-replayed', 'location'];
const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-request-id'];
const PAGE_POLICIES: [string, Record<string, string[]>][] = [
  ['/docs', { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], styleSrc: ["'self'", "'unsafe-inline'"], frameAncestors: ["'none'"] }],
  [
    '/graphiql',
    {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", 'https://unpkg.com'],
      styleSrc: ["'self'", "'unsafe-inline'", 'https://unpkg.com'],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:', 'https://unpkg.com'],
      connectSrc: ["'self'", 'ws:', 'wss:'],
      workerSrc: ["'self'"],
      frameAncestors: ["'none'"],
    },
  ],
];
/** How often the database pool is looked at for load shedding. */
const POOL_CHECK_MS = 100;

/**
 * What keeps one caller or one overload from taking the service down, and browsers safe:
 * - load shedding (@fastify/under-pressure): new requests get 503 UNAVAILABLE with Retry-After
 *   while the event loop lags past `MAX_EVENT_LOOP_DELAY_MS` or more than `DATABASE_MAX_QUEUE`
 *   statements and transactions wait on the database;
 * - per-caller rate limits (@fastify/rate-limit), keyed by the token's `sub` once it is verified:
 *   429 RATE_LIMITED with Retry-After; kept per process (several instances each allow the budget);
 * - security headers (@fastify/helmet): a strict Content-Security-Policy for API answers;
 * - CORS (@fastify/cors) for the configured frontend origins only.
 */
export const protectionPlugin = fp(
  async (app: FastifyInstance, opts: { config: Config; db: Database }) => {
    const { http } = opts.config;
    const shed = (retryAfterS: number) => new AppError('UNAVAILABLE', 'the service is overloaded; retry shortly', undefined, retryAfterS);
    const stats = opts.db.stats?.bind(opts.db);
    await app.register(underPressure, {
      maxEventLoopDelay: http.maxEventLoopDelayMs,
      // The lag is the mean over each quarter of a second: shedding starts and stops within one.
      sampleInterval: 250,
      ...(stats && http.maxDatabaseQueue > 0
        ? { healthCheck: async () => stats().queued <= http.maxDatabaseQueue, healthCheckInterval: POOL_CHECK_MS }
        : {}),
      pressureHandler: (request, reply) => {
        if (request.routeOptions.config?.shedding === false) return undefined;
        sendProblem(reply, shed(1));
        return undefined;
      },
    });

    if (http.rateLimit.max > 0) {
      await app.register(rateLimit, {
        global: true,
        hook: 'preHandler',
        max: http.rateLimit.max,
        timeWindow: http.rateLimit.windowMs,
        // After authentication: a caller is its token's subject, whatever address it calls from.
        keyGenerator: (request) => (request.auth ? `sub:${request.auth.sub}` : `ip:${request.ip}`),
        errorResponseBuilder: (_request, context) =>
          new AppError('RATE_LIMITED', `at most ${context.max} requests per ${context.after} for one caller`, undefined, Math.max(1, Math.ceil(context.ttl / 1000))),
      });
    }

    if (http.securityHeaders) {
      // The reference documentation and GraphiQL are pages: their own scripts and styles (GraphiQL's
      // editor from unpkg, as mercurius ships it), calls back to this service, nothing else.
      // Set before helmet reads it, when each route is added.
      app.addHook('onRoute', (route) => {
        const page = PAGE_POLICIES.find(([prefix]) => route.url.startsWith(prefix));
        if (page) (route as { helmet?: unknown }).helmet = { contentSecurityPolicy: { useDefaults: false, directives: page[1] } };
      });
      await app.register(helmet, {
        global: true,
        // API answers are JSON: nothing in them may load or frame anything. The pages below get their own.
        contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
        // Served over TLS by whatever terminates it; HSTS is that proxy's to send.
        strictTransportSecurity: false,
      });
    }

    if (http.corsOrigins.length > 0) {
      await app.register(cors, {
        origin: [...http.corsOrigins],
        methods: ['GET', 'PUT', 'POST', 'DELETE'],
        allowedHeaders: ALLOWED_HEADERS,
        exposedHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      });
    }
  },
  { name: 'protection', dependencies: ['errors', 'auth'] },
);
