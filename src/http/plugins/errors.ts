import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, toProblem, type FieldError } from '../../errors.js';

export function sendProblem(reply: FastifyReply, err: AppError): FastifyReply {
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
  if (err instanceof SyntaxError && err.statusCode === 400) return new AppError('VALIDATION_FAILED', 'the body is not valid JSON');
  if (err.statusCode === 413) return new AppError('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (err.statusCode === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 'only application/json bodies are accepted');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    request.log.debug({ err }, 'client error');
    return new AppError('VALIDATION_FAILED', err.message);
  }
  return null;
}

/** One error handler: every failure leaves as RFC 9457 problem+json, and a 5xx never says why. */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const known = toAppError(err, request);
      if (known) {
        if (known.status >= 500) request.log.warn({ err }, known.message);
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
