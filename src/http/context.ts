import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { WriteContext } from '../audit/append.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { badRequest } from '../errors.js';
import type { IdempotencyRequest, WriteResult } from '../services/write.js';
import { actorFor } from './plugins/auth.js';
import { Problem } from './schemas.js';

/** Server time of a request, whole milliseconds, read once so every part of it agrees. */
export function requestTime(): Date {
  return new Date(Date.now());
}

export function writeContext(request: FastifyRequest, userId: string | null): WriteContext {
  return { actor: actorFor(request, userId), requestId: String(request.id), now: requestTime() };
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key of a write, scoped to the caller and bound to the exact request. */
export function idempotencyOf(request: FastifyRequest): IdempotencyRequest | null {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return null;
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw badRequest('Idempotency-Key must be 1-255 visible ASCII characters', [{ path: 'header.idempotency-key', message: 'is not valid' }]);
  }
  return { sub: request.auth!.sub, key, fingerprint: requestFingerprint(request.method, request.url.split('?')[0], request.body) };
}

/**
 * What an Idempotency-Key is bound to: method, path and body. GraphQL mutations name the REST
 * request they stand for, so a key is one request whichever door it comes through.
 */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${body === undefined ? '' : canonicalJson(body)}`)
    .digest('hex');
}

/** Whether an Idempotency-Key is 1-255 visible ASCII characters. */
export const isIdempotencyKey = (key: string): boolean => KEY.test(key);

export function sendWrite(reply: FastifyReply, result: WriteResult): FastifyReply {
  for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  reply.code(result.status);
  return result.body === undefined || result.body === null ? reply.send() : reply.send(result.body);
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed (VALIDATION_FAILED)',
  401: 'No valid token (UNAUTHENTICATED)',
  403: 'The token lacks the scope, or acts for another user (FORBIDDEN)',
  404: 'Not found (NOT_FOUND)',
  409: 'Conflict with the current state, or an Idempotency-Key reused (CONFLICT, IDEMPOTENCY_KEY_REUSED)',
  412: 'If-Match does not match (PRECONDITION_FAILED)',
  413: 'Body too large (PAYLOAD_TOO_LARGE)',
  415: 'Body is not application/json (UNSUPPORTED_MEDIA_TYPE)',
  422: 'Refers to something that does not exist or cannot be done (UNPROCESSABLE)',
  429: 'Too many requests from this caller (RATE_LIMITED); retry after Retry-After seconds',
  500: 'Internal error (INTERNAL)',
  503: 'The database is unavailable, recent writes have not settled, or the service is overloaded (UNAVAILABLE); retry after Retry-After seconds',
};

/** Problem responses of an operation, for its OpenAPI description: every operation may also be rate-limited or shed. */
export function errorResponses(...codes: number[]) {
  const all = [...new Set([401, 403, 429, 500, 503, ...codes])].sort();
  return Object.fromEntries(all.map((c) => [c, problem(DESCRIPTIONS[c])]));
}

export const writeErrors = (...codes: number[]) => errorResponses(400, 409, 413, 415, ...codes);

export const IdempotencyHeaders = z.looseObject({
  'idempotency-key': z.string().optional().describe('Retries with the same key and request return the first response'),
});
