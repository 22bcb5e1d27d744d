import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

const PRIVATE_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export interface DevKeys {
  privateJwk: JWK;
  publicJwks: { keys: JWK[] };
  path: string;
}

/** Public parts of a key set: what may be published at /.well-known/jwks.json. */
export function publicKeys(jwks: { keys: JWK[] }): { keys: JWK[] } {
  return {
    keys: jwks.keys
      .filter((k) => k.kty !== 'oct')
      .map((k) => {
        const copy: Record<string, unknown> = { ...k };
        for (const f of PRIVATE_FIELDS) delete copy[f];
        return copy as JWK;
      }),
  };
}

/**
 * Development signing keys in DATA_DIR, made on first use: an Ed25519 pair whose public half
 * verifies tokens when no AUTH_JWKS_URL or AUTH_JWKS_FILE is configured.
 */
export async function loadOrCreateDevKeys(dataDir: string): Promise<DevKeys> {
  const path = join(dataDir, 'dev-signing-key.jwk.json');
  if (existsSync(path)) {
    const privateJwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
    return { privateJwk, publicJwks: publicKeys({ keys: [privateJwk] }), path };
  }
  mkdirSync(dataDir, { recursive: true });
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = await exportJWK(privateKey);
  privateJwk.kid = await calculateJwkThumbprint(privateJwk);
  privateJwk.alg = 'EdDSA';
  privateJwk.use = 'sig';
  writeFileSync(path, JSON.stringify(privateJwk, null, 2), { mode: 0o600, flag: 'wx' });
  return { privateJwk, publicJwks: publicKeys({ keys: [privateJwk] }), path };
}
