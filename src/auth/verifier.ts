import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Config } from '../config.js';
import { ALGORITHMS, loadOrCreateDevKeys, publicKeys } from './keys.js';

export const SCOPES = ['consent:self', 'consent:read', 'consent:write', 'training:read', 'audit:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  sub: string;
  scopes: ReadonlySet<string>;
}

export class TokenRejected extends Error {}

const CLOCK_TOLERANCE_S = 30;
/** A verified token is trusted from the cache for at most this long (and never past its exp). */
const CACHE_TTL_MS = 60_000;
/** Characters from the end of a token (its signature) that key the cache of verified tokens. */
const CACHE_KEY_CHARS = 32;

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  /** The principal of a token verified a moment ago, without waiting; null when it must be verified. */
  cached(token: string): Principal | null;
  /** Keys to publish at /.well-known/jwks.json, or a URL to send callers to. */
  published: { keys: JWK[] } | { url: string };
  development: boolean;
  /** The verified-token cache: tokens held now, and its bound (TOKEN_CACHE_MAX_ENTRIES). */
  cacheSize?(): { size: number; max: number };
}

/**
 * Verifies bearer tokens with jose: signature by a configured key with an allowed algorithm,
 * `exp` present and not passed, `iss` and `aud` as configured, 30 s of clock tolerance. Tokens
 * that verified are remembered briefly, so a client's repeated token costs one signature check.
 */
export async function createTokenVerifier(config: Config): Promise<TokenVerifier> {
  let keySet: Parameters<typeof jwtVerify>[1];
  let published: TokenVerifier['published'];
  let development = false;
  if (config.auth.jwksUrl) {
    keySet = createRemoteJWKSet(new URL(config.auth.jwksUrl));
    published = { url: config.auth.jwksUrl };
  } else if (config.auth.jwksFile) {
    let jwks: { keys: JWK[] };
    try {
      jwks = JSON.parse(readFileSync(config.auth.jwksFile, 'utf8'));
    } catch (err) {
      throw new Error(`AUTH_JWKS_FILE ${config.auth.jwksFile} could not be read as a JWKS: ${(err as Error).message}`);
    }
    if (!Array.isArray(jwks?.keys)) throw new Error(`AUTH_JWKS_FILE ${config.auth.jwksFile} has no "keys" array`);
    published = publicKeys(jwks);
    keySet = createLocalJWKSet(published);
  } else {
    const dev = await loadOrCreateDevKeys(config.dataDir);
    published = dev.publicJwks;
    keySet = createLocalJWKSet(dev.publicJwks);
    development = true;
  }

  // Keyed by the end of the token (its signature) to hash a few characters rather than the whole
  // token on every request; a hit must still be the very same token.
  const keyOf = (token: string) => token.slice(-CACHE_KEY_CHARS);
  const cache = new Map<string, { token: string; principal: Principal; until: number }>();
  const cached = (token: string): Principal | null => {
    const hit = cache.get(keyOf(token));
    return hit !== undefined && hit.token === token && hit.until > Date.now() ? hit.principal : null;
  };
  const cacheMax = config.memory.tokenCacheMaxEntries;
  return {
    published,
    development,
    cached,
    cacheSize: () => ({ size: cache.size, max: cacheMax }),
    async verify(token: string): Promise<Principal> {
      const hit = cached(token);
      if (hit !== null) return hit;
      const now = Date.now();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet as never, {
          issuer: config.auth.issuer,
          audience: config.auth.audience,
          algorithms: [...ALGORITHMS],
          clockTolerance: CLOCK_TOLERANCE_S,
          requiredClaims: ['exp'],
        }));
      } catch (err) {
        throw new TokenRejected(describe(err));
      }
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new TokenRejected('the token has no sub');
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      const principal: Principal = { sub: payload.sub, scopes: new Set(scope.split(' ').filter(Boolean)) };
      // Bounded: when full, it starts over (the tokens in use come back at once).
      if (cacheMax === 0) return principal;
      if (cache.size >= cacheMax) cache.clear();
      cache.set(keyOf(token), { token, principal, until: Math.min(now + CACHE_TTL_MS, (payload.exp! + CLOCK_TOLERANCE_S) * 1000) });
      return principal;
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the token's ${err.claim} claim is not accepted`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token is not signed by a known key';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'the token is malformed';
  return 'the token could not be verified';
}
