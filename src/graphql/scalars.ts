import type { ValueNode } from 'graphql';
import { graphqlJs } from './graphql-js.js';

const { GraphQLError, Kind } = graphqlJs;

/**
 * The scalars take what REST takes as strings and leave checking them to the REST zod schemas in
 * the resolvers, so that a bad value gets the same VALIDATION_FAILED message through either door.
 */
const notA = (what: string) => new GraphQLError(`expected ${what}`, { extensions: { code: 'VALIDATION_FAILED' } });

function stringScalar(what: string, alsoInt: boolean) {
  const parseValue = (value: unknown) => {
    if (typeof value === 'string') return value;
    if (alsoInt && typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    throw notA(what);
  };
  return {
    serialize: (value: unknown) => value,
    parseValue,
    parseLiteral: (ast: ValueNode) => {
      if (ast.kind === Kind.STRING) return ast.value;
      if (alsoInt && ast.kind === Kind.INT) return ast.value;
      throw notA(what);
    },
  };
}

export const scalarResolvers = {
  DateTime: stringScalar('an RFC 3339 timestamp string', false),
  Revision: stringScalar('a revision: a decimal string', true),
  JSON: { serialize: (value: unknown) => value, parseValue: (value: unknown) => value },
};
