import { base64url, generateKeyPair, SignJWT } from 'jose';
import { AUDIENCE, ISSUER, type TestKeys } from './tokens.js';

export const b64json = (value: unknown) => base64url.encode(JSON.stringify(value));

/** A token signed with HMAC: never accepted, whatever the secret. */
export function hs256(secret: Uint8Array): Promise<string> {
  return new SignJWT({ scope: 'admin' })
    .setProtectedHeader({ alg: 'HS256', kid: 'test-key' })
    .setSubject('attacker')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(secret);
}

function unsecured(header: Record<string, string>): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: 'attacker', scope: 'admin', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 };
  return `Bearer ${b64json(header)}.${b64json(payload)}.`;
}

/** Every kind of bad credential (SPEC §3), as an Authorization value (null: none); each would carry the admin scope if accepted. */
export function badCredentials(keys: TestKeys): { kind: string; header: () => Promise<string | null> }[] {
  const other = async (alg: 'EdDSA' | 'ES256') => (await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {})).privateKey;
  return [
    { kind: 'no Authorization header', header: async () => null },
    { kind: 'Basic scheme', header: async () => 'Basic YWRtaW46YWRtaW4=' },
    { kind: 'a token without the Bearer scheme', header: async () => keys.token({ scope: 'admin' }) },
    { kind: 'Bearer without a token', header: async () => 'Bearer' },
    { kind: 'garbage token', header: async () => 'Bearer this-is-not-a-jwt' },
    { kind: 'three garbage segments', header: async () => 'Bearer aaaa.bbbb.cccc' },
    { kind: 'expired beyond the 30 s tolerance', header: async () => `Bearer ${await keys.token({ scope: 'admin', expiresIn: -120 })}` },
    { kind: 'no exp claim', header: async () => `Bearer ${await keys.token({ scope: 'admin', expiresIn: null })}` },
    { kind: 'wrong issuer', header: async () => `Bearer ${await keys.token({ scope: 'admin', iss: 'https://evil.test' })}` },
    { kind: 'wrong audience', header: async () => `Bearer ${await keys.token({ scope: 'admin', aud: 'another-service' })}` },
    { kind: 'signed by another key under the trusted kid', header: async () => `Bearer ${await keys.token({ scope: 'admin', key: await other('EdDSA') })}` },
    { kind: 'signed by another key under an unknown kid', header: async () => `Bearer ${await keys.token({ scope: 'admin', key: await other('EdDSA'), kid: 'attacker-key' })}` },
    { kind: 'another key of an allowed algorithm (ES256)', header: async () => `Bearer ${await keys.token({ scope: 'admin', key: await other('ES256'), alg: 'ES256' })}` },
    { kind: 'alg none', header: async () => unsecured({ alg: 'none', kid: 'test-key' }) },
    { kind: 'HS256 keyed with the public JWK', header: async () => `Bearer ${await hs256(new TextEncoder().encode(JSON.stringify(keys.publicJwk)))}` },
  ];
}
