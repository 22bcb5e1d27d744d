import cors from '@fastify/cors';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
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
    /** false: never counted against a caller's budget (probes and metrics). */
    rateLimit?: boolean;
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

/** How often the event loop's delay is sampled for load shedding, and the resolution of its histogram. */
const LAG_SAMPLE_MS = 250;
const LAG_RESOLUTION_MS = 10;

/**
 * The event loop's delay, as a mean over each quarter of a second (what @fastify/under-pressure
 * measures), except when the loop was held for the whole quarter: the histogram then holds no
 * sample, and under-pressure takes that as an infinite delay, so one request that holds the loop
 * a little longer than a quarter of a second (a 10,000-chat GraphQL batch on a slow machine) had
 * the next request shed whatever the bound. Here such a quarter counts for how late its own
 * sample came.
 */
export class EventLoopLag {
  private readonly histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  private readonly timer: NodeJS.Timeout;
  private last = performance.now();
  /** The delay of the last quarter of a second, in milliseconds. */
  ms = 0;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), LAG_SAMPLE_MS).unref();
  }

  private sample(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.last - LAG_SAMPLE_MS);
    this.last = now;
    this.ms = this.histogram.count > 0 ? Math.max(0, this.histogram.mean / 1e6 - LAG_RESOLUTION_MS) : late;
    this.histogram.reset();
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

/**
 * What an API answer (JSON, never rendered) needs of helmet's headers, as OWASP's REST security
 * guidance lists them: the pages get all of helmet's. The others (X-XSS-Protection, X-Download-
 * Options, X-DNS-Prefetch-Control, Origin-Agent-Cluster, X-Permitted-Cross-Domain-Policies,
 * Cross-Origin-Opener-Policy) are for documents a browser renders; on every answer they cost a
 * cheap read some 4 % more CPU.
 */
const API_HEADERS = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'cross-origin-resource-policy'];

const onlyFor = (names: readonly string[], headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([name]) => names.includes(name)));

/**
 * Each caller's budget of requests: `max` per fixed window of `windowMs`, every caller's window
 * starting together (so a caller may spend up to twice its budget across a window's end). A
 * counter per caller seen in the window, all dropped when it ends; past 100,000 callers in one
 * window they are dropped early (every budget starts again) rather than grow without bound.
 * @fastify/rate-limit did the same with a cache per caller and three headers on every answer, for
 * some 10 % more CPU on a cheap read; this costs a map update.
 */
export class CallerBudgets {
  private readonly counts = new Map<string, number>();
  private windowEnds = 0;
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxCallers = 100_000,
  ) {}

  /** 0 when the caller may go on; otherwise the seconds until its budget starts again. */
  take(caller: string, now: number): number {
    if (now >= this.windowEnds || this.counts.size >= this.maxCallers) {
      this.counts.clear();
      if (now >= this.windowEnds) this.windowEnds = now + this.windowMs;
    }
    const n = (this.counts.get(caller) ?? 0) + 1;
    this.counts.set(caller, n);
    return n <= this.max ? 0 : Math.max(1, Math.ceil((this.windowEnds - now) / 1000));
  }
}

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
 * - load shedding: new requests get 503 UNAVAILABLE with Retry-After while the event loop lags
 *   past `MAX_EVENT_LOOP_DELAY_MS` (`EventLoopLag`) or more than `DATABASE_MAX_QUEUE` statements
 *   and transactions wait on the database (@fastify/under-pressure's health check);
 * - per-caller rate limits (`CallerBudgets`), keyed by the token's `sub` once it is verified:
 *   429 RATE_LIMITED with Retry-After; kept per process (several instances each allow the budget);
 * - security headers (helmet's): a strict Content-Security-Policy for API answers;
 * - CORS (@fastify/cors) for the configured frontend origins only.
 */
export const protectionPlugin = fp(
  async (app: FastifyInstance, opts: { config: Config; db: Database }) => {
    const { http } = opts.config;
    const shed = (retryAfterS: number) => new AppError('UNAVAILABLE', 'the service is overloaded; retry shortly', undefined, retryAfterS);
    const stats = opts.db.stats?.bind(opts.db);
    const sheds = (request: { routeOptions: { config?: { shedding?: boolean } } }) => request.routeOptions.config?.shedding !== false;
    if (http.maxEventLoopDelayMs > 0) {
      // The lag is the mean over each quarter of a second: shedding starts and stops within one.
      const lag = new EventLoopLag();
      app.addHook('onClose', async () => lag.close());
      app.addHook('onRequest', (request, reply, done) => {
        if (lag.ms <= http.maxEventLoopDelayMs || !sheds(request)) return done();
        sendProblem(reply, shed(1));
      });
    }
    await app.register(underPressure, {
      // The event loop is watched above; under-pressure watches the database pool.
      maxEventLoopDelay: 0,
      sampleInterval: LAG_SAMPLE_MS,
      ...(stats && http.maxDatabaseQueue > 0
        ? { healthCheck: async () => stats().queued <= http.maxDatabaseQueue, healthCheckInterval: POOL_CHECK_MS }
        : {}),
      pressureHandler: (request, reply) => {
        if (!sheds(request)) return undefined;
        sendProblem(reply, shed(1));
        return undefined;
      },
    });

    if (http.rateLimit.max > 0) {
      const budgets = new CallerBudgets(http.rateLimit.max, http.rateLimit.windowMs);
      // After authentication: a caller is its token's subject, whatever address it calls from.
      app.addHook('preHandler', (request, reply, done) => {
        if (request.routeOptions.config?.rateLimit === false) return done();
        const retryAfterS = budgets.take(request.auth ? `sub:${request.auth.sub}` : `ip:${request.ip}`, Date.now());
        if (retryAfterS === 0) return done();
        sendProblem(reply, new AppError('RATE_LIMITED', `at most ${http.rateLimit.max} requests per ${http.rateLimit.windowMs / 1000} s for one caller`, undefined, retryAfterS));
      });
    }

    if (http.securityHeaders) {
      // API answers are JSON: nothing in them may load or frame anything. The pages get their own
      // policies (PAGE_POLICIES): the reference documentation, GraphiQL and the console.
      const api = onlyFor(API_HEADERS, helmetHeaders({ useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } }));
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
