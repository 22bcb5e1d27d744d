import { beforeAll, describe, expect, it } from 'vitest';
import { simpleArguments } from '../../src/graphql/direct.js';
import { graphqlJs } from '../../src/graphql/graphql-js.js';
import { loadSchemaSdl } from '../../src/graphql/schema.js';

/**
 * A direct answer takes its arguments from the request's variables itself when they need no
 * coercion (`simpleArguments`): where it answers, it must answer what graphql-js's
 * `getVariableValues` and `getArgumentValues` do, and where graphql-js refuses, it must leave the
 * request to graphql-js.
 */
let schema: ReturnType<typeof graphqlJs.buildSchema>;
let query: ReturnType<NonNullable<ReturnType<typeof schema.getQueryType>>['getFields']>;
beforeAll(() => {
  schema = graphqlJs.buildSchema(loadSchemaSdl());
  query = schema.getQueryType()!.getFields();
});

function planOf(source: string) {
  const operation = graphqlJs.parse(source, { noLocation: true }).definitions[0] as import('graphql').OperationDefinitionNode;
  const field = operation.selectionSet.selections[0] as import('graphql').FieldNode;
  return { operation, field, def: query[field.name.value], args: simpleArguments(operation, field, query[field.name.value]) };
}

/** What graphql-js makes of the variables: the arguments, or null where it refuses them. */
function byGraphqlJs(plan: ReturnType<typeof planOf>, variables: Record<string, unknown>): Record<string, unknown> | null {
  const coerced = graphqlJs.getVariableValues(schema, plan.operation.variableDefinitions ?? [], variables, { maxErrors: 1 });
  if (coerced.errors !== undefined) return null;
  try {
    return { ...graphqlJs.getArgumentValues(plan.def, plan.field, coerced.coerced) };
  } catch {
    return null;
  }
}

const VALUES: unknown[] = ['bench-u-000001', '', 'ünïcødé \u2028 "quoted"', 42, 4.5, -1, true, false, null, [], ['a'], {}, { id: 'x' }, undefined];

describe('direct answers: arguments from simple variables', () => {
  it.each([
    'query($id: ID!) { trainingConsent(userId: $id) { userId } }',
    'query($id: ID!) { trainingEligibility(chatId: $id) { chatId } }',
    // Not what validation lets through (a nullable variable for a non-null argument), and still graphql-js's answer.
    'query($id: ID) { trainingConsent(userId: $id) { userId } }',
    'query($id: String!) { policy(version: $id) { version } }',
  ])('equals graphql-js wherever it answers, and answers the plain cases: %s', (source) => {
    const plan = planOf(source);
    expect(plan.args).not.toBeNull();
    let answered = 0;
    for (const a of VALUES) {
      for (const extra of [{}, { unused: 'x' }]) {
        const variables: Record<string, unknown> = { ...extra };
        if (a !== undefined) variables.id = a;
        const fast = plan.args!(variables);
        const slow = byGraphqlJs(plan, variables);
        if (fast !== null) {
          answered++;
          expect(fast, JSON.stringify(variables)).toEqual(slow);
        }
        if (typeof a === 'string') expect(fast, JSON.stringify(variables)).not.toBeNull();
      }
    }
    expect(answered).toBeGreaterThan(0);
  });

  it('leaves to graphql-js what needs coercion or defaults', () => {
    const cases = [
      // A custom scalar, a list, a literal, a default value.
      'query($id: ID!, $r: Revision) { trainingEligibility(chatId: $id, atRevision: $r) { chatId } }',
      'query($ids: [ID!]!) { trainingEligibilityBatch(chatIds: $ids) { revision } }',
      'query { trainingConsent(userId: "u") { userId } }',
      'query($id: ID! = "u") { trainingConsent(userId: $id) { userId } }',
    ];
    for (const source of cases) expect(planOf(source).args, source).toBeNull();
  });
});
