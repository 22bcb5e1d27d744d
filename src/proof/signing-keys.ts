import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { canonicalJson } from '../audit/canonical-json.js';
import { publicKeys } from '../auth/keys.js';

/** The development signing keys' file in DATA_DIR, made on first use when SIGNING_KEYS_FILE is not set. */
export const DEV_SIGNING_KEYS_FILE = 'dev-receipt-signing-keys.jwks.json';

/**
 * The service's own signing keys: receipts and checkpoints are compact JWS signed with EdDSA
 * (Ed25519) by the first key of the set; the others are retired keys, still published so that
 * what they signed keeps verifying. `iss` (AUTH_AUDIENCE) travels in every protected header.
 */
export class Signer {
  private constructor(
    private readonly key: CryptoKey,
    readonly kid: string,
    readonly issuer: string,
    /** Public halves of every key, current first. */
    readonly publicJwks: { keys: JWK[] },
    readonly development: boolean,
    /** A secret only the holder of the current key knows: keys pseudonyms that must not be guessable (erasure). */
    readonly pseudonymKey: Buffer,
  ) {}

  static async fromJwks(jwks: { keys: JWK[] }, issuer: string, development: boolean, source: string): Promise<Signer> {
    if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) throw new Error(`${source} has no signing key in "keys"`);
    const keys: JWK[] = [];
    for (const [i, k] of jwks.keys.entries()) {
      if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string') {
        throw new Error(`${source}: key ${i} is not an Ed25519 key (kty OKP, crv Ed25519)`);
      }
      if (i === 0 && typeof k.d !== 'string') throw new Error(`${source}: the first key signs and must hold its private part ("d")`);
      keys.push({ ...k, kid: k.kid ?? (await calculateJwkThumbprint(k)), alg: 'EdDSA', use: 'sig' });
    }
    const kids = new Set(keys.map((k) => k.kid));
    if (kids.size !== keys.length) throw new Error(`${source}: two keys share a kid`);
    const current = keys[0];
    const key = (await importJWK(current, 'EdDSA')) as CryptoKey;
    const pseudonymKey = createHash('sha256').update(`consent-service pseudonyms\n${current.d}`).digest();
    return new Signer(key, current.kid!, issuer, publicKeys({ keys }), development, pseudonymKey);
  }

  /** A compact JWS over the RFC 8785 JSON of `payload`. */
  async sign(payload: object, typ: string): Promise<string> {
    return new CompactSign(Buffer.from(canonicalJson(payload), 'utf8'))
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ, iss: this.issuer })
      .sign(this.key);
  }
}

/** SIGNING_KEYS_FILE, or development keys in DATA_DIR (made on first use). */
export async function loadSigner(options: { file: string | null; dataDir: string; issuer: string }): Promise<Signer> {
  if (options.file !== null) {
    let jwks: { keys: JWK[] };
    try {
      jwks = JSON.parse(readFileSync(options.file, 'utf8'));
    } catch (err) {
      throw new Error(`SIGNING_KEYS_FILE ${options.file} could not be read as a JWKS: ${(err as Error).message}`);
    }
    return Signer.fromJwks(jwks, options.issuer, false, `SIGNING_KEYS_FILE ${options.file}`);
  }
  const path = join(options.dataDir, DEV_SIGNING_KEYS_FILE);
  if (!existsSync(path)) {
    mkdirSync(options.dataDir, { recursive: true });
    const jwks = { keys: [await newSigningKey()] };
    try {
      writeFileSync(path, JSON.stringify(jwks, null, 2), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process made it first: use theirs.
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
  }
  return Signer.fromJwks(JSON.parse(readFileSync(path, 'utf8')), options.issuer, true, path);
}

/** A new Ed25519 private JWK, its kid the RFC 7638 thumbprint: what a rotation puts first in the set. */
export async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'EdDSA', use: 'sig' };
}
