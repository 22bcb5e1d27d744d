import type { MercuriusContext } from 'mercurius';
import type { z } from 'zod';
import type { WriteContext } from '../audit/append.js';
import type { Principal } from '../auth/verifier.js';
import { badRequest, unauthenticated, type FieldError } from '../errors.js';
import { isIdempotencyKey, requestFingerprint, requestTime } from '../http/context.js';
import { actorFor, admit, requireUser, type RequestAuth, type RouteAuth } from '../http/plugins/auth.js';
import { requireStorable } from '../http/storable.js';
import type { IdempotencyRequest } from '../services/write.js';

declare module 'mercurius' {
  interface MercuriusContext {
    /** The caller: verified before a query or mutation runs, at `connection_init` for subscriptions. */
    principal?: Principal & { expiresAt?: number };
  }
}

/** The scope rules of the REST routes, by name, for the fields that stand for them. */
export const RULES = {
  readers: { scopes: ['consent:read', 'consent:write'], self: true },
  writers: { scopes: ['consent:write'], self: true },
  planWriters: { scopes: ['consent:write'] },
  pipelines: { scopes: ['training:read'] },
  anyToken: { anyToken: true },
  admins: { scopes: [] },
  userAudit: { scopes: ['audit:read'], self: true },
  feed: { scopes: ['training:read', 'audit:read'] },
  auditors: { scopes: ['audit:read'] },
} as const satisfies Record<string, RouteAuth>;

/**
 * What the caller may do on a field, by the rule of the REST route it stands for (`admit`), held
 * to its own user under consent:self (`requireUser`) when the field names one.
 */
export function allow(ctx: MercuriusContext, rule: RouteAuth, userId?: string): { auth: RequestAuth } {
  const principal = ctx.principal;
  if (principal === undefined) throw unauthenticated('an Authorization: Bearer token is required');
  if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) throw unauthenticated('the token has expired');
  const holder = { auth: admit(rule, principal) };
  if (userId !== undefined) requireUser(holder, userId);
  return holder;
}

/** GraphQL's explicit nulls mean "not given", as an absent REST field does. */
export function given<T>(value: T): Exclude<T, null> | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value as Exclude<T, null>;
  if (typeof value === 'object' && value !== undefined) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const g = given(v);
      if (g !== undefined) out[k] = g;
    }
    return out as Exclude<T, null>;
  }
  return value as Exclude<T, null>;
}

/**
 * Arguments checked with the REST route's zod schema, so limits and messages are the same; a
 * failure is VALIDATION_FAILED with one entry per problem, paths under `args` (`names` gives the
 * argument a schema's field stands for, as `first` for REST's `limit`).
 */
export function parseArgs<S extends z.ZodType>(schema: S, args: Record<string, unknown>, names: Record<string, string> = {}): z.output<S> {
  // The REST rule for text the database cannot store (src/http/storable.ts), on every argument.
  requireStorable(args, 'args');
  const parsed = schema.safeParse(given(args));
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = parsed.error.issues.flatMap((issue) => {
    const [head, ...rest] = issue.path.map(String);
    const path = ['args', ...(head === undefined ? [] : [names[head] ?? head]), ...rest].join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ path: `${path}.${k}`, message: 'is not a known field' }));
    return [{ path, message: issue.message }];
  });
  throw badRequest('the arguments are not valid', errors);
}

/** The write context of a mutation: its actor, the request's id, and the server's time. */
export function writeContextOf(ctx: MercuriusContext, holder: { auth: RequestAuth }, userId: string | null): WriteContext {
  return { actor: actorFor(holder, userId), requestId: String(ctx.reply.request.id), now: requestTime() };
}

/**
 * A mutation's `idempotencyKey`, in the callers' store shared with REST and bound to the REST
 * request the mutation stands for (method, path, body), so that a retry through either door replays.
 */
export function idempotencyOf(
  holder: { auth: RequestAuth },
  key: string | null | undefined,
  method: string,
  path: string,
  body?: unknown,
): IdempotencyRequest | null {
  if (key === null || key === undefined) return null;
  if (!isIdempotencyKey(key)) {
    throw badRequest('idempotencyKey must be 1-255 visible ASCII characters', [{ path: 'args.idempotencyKey', message: 'is not valid' }]);
  }
  return { sub: holder.auth.sub, key, fingerprint: requestFingerprint(method, path, body) };
}
