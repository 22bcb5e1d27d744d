import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
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
  return bearerToken(request.headers.authorization);
}

/** The token of an `Authorization: Bearer <token>` value, or the error that refuses it. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw unauthenticated('an Authorization: Bearer token is required');
  const match = /^Bearer\s+([A-Za-z0-9_\-.~+/=]+)\s*$/i.exec(header);
  if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Holds a consent:self caller to its own user. */
export function requireUser(request: Pick<FastifyRequest, 'auth'>, userId: string): void {
  const auth = request.auth!;
  if (auth.selfOnly && auth.sub !== userId) throw forbidden('a consent:self token may only act on its own user');
}

/** The audit actor: the user itself when a consent:self token acts on its own sub. */
export function actorFor(request: Pick<FastifyRequest, 'auth'>, userId: string | null): Actor {
  const auth = request.auth!;
  const kind = auth.scopes.has('consent:self') && userId !== null && auth.sub === userId ? 'user' : 'service';
  return { sub: auth.sub, kind };
}

/** What the caller may do on a route (or GraphQL field), or the error that refuses it. */
export function admit(rule: RouteAuth, principal: Principal): RequestAuth {
  if (rule.anyToken || principal.scopes.has('admin') || rule.scopes?.some((s) => principal.scopes.has(s))) {
    return { sub: principal.sub, scopes: principal.scopes, selfOnly: false };
  }
  if (rule.self && principal.scopes.has('consent:self')) return { sub: principal.sub, scopes: principal.scopes, selfOnly: true };
  throw forbidden(`this operation needs one of the scopes: ${[...(rule.scopes ?? []), ...(rule.self ? ['consent:self'] : [])].join(', ')}`);
}

/** The onRequest hook of a route that needs a token: a token verified a moment ago is admitted without a promise. */
function authHook(rule: RouteAuth, verifier: TokenVerifier): onRequestHookHandler {
  return (request, _reply, done) => {
    let token: string;
    try {
      token = bearer(request);
      const known = verifier.cached(token);
      if (known !== null) {
        request.auth = admit(rule, known);
        return done();
      }
    } catch (err) {
      return done(err as Error);
    }
    verifier.verify(token).then(
      (principal) => {
        try {
          request.auth = admit(rule, principal);
          done();
        } catch (err) {
          done(err as Error);
        }
      },
      (err: unknown) => done(err instanceof TokenRejected ? unauthenticated(err.message) : (err as Error)),
    );
  };
}

/**
 * Every route registered after this plugin that declares a non-public `config.auth` gets its own
 * auth hook, ahead of its other onRequest hooks: nothing is looked up per request.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { verifier: TokenVerifier }) => {
    app.decorateRequest('auth', null);
    app.addHook('onRoute', (route) => {
      const rule = route.config?.auth;
      if (!rule || rule.public) return;
      const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
      route.onRequest = [authHook(rule, opts.verifier), ...own];
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);
