import { resolve } from 'node:path';
import { z } from 'zod';
import type { DatabaseTarget } from './db/client.js';
import type { ReplicaTargets } from './db/replicas.js';

const isPostgresUrl = (v: string) => /^postgres(ql)?:\/\//.test(v);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v) || v === 'memory://', {
      message: 'must be a postgres:// or postgresql:// URL, or memory:// for an in-memory embedded database',
    })
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  DATABASE_MAX_QUEUE: z.coerce.number().int().min(0).max(1_000_000).default(1_000),
  DATABASE_READ_URLS: z
    .string()
    .refine((v) => v.split(',').every((u) => isPostgresUrl(u.trim())), {
      message: 'must be a comma-separated list of postgres:// or postgresql:// URLs of streaming replicas',
    })
    .optional(),
  DATABASE_READ_MAX_LAG_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
  DATABASE_READ_RETRY_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
  DATABASE_READ_PUBLISH_MS: z.coerce.number().int().min(1).max(60_000).default(10),
  MIN_REVISION_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  STREAM_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(7 * 86_400_000).default(6 * 3_600_000),
  HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(1_000).default(50),
  USER_FACTS_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(10_000_000).default(20_000),
  TOKEN_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(10_000_000).default(10_000),
  MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).optional(),
  RATE_LIMIT_MAX: z.coerce.number().int().min(0).max(1_000_000_000).default(50_000),
  SECURITY_HEADERS: z.enum(['on', 'off']).default('on'),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(86_400_000).default(10_000),
  CORS_ORIGINS: z
    .string()
    .refine((v) => v.split(',').every((o) => /^https?:\/\/[^/\s,]+$/.test(o.trim())), {
      message: 'must be a comma-separated list of origins such as https://chat.example.com',
    })
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  AUTH_JWKS_FILE: z.string().min(1).optional(),
  AUTH_ISSUER: z.string().min(1).default('consent-service-dev'),
  AUTH_AUDIENCE: z.string().min(1).default('consent-service'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SIGNING_KEYS_FILE: z.string().min(1).optional(),
  /** 0: no scheduled checkpoints (only on demand). */
  CHECKPOINT_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(60),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(8),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(10_000).default(30),
  GRAPHQL_QUERY_CACHE: z.coerce.number().int().min(0).max(100_000).default(1_024),
  GRAPHQL_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  GRAPHQL_JIT: z.coerce.number().int().min(0).max(1_000_000).default(1),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseTarget;
  /** Streaming replicas of a PostgreSQL primary that reads may go to; null for none. */
  readonly readReplicas: ReplicaTargets | null;
  readonly dataDir: string;
  readonly auth: {
    readonly jwksUrl: string | null;
    readonly jwksFile: string | null;
    readonly issuer: string;
    readonly audience: string;
  };
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly proof: {
    /** Private JWKS whose first key signs receipts and checkpoints; null: development keys in `dataDir`. */
    readonly signingKeysFile: string | null;
    /** Seconds between scheduled checkpoints (made only when the log grew); 0 for none. */
    readonly checkpointIntervalS: number;
  };
  /** Bounds on the process's memory. */
  readonly memory: {
    /**
     * The old generation of the JavaScript heap may grow to (1 + this / 100) times what was live at
     * the last full collection before the next one (0: V8's own factor, up to 4x). Bulk reads
     * leave their rows to the old generation; with V8's factor a stream of every chat grew the
     * process by some 170 MB before a collection.
     */
    readonly heapGrowingPercent: number;
    /** Users whose facts each database's users' facts cache keeps; 0 keeps none. */
    readonly userFactsCacheMaxEntries: number;
    /** Verified tokens kept, so that a token is checked once rather than per request; 0 keeps none. */
    readonly tokenCacheMaxEntries: number;
  };
  readonly http: {
    /** A request not answered by then gets 503 UNAVAILABLE. */
    readonly requestTimeoutMs: number;
    /** An NDJSON stream still running by then is cut off (a pass over every chat takes a while). */
    readonly streamTimeoutMs: number;
    /** Requests per caller (token `sub`) per window; 0 turns the limit off. */
    readonly rateLimit: { readonly max: number; readonly windowMs: number };
    /** Frontend origins allowed to call the API from a browser; empty: no CORS headers. */
    readonly corsOrigins: readonly string[];
    /** Load shedding: new requests get 503 while the event loop lags this much (0: never) ... */
    readonly maxEventLoopDelayMs: number;
    /** ... or while more than this many statements and transactions wait on the database (0: never). */
    readonly maxDatabaseQueue: number;
    /** Security headers (helmet); off when a proxy in front sets them. */
    readonly securityHeaders: boolean;
  };
  readonly graphql: {
    /** Nesting of a query's fields. */
    readonly maxDepth: number;
    /** A query's resolver work (src/graphql/limits.ts). */
    readonly maxCost: number;
    readonly maxAliases: number;
    /** Parsed and validated queries kept, and as many automatic persisted queries (0: none kept). */
    readonly queryCache: number;
    /** Live subscriptions at once in this process. */
    readonly maxSubscriptions: number;
    /** Compile a query to JavaScript (graphql-jit) once it has run this many times; 0: never. */
    readonly jit: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment once; every bad value is named in the error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(defined);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(defined[String(i.path[0])])})`),
    );
  }
  const e = parsed.data;
  const readUrls = e.DATABASE_READ_URLS ? e.DATABASE_READ_URLS.split(',').map((u) => u.trim()) : [];
  if (readUrls.length > 0 && (e.DATABASE_URL === undefined || !isPostgresUrl(e.DATABASE_URL))) {
    throw new ConfigError(['DATABASE_READ_URLS: read replicas need a PostgreSQL primary in DATABASE_URL (the embedded database has none)']);
  }
  if (e.AUTH_JWKS_URL && e.AUTH_JWKS_FILE) {
    throw new ConfigError(['AUTH_JWKS_URL and AUTH_JWKS_FILE: set one of them, not both']);
  }
  const dataDir = resolve(e.DATA_DIR);
  const database: DatabaseTarget =
    e.DATABASE_URL === undefined
      ? { kind: 'pglite', dataDir }
      : e.DATABASE_URL === 'memory://'
        ? { kind: 'pglite', dataDir: null }
        : {
            kind: 'postgres',
            url: e.DATABASE_URL,
            poolSize: e.DATABASE_POOL_SIZE,
            limits: {
              statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
              connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
              acquireTimeoutMs: e.DATABASE_ACQUIRE_TIMEOUT_MS,
            },
          };
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    database,
    readReplicas:
      readUrls.length === 0 || database.kind !== 'postgres'
        ? null
        : Object.freeze({
            urls: Object.freeze(readUrls),
            poolSize: database.poolSize,
            limits: database.limits,
            read: Object.freeze({ maxLagMs: e.DATABASE_READ_MAX_LAG_MS, retryMs: e.DATABASE_READ_RETRY_MS, revisionWaitMs: e.MIN_REVISION_WAIT_MS }),
            publishEveryMs: e.DATABASE_READ_PUBLISH_MS,
          }),
    dataDir,
    auth: Object.freeze({
      jwksUrl: e.AUTH_JWKS_URL ?? null,
      jwksFile: e.AUTH_JWKS_FILE ? resolve(e.AUTH_JWKS_FILE) : null,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
    }),
    logLevel: e.LOG_LEVEL,
    proof: Object.freeze({
      signingKeysFile: e.SIGNING_KEYS_FILE ? resolve(e.SIGNING_KEYS_FILE) : null,
      checkpointIntervalS: e.CHECKPOINT_INTERVAL_S,
    }),
    memory: Object.freeze({
      heapGrowingPercent: e.HEAP_GROWING_PERCENT,
      userFactsCacheMaxEntries: e.USER_FACTS_CACHE_MAX_ENTRIES,
      tokenCacheMaxEntries: e.TOKEN_CACHE_MAX_ENTRIES,
    }),
    http: Object.freeze({
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      streamTimeoutMs: e.STREAM_TIMEOUT_MS,
      rateLimit: Object.freeze({ max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS }),
      corsOrigins: Object.freeze(e.CORS_ORIGINS ? e.CORS_ORIGINS.split(',').map((o) => o.trim()) : []),
      // The embedded database runs on the event loop: its own work would read as lag and shed itself.
      maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS ?? (database.kind === 'postgres' ? 1_000 : 0),
      maxDatabaseQueue: e.DATABASE_MAX_QUEUE,
      securityHeaders: e.SECURITY_HEADERS === 'on',
    }),
    graphql: Object.freeze({
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxCost: e.GRAPHQL_MAX_COST,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      queryCache: e.GRAPHQL_QUERY_CACHE,
      maxSubscriptions: e.GRAPHQL_MAX_SUBSCRIPTIONS,
      jit: e.GRAPHQL_JIT,
    }),
  });
}
