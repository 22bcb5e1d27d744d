// @ts-check
/**
 * Checking an EdDSA (Ed25519) compact JWS, as the service signs consent receipts, against the
 * keys it publishes (/.well-known/jwks.json), with WebCrypto.
 */

/** @param {string} text */
const base64url = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

/**
 * @param {string} jws
 * @param {{ keys: (JsonWebKey & { kid?: string })[] }} jwks
 * @returns {Promise<{ valid: boolean, payload: unknown, reason: string }>}
 */
export async function verifyJws(jws, jwks) {
  const [header64, payload64, signature64] = jws.split('.');
  const header = JSON.parse(new TextDecoder().decode(base64url(header64)));
  const payload = JSON.parse(new TextDecoder().decode(base64url(payload64)));
  if (header.alg !== 'EdDSA') return { valid: false, payload, reason: `algorithm ${header.alg} is not checked here` };
  const jwk = jwks.keys.find((k) => k.kid === header.kid && k.crv === 'Ed25519');
  if (!jwk) return { valid: false, payload, reason: `no published key ${header.kid}` };
  try {
    const key = await crypto.subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
    const valid = await crypto.subtle.verify({ name: 'Ed25519' }, key, base64url(signature64), new TextEncoder().encode(`${header64}.${payload64}`));
    return { valid, payload, reason: valid ? `signed with key ${header.kid}` : 'the signature does not match' };
  } catch (err) {
    return { valid: false, payload, reason: `this browser cannot check Ed25519 signatures (${String(err)})` };
  }
}
