import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'consent-service';

export interface TokenOptions {
  sub?: string;
  scope?: string;
  iss?: string;
  aud?: string | string[];
  /** Seconds from now; negative for an expired token. Null for no exp claim. */
  expiresIn?: number | null;
  key?: CryptoKey;
  kid?: string;
  alg?: string;
}

/** A signing key published in a JWKS file for the service, and a way to mint tokens with it. */
export class TestKeys {
  private constructor(
    readonly jwksFile: string,
    private readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    /** The service's own signing keys (SIGNING_KEYS_FILE): receipts and checkpoints. */
    readonly signingKeysFile: string,
  ) {}

  static async create(): Promise<TestKeys> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'EdDSA', use: 'sig' };
    const dir = mkdtempSync(join(tmpdir(), 'consent-keys-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [publicJwk] }));
    const signing = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const signingKeysFile = join(dir, 'signing-keys.json');
    writeFileSync(signingKeysFile, JSON.stringify({ keys: [{ ...(await exportJWK(signing.privateKey)), kid: 'test-signing-key' }] }));
    return new TestKeys(jwksFile, privateKey, publicJwk, signingKeysFile);
  }

  async token(options: TokenOptions = {}): Promise<string> {
    const jwt = new SignJWT({ scope: options.scope ?? 'admin' })
      .setProtectedHeader({ alg: options.alg ?? 'EdDSA', kid: options.kid ?? 'test-key' })
      .setSubject(options.sub ?? 'tester')
      .setIssuer(options.iss ?? ISSUER)
      .setAudience(options.aud ?? AUDIENCE)
      .setIssuedAt();
    if (options.expiresIn !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 600));
    return jwt.sign(options.key ?? this.privateKey);
  }

  /** `Authorization` header value for a token with these scopes. */
  async bearer(scope: string, sub = 'tester'): Promise<string> {
    return `Bearer ${await this.token({ scope, sub })}`;
  }
}
