import type { FastifyBaseLogger, FastifyError, FastifyRequest } from 'fastify';
import type { ExecutionResult, GraphQLError as GraphQLErrorType, GraphQLFormattedError } from 'graphql';
import type { MercuriusContext } from 'mercurius';
import { FollowerBehind } from '../audit/follower.js';
import { AppError } from '../errors.js';
import { toAppError } from '../http/plugins/errors.js';
import { graphqlJs } from './graphql-js.js';

const { GraphQLError } = graphqlJs;
type GraphQLError = GraphQLErrorType;

/** Codes GraphQL adds to the catalogue's (src/errors.ts): they have no REST counterpart. */
export const GRAPHQL_CODES = {
  /** Too deep, too costly, or too many aliases: refused before it runs. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** A subscription's consumer fell too far behind and was ended. */
  TOO_FAR_BEHIND: 'TOO_FAR_BEHIND',
  /** An automatic persisted query's hash is not known yet: send the query with it. */
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
} as const;

const INTERNAL_MESSAGE = 'an internal error occurred; quote the requestId when reporting it';

interface ClientError {
  /** The error as the client sees it. */
  error: GraphQLError;
  /** The HTTP status it stands for, when it ends a request before anything ran. */
  status: number;
}

/** What may be told about a failure: the catalogue's code and message, or nothing but INTERNAL. */
function classify(err: GraphQLError, log: FastifyBaseLogger, request: FastifyRequest | null): ClientError[] {
  const original = err.originalError as (Error & { errors?: unknown; code?: string; statusCode?: number }) | undefined;
  const keep = (message: string, extensions: Record<string, unknown>, status: number): ClientError => ({
    error: new GraphQLError(message, { nodes: err.nodes, source: err.source, positions: err.positions, path: err.path, extensions }),
    status,
  });
  if (original instanceof AppError) {
    if (original.status >= 500) log.warn({ err: original }, original.message);
    return [keep(original.message, { code: original.code, ...(original.errors ? { errors: original.errors } : {}) }, original.status)];
  }
  // mercurius reports failed validation as one error holding graphql's errors.
  if (original && Array.isArray(original.errors)) {
    return original.errors.flatMap((e: unknown) =>
      classify(e instanceof GraphQLError ? e : new GraphQLError((e as Error).message, { originalError: e as Error }), log, request),
    );
  }
  if (original instanceof FollowerBehind) {
    return [keep(original.message, { code: GRAPHQL_CODES.TOO_FAR_BEHIND, lastDelivered: original.lastDelivered }, 200)];
  }
  if (original === undefined || original === null) {
    // Made by graphql itself (syntax, validation, coercion of arguments) or by the limits: about the request only.
    const code = typeof err.extensions?.code === 'string' ? err.extensions.code : 'VALIDATION_FAILED';
    return [keep(err.message, { code }, 400)];
  }
  if (original instanceof GraphQLError) return classify(original, log, request);
  if (original.code === 'MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND') {
    return [keep('PersistedQueryNotFound', { code: GRAPHQL_CODES.PERSISTED_QUERY_NOT_FOUND }, 200)];
  }
  if (original.code?.startsWith('MER_ERR_') && original.statusCode !== undefined && original.statusCode < 500) {
    return [keep(original.message, { code: 'VALIDATION_FAILED' }, original.statusCode)];
  }
  if (original.code?.startsWith('FST_') && request !== null) {
    const known = toAppError(original as FastifyError, request);
    if (known) return [keep(known.message, { code: known.code }, known.status)];
  }
  log.error({ err: original }, 'unhandled error in a GraphQL operation');
  return [keep(INTERNAL_MESSAGE, { code: 'INTERNAL' }, 500)];
}

/**
 * mercurius's error formatter: each error carries the catalogue's `code` (and `errors` for
 * VALIDATION_FAILED) in `extensions`, with the request's id; anything unexpected is INTERNAL and
 * says nothing more. An operation that ran answers 200 (its errors are beside its data); one
 * refused before running answers the status of its first error (401 for a missing or bad token).
 */
export function formatErrors(execution: ExecutionResult, ctx: MercuriusContext): { statusCode: number; response: ExecutionResult } {
  const request = ctx.reply?.request ?? null;
  const log = request?.log ?? ctx.app.log;
  const classified = (execution.errors ?? []).flatMap((e) =>
    classify(e instanceof GraphQLError ? e : new GraphQLError((e as Error).message, { originalError: e as Error }), log, request),
  );
  const requestId = request ? String(request.id) : undefined;
  const errors = classified.map(({ error }) => {
    const formatted = error.toJSON() as GraphQLFormattedError & { extensions: Record<string, unknown> };
    if (requestId !== undefined) formatted.extensions = { ...formatted.extensions, requestId };
    return formatted as unknown as GraphQLError;
  });
  const ran = 'data' in execution;
  return {
    statusCode: ran ? 200 : (classified[0]?.status ?? 500),
    response: { data: execution.data ?? null, errors },
  };
}

/** An error a subscription may send: mercurius sends what a subscription throws as it is. */
export function subscriptionError(err: unknown, log: FastifyBaseLogger): GraphQLError {
  const graphqlError = err instanceof GraphQLError ? err : new GraphQLError((err as Error).message, { originalError: err as Error });
  return classify(graphqlError, log, null)[0].error;
}
