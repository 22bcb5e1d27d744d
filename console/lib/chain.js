// @ts-check
/**
 * Verifying a user's hash chain in the browser, without trusting the service: each event's `hash`
 * is the lowercase hex SHA-256 (WebCrypto) of the RFC 8785 canonical JSON of the event as the API
 * returned it, minus `hash`; each `prevHash` is the previous event's `hash` (64 zeros first).
 * A redacted event (`redacted: true`, after an erasure) is taken at its `hash`, as the contract says.
 */

export const GENESIS = '0'.repeat(64);

/**
 * RFC 8785 for JSON values as the API returns them: keys sorted by UTF-16 code units, no
 * whitespace, strings and numbers as JSON.stringify writes them.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const obj = /** @type {Record<string, unknown>} */ (value);
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite numbers have no JSON form');
  return JSON.stringify(value);
}

/** @param {string} text */
async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Whether this page can verify: WebCrypto's digest exists only in secure contexts (HTTPS, or loopback). */
export const canVerify = () => typeof crypto !== 'undefined' && crypto.subtle !== undefined;

/**
 * @typedef {{ revision: string, hash: string, prevHash: string, redacted?: boolean, [key: string]: unknown }} ChainEvent
 * @typedef {{ revision: string, ok: boolean, problem: null | 'hash_mismatch' | 'prev_hash_mismatch' }} EventCheck
 */

/**
 * Verifies events of one chain given in order, continuing from `previous` (the hash before the
 * first of them: GENESIS for a chain's start).
 * @param {ChainEvent[]} events
 * @param {string} [previous]
 * @returns {Promise<{ checks: EventCheck[], head: string }>}
 */
export async function verifyChain(events, previous = GENESIS) {
  const checks = [];
  let head = previous;
  for (const event of events) {
    /** @type {EventCheck['problem']} */
    let problem = null;
    if (event.prevHash !== head) problem = 'prev_hash_mismatch';
    if (!event.redacted) {
      const { hash: _hash, ...rest } = event;
      if ((await sha256Hex(canonicalJson(rest))) !== event.hash) problem = 'hash_mismatch';
    }
    checks.push({ revision: event.revision, ok: problem === null, problem });
    head = event.hash;
  }
  return { checks, head };
}
