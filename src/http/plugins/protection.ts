import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import helmet, { type HelmetOptions } from 'helmet';
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
    /** The security headers of a page (PAGE_POLICIES), set when its route is added; API answers get the API's. */
    securityHeaders?: Record<string, string>;
  }
}

/** Headers a browser client may read from responses, and send with requests. */
const EXPOSED_HEADERS = ['etag', 'x-request-id', 'retry-after', 'consent-revision', 'consent-as-of', 'idempotent-replayed', 'location'];
const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-request-id'];
const PAGE_POLICIES: [string, Record<string, string[]>][] = [
  ['/docs', { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], styleSrc: ["'self'", "'unsafe-inline'"], frameAncestors: ["'none'"] }],
  // The console: its own scripts and styles only (no inline script or style), calls to this service
  // (REST, GraphQL and its WebSocket, which 'self' covers), nothing from anywhere else.
  [
    '/console',
    {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  ],
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
 * The headers helmet sets with this Content-Security-Policy (and its other defaults but HSTS,
 * which is for whatever terminates TLS to send), computed once: they are the same for every
 * answer, so each answer gets them with one call instead of running helmet's middleware, which
 * cost a cheap read some 40 % more CPU.
 */
function helmetHeaders(csp: Exclude<HelmetOptions['contentSecurityPolicy'], boolean | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: () => {},
  };
  helmet({ contentSecurityPolicy: csp, strictTransportSecurity: false })({} as never, res as never, () => {});
  return headers;
}

/**
 * What keeps one caller or one overload from taking the service down, and browsers safe:
 * - load shedding (@fastify/under-pressure): new requests get 503 UNAVAILABLE with Retry-After
 *   while the event loop lags past `MAX_EVENT_LOOP_DELAY_MS` or more than `DATABASE_MAX_QUEUE`
 *   statements and transactions wait on the database;
 * - per-caller rate limits (@fastify/rate-limit), keyed by the token's `sub` once it is verified:
 *   429 RATE_LIMITED with Retry-After; kept per process (several instances each allow the budget);
 * - security headers (helmet's): a strict Content-Security-Policy for API answers;
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
      // API answers are JSON: nothing in them may load or frame anything. The pages get their own
      // policies (PAGE_POLICIES): the reference documentation, GraphiQL and the console.
      const api = helmetHeaders({ useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } });
      const pages = PAGE_POLICIES.map(([prefix, directives]) => [prefix, helmetHeaders({ useDefaults: false, directives })] as const);
      app.addHook('onRoute', (route) => {
        const page = pages.find(([prefix]) => route.url.startsWith(prefix));
        if (page) route.config = { ...route.config, securityHeaders: page[1] };
      });
      app.addHook('onRequest', (request, reply, done) => {
        reply.headers(request.routeOptions.config?.securityHeaders ?? api);
        done();
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
