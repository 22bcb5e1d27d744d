import { createHash } from 'node:crypto';
import type { PersistedQueryProvider } from 'mercurius';

/** A body's `extensions.persistedQuery` (the automatic persisted queries protocol, version 1). */
interface PersistedQueryExtension {
  version?: unknown;
  sha256Hash?: unknown;
}

const extensionOf = (body: { extensions?: unknown }): PersistedQueryExtension | undefined => {
  const extensions = body.extensions as { persistedQuery?: PersistedQueryExtension } | null | undefined;
  return typeof extensions === 'object' && extensions !== null ? extensions.persistedQuery : undefined;
};

/**
 * Automatic persisted queries, the protocol Apollo's clients speak: a client sends a query's
 * SHA-256 alone, and the query with it when the server does not know the hash yet. What
 * mercurius's `persistedQueryDefaults.automatic` does, with the store kept here, so that:
 * - it is bounded (`GRAPHQL_QUERY_CACHE`; the oldest query out first) and reported in /metrics;
 * - a direct answer (src/graphql/direct.ts) reads a hash's query without waiting for a promise, so
 *   that a hot read sent by its hash alone is answered directly too.
 *
 * A query is kept once mercurius has run it, sent with a hash that matches it (mercurius checks).
 */
export class PersistedQueries {
  private readonly queries = new Map<string, string>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.queries.size;
  }

  /** The query a body sent by its hash alone stands for; undefined if it is not such a body or the hash is not held. */
  queryOf(body: { query?: unknown; extensions?: unknown }): string | undefined {
    if (body.query !== undefined && body.query !== null) return undefined;
    const persisted = extensionOf(body);
    if (persisted === undefined || persisted.version !== 1 || typeof persisted.sha256Hash !== 'string') return undefined;
    return this.queries.get(persisted.sha256Hash);
  }

  private keep(hash: string, query: string): void {
    if (this.queries.has(hash) || this.max === 0) return;
    if (this.queries.size >= this.max) this.queries.delete(this.queries.keys().next().value!);
    this.queries.set(hash, query);
  }

  /** The provider mercurius is given (`persistedQueryProvider`). */
  provider(): PersistedQueryProvider {
    return {
      isPersistedQuery: (r) => !r.query && extensionOf(r) !== undefined,
      isPersistedQueryRetry: (r) => Boolean(r.query) && extensionOf(r) !== undefined,
      getHash: (r) => {
        const persisted = extensionOf(r)!;
        return (persisted.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : false) as string;
      },
      getQueryFromHash: async (hash) => this.queries.get(hash),
      getHashForQuery: (query) => createHash('sha256').update(query, 'utf8').digest('hex'),
      saveQuery: async (hash, query) => this.keep(hash, query),
      notFoundError: 'PersistedQueryNotFound',
      notSupportedError: 'PersistedQueryNotSupported',
      mismatchError: 'provided sha does not match query',
    };
  }
}
