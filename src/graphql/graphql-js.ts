import { createRequire } from 'node:module';

/**
 * graphql-js as mercurius loads it (CommonJS). graphql ships an ES module build too, and a bundler
 * or test runner that picks it would give this code a second copy whose classes the schema's
 * objects are not instances of; loading it the way mercurius does keeps one copy.
 */
export const graphqlJs = createRequire(import.meta.url)('graphql') as typeof import('graphql');
