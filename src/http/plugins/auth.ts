import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TokenRejected, type Principal, type Scope, type TokenVerifier } from '../../auth/verifier.js';
import type { Actor } from '../../audit/append.js';
import { forbidden, unauthenticated } from '../../errors.js';

/**
 * What a route needs, declared in its `config.auth`: `public` routes need nothing; `anyToken`
 * routes any valid token; others one of `scopes`, or `consent:self` when `self` is set, in which
 * case the handler names the user acted on and `requireUser` holds the caller to its own `sub`.
 */
export interface RouteAuth {
  public?: boolean;
  anyToken?: boolean;
  scopes?: readonly Scope[];
  self?: boolean;
}

export interface RequestAuth extends Principal {
  /** True when only consent:self let the caller in: it may act on its own sub alone. */
  selfOnly: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: RequestAuth | null;
  }
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
}

function bearer(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) throw unauthenticated('an Authorization: Bearer token is required');
  const match = /^Bearer\s+([A-Za-z0-9_\-.~+/=]+)\s*$/i.exec(header);
  if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Holds a consent:self caller to its own user. */
export function requireUser(request: FastifyRequest, userId: string): void {
  const auth = request.auth!;
  if (auth.selfOnly && auth.sub !== userId) throw forbidden('a consent:self token may only act on its own user');
}

/** The audit actor: the user itself when a consent:self token acts on its own sub. */
export function actorFor(request: FastifyRequest, userId: string | null): Actor {
  const auth = request.auth!;
  const kind = auth.scopes.has('consent:self') && userId !== null && auth.sub === userId ? 'user' : 'service';
  return { sub: auth.sub, kind };
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { verifier: TokenVerifier }) => {
    app.decorateRequest('auth', null);
    app.addHook('onRequest', async (request) => {
      const rule = request.routeOptions.config?.auth;
      if (!rule || rule.public) return;
      let principal: Principal;
      try {
        principal = await opts.verifier.verify(bearer(request));
      } catch (err) {
        if (err instanceof TokenRejected) throw unauthenticated(err.message);
        throw err;
      }
      if (rule.anyToken || principal.scopes.has('admin') || rule.scopes?.some((s) => principal.scopes.has(s))) {
        request.auth = { ...principal, selfOnly: false };
        return;
      }
      if (rule.self && principal.scopes.has('consent:self')) {
        request.auth = { ...principal, selfOnly: true };
        return;
      }
      throw forbidden(`this operation needs one of the scopes: ${[...(rule.scopes ?? []), ...(rule.self ? ['consent:self'] : [])].join(', ')}`);
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);
