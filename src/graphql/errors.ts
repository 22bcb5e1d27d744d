import type { FastifyBaseLogger, FastifyError, FastifyRequest } from 'fastify';
import type { ExecutionResult, FieldNode, GraphQLError as GraphQLErrorType, GraphQLFormattedError, SelectionSetNode, SourceLocation } from 'graphql';
import type { MercuriusContext } from 'mercurius';
import { FollowerBehind } from '../audit/follower.js';
import { AppError } from '../errors.js';
import { toAppError } from '../http/plugins/errors.js';
import { graphqlJs } from './graphql-js.js';

const { GraphQLError, Kind, getLocation, parse } = graphqlJs;
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

/**
 * A compiled query (graphql-jit) coerces its variables itself the first time it runs, and words
 * a bad value as `Variable "$id" got invalid value V; Expected type ID; ID cannot represent…`;
 * graphql-js, which checks them every other time, as `Variable "$id" got invalid value V; ID
 * cannot represent…`. The same request gets the same message whichever ran.
 */
function jitVariableMessage(message: string): string {
  return message.startsWith('Variable "$') ? message.replace(/; Expected type [^;.]+; /, '; ') : message;
}

/**
 * Where in the document a field's error is: a compiled query's errors carry their `path` but not
 * their `locations`, which graphql-js gives; they are found again from the path. Errors are rare,
 * so the document is parsed again here rather than kept.
 */
export function locate(source: unknown, operationName: unknown, path: readonly (string | number)[]): SourceLocation[] | undefined {
  if (typeof source !== 'string') return undefined;
  try {
    const document = parse(source);
    const operation = document.definitions.find(
      (d) => d.kind === Kind.OPERATION_DEFINITION && (typeof operationName !== 'string' || d.name?.value === operationName),
    );
    if (operation?.kind !== Kind.OPERATION_DEFINITION) return undefined;
    const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
    const find = (set: SelectionSetNode | undefined, key: string): FieldNode | undefined => {
      for (const selection of set?.selections ?? []) {
        if (selection.kind === Kind.FIELD) {
          if ((selection.alias ?? selection.name).value === key) return selection;
        } else {
          const inner = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : fragments.get(selection.name.value)?.selectionSet;
          const found = find(inner, key);
          if (found) return found;
        }
      }
      return undefined;
    };
    let set: SelectionSetNode | undefined = operation.selectionSet;
    let field: FieldNode | undefined;
    for (const key of path) {
      if (typeof key === 'number') continue;
      field = find(set, key);
      if (!field) return undefined;
      set = field.selectionSet;
    }
    return field?.loc ? [getLocation(field.loc.source, field.loc.start)] : undefined;
  } catch {
    return undefined;
  }
}

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
  const keep = (message: string, extensions: Record<string, unknown>, status: number): ClientError => {
    const error = new GraphQLError(message, { nodes: err.nodes, source: err.source, positions: err.positions, path: err.path, extensions });
    // A compiled query's errors (graphql-jit) carry their locations without the nodes they come from.
    if (error.locations === undefined && err.locations !== undefined) (error as { locations?: unknown }).locations = err.locations;
    return { error, status };
  };
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
    return [keep(jitVariableMessage(err.message), { code }, 400)];
  }
  // graphql's own wrapping (a variable's coercion, a located error) says more than what it wraps,
  // unless what it wraps may not be told (INTERNAL): then nothing of either is.
  if (original instanceof GraphQLError) {
    return classify(original, log, request).map((c) => (c.status < 500 ? keep(err.message, c.error.extensions ?? {}, c.status) : c));
  }
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
    if (formatted.locations === undefined && formatted.path !== undefined && request !== null) {
      const given = (request.method === 'GET' ? request.query : request.body) as { query?: unknown; operationName?: unknown } | undefined;
      const locations = locate(given?.query, given?.operationName, formatted.path);
      if (locations) Object.assign(formatted, { locations });
    }
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
