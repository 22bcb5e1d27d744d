import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { WebSocket } from 'ws';
import { TokenRejected, type Principal, type TokenVerifier } from '../auth/verifier.js';
import { AppError } from '../errors.js';
import { bearerToken } from '../http/plugins/auth.js';

/** Close codes of the graphql-transport-ws protocol (the graphql-ws library's). */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
/** Tokens are accepted this long past their `exp`, as over HTTP (src/auth/verifier.ts). */
const CLOCK_TOLERANCE_MS = 30_000;
/** setTimeout's longest delay: a timer for a later expiry is set again when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Scopes that some subscription accepts: a token with none of them may subscribe to nothing. */
const SUBSCRIBING_SCOPES = ['consent:self', 'consent:read', 'consent:write', 'training:read', 'audit:read', 'admin'];

/** What mercurius calls `onConnect` on: its connection, holding the socket and the upgrade request. */
interface SubscriptionConnection {
  socket: WebSocket;
  context: { request: FastifyRequest };
}

/** Closes the socket when the token expires; forgets it when the socket closes first. */
function closeAtExpiry(socket: WebSocket, expiresAt: number): void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = expiresAt - Date.now();
    if (wait <= 0) socket.close(CLOSE_UNAUTHORIZED, 'the token has expired');
    else timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Authenticates a WebSocket at `connection_init`: the bearer token of the payload's
 * `authorization` (or of the upgrade request's header), verified as over HTTP. A missing or bad
 * token closes the socket with 4401, a token no subscription accepts with 4403, before any
 * subscription can start; a token that expires later closes it with 4401 then.
 *
 * mercurius calls this as a method of its connection object, the only place where the socket is
 * at hand at that moment (its `onConnect` is given the message alone): hence `this`.
 */
export function connectionAuthenticator(verifier: TokenVerifier) {
  return async function onConnect(this: SubscriptionConnection, data: { payload?: unknown }) {
    const payload = (data.payload ?? {}) as Record<string, unknown>;
    const given = payload.authorization ?? payload.Authorization;
    const header = typeof given === 'string' ? given : this.context.request.headers.authorization;
    let principal: Principal;
    let token: string;
    try {
      token = bearerToken(header);
      principal = verifier.cached(token) ?? (await verifier.verify(token));
    } catch (err) {
      const reason = err instanceof TokenRejected || err instanceof AppError ? err.message : 'the token could not be verified';
      this.socket.close(CLOSE_UNAUTHORIZED, `Unauthorized: ${reason}`.slice(0, 120));
      return false;
    }
    if (!SUBSCRIBING_SCOPES.some((s) => principal.scopes.has(s))) {
      this.socket.close(CLOSE_FORBIDDEN, 'Forbidden: the token has no scope any subscription accepts');
      return false;
    }
    const expiresAt = (decodeJwt(token).exp ?? 0) * 1000 + CLOCK_TOLERANCE_MS;
    closeAtExpiry(this.socket, expiresAt);
    return { principal: { ...principal, expiresAt } };
  };
}
