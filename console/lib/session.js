// @ts-check
/**
 * The signed-in token. It lives in this module's memory only: never in storage, a cookie or the
 * URL, so it is gone when the tab closes or reloads.
 */

/** @type {string | null} */
let token = null;

/** @param {string} value */
export function signIn(value) {
  token = value;
}

export function signOut() {
  token = null;
}

export function currentToken() {
  return token;
}

/**
 * What the token says about itself (subject, scopes, expiry), read without verifying it: for
 * display only. The service decides what the token may do.
 * @returns {{ sub: string, scopes: string[], exp: number | null } | null}
 */
export function claims() {
  if (token === null) return null;
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))));
    return {
      sub: String(json.sub ?? ''),
      scopes: typeof json.scope === 'string' ? json.scope.split(' ').filter(Boolean) : [],
      exp: typeof json.exp === 'number' ? json.exp : null,
    };
  } catch {
    return null;
  }
}
