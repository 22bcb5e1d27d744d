import { describe, expect, it } from 'vitest';
import { formatErrors, locate } from '../../src/graphql/errors.js';
import { graphqlJs } from '../../src/graphql/graphql-js.js';

const { GraphQLError } = graphqlJs;
const quiet = { app: { log: { error() {}, warn() {} } } } as never;

describe('GraphQL error formatting', () => {
  it('never tells an internal error, however deeply graphql wrapped it', () => {
    const internal = new Error('connection to 10.0.0.7 refused: password for admin');
    const inner = new GraphQLError(internal.message, { originalError: internal });
    const outer = new GraphQLError(internal.message, { originalError: inner, path: ['trainingConsent'] });
    const { statusCode, response } = formatErrors({ errors: [outer] }, quiet);
    expect(statusCode).toBe(500);
    expect(JSON.stringify(response)).not.toContain('10.0.0.7');
    expect(response.errors![0].extensions).toMatchObject({ code: 'INTERNAL' });
  });

  it("keeps graphql's own wording of a bad variable over the scalar's, whichever engine coerced it", () => {
    const scalar = new GraphQLError('ID cannot represent value: {}');
    const graphqlJsError = new GraphQLError('Variable "$id" got invalid value {}; ID cannot represent value: {}', { originalError: scalar });
    const jitError = new GraphQLError('Variable "$id" got invalid value {}; Expected type ID; ID cannot represent value: {}');
    const messages = [graphqlJsError, jitError].map((e) => formatErrors({ errors: [e] }, quiet).response.errors![0].message);
    expect(messages).toEqual(['Variable "$id" got invalid value {}; ID cannot represent value: {}', 'Variable "$id" got invalid value {}; ID cannot represent value: {}']);
  });

  it('finds a field error in the document from its path, through aliases and fragments', () => {
    const source = 'query Q {\n  a: user(userId: "x") { ...F }\n}\nfragment F on User {\n  chats { items { trainingEligibility { eligible } } }\n}';
    expect(locate(source, 'Q', ['a', 'chats', 'items', 3, 'trainingEligibility'])).toEqual([{ line: 5, column: 19 }]);
    expect(locate(source, undefined, ['a'])).toEqual([{ line: 2, column: 3 }]);
    expect(locate(source, 'Q', ['nope'])).toBeUndefined();
    expect(locate('{ broken', undefined, ['x'])).toBeUndefined();
  });
});
