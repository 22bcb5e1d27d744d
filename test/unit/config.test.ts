import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults to the embedded database in ./data on 127.0.0.1:3000', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.database).toEqual({ kind: 'pglite', dataDir: c.dataDir });
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.auth).toEqual({ jwksUrl: null, jwksFile: null, issuer: 'consent-service-dev', audience: 'consent-service' });
    expect(c.logLevel).toBe('info');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('chooses PostgreSQL for postgres:// URLs and memory for memory://', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@h:5432/db',
      poolSize: 10,
      limits: { statementTimeoutMs: 10_000, connectTimeoutMs: 1_000, acquireTimeoutMs: 1_000 },
    });
    expect(loadConfig({ DATABASE_URL: 'memory://' }).database).toEqual({ kind: 'pglite', dataDir: null });
  });

  it('names every bad value in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', AUTH_JWKS_URL: 'ftp://keys' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'AUTH_JWKS_URL']) expect(message).toContain(name);
    expect(message).toContain('"eighty"');
  });

  it('refuses both key sources at once', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp/jwks', AUTH_JWKS_FILE: '/k.json' })).toThrow(/set one of them/);
  });

  it('validates the limits and the CORS origins', () => {
    const c = loadConfig({ RATE_LIMIT_MAX: '0', CORS_ORIGINS: 'https://chat.example.com, http://localhost:5173', REQUEST_TIMEOUT_MS: '2000' });
    expect(c.http).toEqual({
      requestTimeoutMs: 2000,
      streamTimeoutMs: 21_600_000,
      rateLimit: { max: 0, windowMs: 10_000 },
      corsOrigins: ['https://chat.example.com', 'http://localhost:5173'],
      maxEventLoopDelayMs: 0,
      maxDatabaseQueue: 1000,
      securityHeaders: true,
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).http.maxEventLoopDelayMs).toBe(1000);
    expect(loadConfig({ MAX_EVENT_LOOP_DELAY_MS: '250' }).http.maxEventLoopDelayMs).toBe(250);
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example/path' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '5' })).toThrow(/DATABASE_STATEMENT_TIMEOUT_MS/);
    expect(() => loadConfig({ RATE_LIMIT_WINDOW_MS: 'soon' })).toThrow(/RATE_LIMIT_WINDOW_MS/);
  });

  it('reads the read replicas and their bounds, and refuses them without a PostgreSQL primary', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write',
      DATABASE_READ_URLS: 'postgres://u@r1:5432/db, postgresql://u@r2/db',
      DATABASE_READ_MAX_LAG_MS: '500',
      MIN_REVISION_WAIT_MS: '250',
    });
    expect(c.readReplicas).toEqual({
      urls: ['postgres://u@r1:5432/db', 'postgresql://u@r2/db'],
      poolSize: 10,
      limits: { statementTimeoutMs: 10_000, connectTimeoutMs: 1_000, acquireTimeoutMs: 1_000 },
      read: { maxLagMs: 500, retryMs: 1_000, revisionWaitMs: 250 },
      publishEveryMs: 10,
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).readReplicas).toBeNull();
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_READ_URLS: 'mysql://r/db' })).toThrow(/DATABASE_READ_URLS/);
    expect(() => loadConfig({ DATABASE_READ_URLS: 'postgres://u@r1/db' })).toThrow(/need a PostgreSQL primary/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_READ_MAX_LAG_MS: '1' })).toThrow(/DATABASE_READ_MAX_LAG_MS/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', HOST: '' }).port).toBe(3000);
  });

  it('signs with development keys and makes a checkpoint every 60 s unless told otherwise', () => {
    expect(loadConfig({}).proof).toEqual({ signingKeysFile: null, checkpointIntervalS: 60 });
    const c = loadConfig({ SIGNING_KEYS_FILE: 'keys/signing.json', CHECKPOINT_INTERVAL_S: '0' });
    expect(c.proof.signingKeysFile!.endsWith('/keys/signing.json')).toBe(true);
    expect(c.proof.checkpointIntervalS).toBe(0);
    expect(() => loadConfig({ CHECKPOINT_INTERVAL_S: '-1' })).toThrow(/CHECKPOINT_INTERVAL_S/);
    expect(() => loadConfig({ CHECKPOINT_INTERVAL_S: 'hourly' })).toThrow(/CHECKPOINT_INTERVAL_S/);
  });
});
