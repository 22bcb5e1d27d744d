import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isDatabaseUnavailable } from '../../db/unavailable.js';
import { AppError, toProblem, unavailable, type FieldError } from '../../errors.js';

export function sendProblem(reply: FastifyReply, err: AppError): FastifyReply {
  const retryAfter = err.retryAfterS ?? (err.status === 503 ? 1 : undefined);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply
    .code(err.status)
    .type('application/problem+json')
    .send(JSON.stringify(toProblem(err, String(reply.request.id))));
}

const FASTIFY_CODES: Record<string, (e: FastifyError) => AppError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (e) => new AppError('UNSUPPORTED_MEDIA_TYPE', `only application/json bodies are accepted (${e.message})`),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError('PAYLOAD_TOO_LARGE', 'the request body is larger than this endpoint accepts'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AppError('VALIDATION_FAILED', 'the body is empty but its content type is application/json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError('VALIDATION_FAILED', 'the body is not valid JSON'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AppError('VALIDATION_FAILED', 'the Content-Length does not match the body'),
  FST_ERR_HANDLER_TIMEOUT: () => unavailable('the request could not be answered in time; retry'),
  FST_ERR_BAD_URL: () => new AppError('VALIDATION_FAILED', 'the URL is not valid: a path segment has a malformed percent-encoding', [{ path: 'params', message: 'is not valid percent-encoding' }]),
  FST_ERR_MAX_PARAM_LENGTH: () => new AppError('VALIDATION_FAILED', 'a path parameter is far longer than any identifier (at most 128 characters)', [{ path: 'params', message: 'is too long' }]),
};

/** The catalogue's error for a failure Fastify or a route raised; null for an unexpected one (a 500). */
export function toAppError(err: FastifyError, request: FastifyRequest): AppError | null {
  if (err instanceof AppError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? 'body';
    const base = where === 'querystring' ? 'query' : where;
    const errors: FieldError[] = err.validation.flatMap((v) => {
      const path = [base, ...(v.instancePath ?? '').split('/').filter(Boolean)].join('.');
      // An unknown field is reported at its own path, one entry per field.
      const unknown = (v.params as { keys?: unknown } | undefined)?.keys;
      if (v.keyword === 'unrecognized_keys' && Array.isArray(unknown)) {
        return unknown.map((k) => ({ path: `${path}.${String(k)}`, message: 'is not a known field' }));
      }
      return [{ path, message: v.message ?? 'is not valid' }];
    });
    return new AppError('VALIDATION_FAILED', `the request ${where === 'querystring' ? 'query' : where} is not valid`, errors);
  }
  const byCode = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (byCode) return byCode(err);
  if (isDatabaseUnavailable(err)) return unavailable('the database is unavailable; retry shortly');
  if (err instanceof SyntaxError && err.statusCode === 400) return new AppError('VALIDATION_FAILED', 'the body is not valid JSON');
  if (err.statusCode === 413) return new AppError('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (err.statusCode === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 'only application/json bodies are accepted');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    request.log.debug({ err }, 'client error');
    return new AppError('VALIDATION_FAILED', err.message);
  }
  return null;
}

/** Errors Fastify meets before a route is found (a malformed URL, an oversized path parameter): the same problem documents. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  const known = toAppError(err, request) ?? new AppError('INTERNAL', 'an internal error occurred; quote the requestId when reporting it');
  sendProblem(reply, known);
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (a request line or headers over
 * the size limit, a malformed request, a request that took too long to arrive): answered on the
 * socket with a problem document and an X-Request-Id of their own, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const problem =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('HEADERS_TOO_LARGE', 'the request line and headers are larger than this service accepts (16 KiB); send long lists in a body')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('REQUEST_TIMEOUT', 'the request did not arrive in time')
        : new AppError('VALIDATION_FAILED', 'the request is not valid HTTP');
  const id = randomUUID();
  const body = JSON.stringify(toProblem(problem, id));
  socket.end(
    [
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}`,
      'Content-Type: application/problem+json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Request-Id: ${id}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

/** One error handler: every failure leaves as RFC 9457 problem+json, and a 5xx never says why. */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const known = toAppError(err, request);
      if (known) {
        // An unavailable database is logged by its code and message: during an outage every request says the same.
        if (known.status >= 500) request.log.warn({ cause: { code: (err as { code?: unknown }).code, message: err.message } }, known.message);
        return sendProblem(reply, known);
      }
      request.log.error({ err }, 'unhandled error');
      return sendProblem(reply, new AppError('INTERNAL', 'an internal error occurred; quote the requestId when reporting it'));
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(reply, new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
    );
  },
  { name: 'errors' },
);
