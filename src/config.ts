import { resolve } from 'node:path';
import { z } from 'zod';
import type { DatabaseTarget } from './db/client.js';

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
  DATA_DIR: z.string().min(1).default('./data'),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  AUTH_JWKS_FILE: z.string().min(1).optional(),
  AUTH_ISSUER: z.string().min(1).default('consent-service-dev'),
  AUTH_AUDIENCE: z.string().min(1).default('consent-service'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SIGNING_KEYS_FILE: z.string().min(1).optional(),
  /** 0: no scheduled checkpoints (only on demand). */
  CHECKPOINT_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(60),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseTarget;
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
  if (e.AUTH_JWKS_URL && e.AUTH_JWKS_FILE) {
    throw new ConfigError(['AUTH_JWKS_URL and AUTH_JWKS_FILE: set one of them, not both']);
  }
  const dataDir = resolve(e.DATA_DIR);
  const database: DatabaseTarget =
    e.DATABASE_URL === undefined
      ? { kind: 'pglite', dataDir }
      : e.DATABASE_URL === 'memory://'
        ? { kind: 'pglite', dataDir: null }
        : { kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE };
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    database,
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
  });
}
