// @ts-check
/**
 * Calls to the service's public API with the signed-in token: REST (problem documents, RFC 9457)
 * and GraphQL (codes in `extensions.code`). A refused token (401) signs the tab out; a missing
 * scope (403) is explained where the data would have been.
 */
import { h, notice } from './dom.js';
import { currentToken, signOut } from './session.js';

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} detail
   * @param {{ path: string, message: string }[]} [errors]
   * @param {number | null} [retryAfter]
   */
  constructor(status, code, detail, errors = [], retryAfter = null) {
    super(detail);
    this.status = status;
    this.code = code;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

/** Told when the service refuses the token: the app goes back to sign-in with the reason. */
export const signedOut = new EventTarget();

/** @param {string} detail */
function refused(detail) {
  signOut();
  signedOut.dispatchEvent(new CustomEvent('signed-out', { detail }));
}

/** @returns {Record<string, string>} */
function authorization() {
  const token = currentToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/**
 * A REST call. Resolves to the parsed body (null for 204); rejects with an ApiError.
 * @param {string} path
 * @param {{ method?: string, body?: unknown, headers?: Record<string, string>, token?: string }} [options]
 */
export async function api(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : authorization()), ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the service could not be reached');
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (res.ok) return body;
  const problem = typeof body === 'object' && body !== null ? body : { code: 'UNKNOWN', detail: String(body) };
  const error = new ApiError(res.status, problem.code ?? 'UNKNOWN', problem.detail ?? res.statusText, problem.errors ?? [], Number(res.headers.get('retry-after')) || null);
  if (res.status === 401 && !options.token) refused(error.message);
  throw error;
}

/**
 * A GraphQL operation. Resolves to `{ data, errors }`; errors of fields come back beside the data
 * (one field may be forbidden while others are not). Rejects with an ApiError when nothing ran.
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<{ data: any, errors: { message: string, path?: (string | number)[], extensions?: { code?: string } }[] }>}
 */
export async function graphql(query, variables = {}) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...authorization() },
    body: JSON.stringify({ query, variables }),
  }).catch(() => {
    throw new ApiError(0, 'NETWORK', 'the service could not be reached');
  });
  const body = await res.json().catch(() => ({}));
  const errors = body.errors ?? [];
  const code = errors[0]?.extensions?.code ?? 'UNKNOWN';
  if (res.status === 401 || code === 'UNAUTHENTICATED') {
    refused(errors[0]?.message ?? 'the token was refused');
    throw new ApiError(401, 'UNAUTHENTICATED', errors[0]?.message ?? 'the token was refused');
  }
  if (!res.ok || body.data == null) throw new ApiError(res.status, code, errors[0]?.message ?? res.statusText);
  return { data: body.data, errors };
}

/** A GraphQL field error as an ApiError, for `explain`. @param {{ message: string, extensions?: { code?: string } }} e */
export const fieldError = (e) => new ApiError(e.extensions?.code === 'FORBIDDEN' ? 403 : 400, e.extensions?.code ?? 'UNKNOWN', e.message);

/**
 * What to show where data could not be read.
 * @param {unknown} err
 * @param {string} [what] what could not be shown, for the message
 */
export function explain(err, what = 'this') {
  if (!(err instanceof ApiError)) return notice('bad', h('p', null, `Something went wrong showing ${what}: ${String(err)}`));
  if (err.status === 403) {
    return notice(
      'warn',
      h('p', null, h('strong', null, `Your token may not read ${what}. `), 'Sign in with a token that has the scope it needs.'),
      h('p', null, 'The service said: ', h('q', null, err.message)),
    );
  }
  if (err.status === 429 || err.status === 503) {
    return notice('warn', h('p', null, `The service is busy; try again${err.retryAfter ? ` in ${err.retryAfter} s` : ' shortly'}. `, h('q', null, err.message)));
  }
  if (err.status === 401) return notice('bad', h('p', null, 'The service refused the token: sign in again.'));
  return notice('bad', h('p', null, `Could not show ${what}: `, h('q', null, err.message), err.code ? ` (${err.code})` : ''));
}
