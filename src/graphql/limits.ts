import type {
  FieldNode,
  GraphQLField,
  GraphQLObjectType,
  GraphQLOutputType,
  SelectionSetNode,
  ValidationContext,
  ValidationRule,
  ValueNode,
} from 'graphql';
import { graphqlJs } from './graphql-js.js';
import { GRAPHQL_CODES } from './errors.js';

const { getNamedType, GraphQLError, isListType, isNonNullType, isObjectType, Kind } = graphqlJs;

export interface QueryLimits {
  /** Nesting of fields, introspection apart. */
  maxDepth: number;
  /** Resolver work: see `costOf`. */
  maxCost: number;
  maxAliases: number;
}

/** Introspection (`__schema`, `__type`) is bounded on its own: deep enough for GraphiQL's standard query, not for endless `ofType` chains. */
export const INTROSPECTION_MAX_DEPTH = 20;
/** What a page is assumed to hold when its size is a variable: the largest a page may be. */
const PAGE_MAX = 1_000;
const PAGE_DEFAULT = 100;
/** What an unpaged list (policies, terms acceptances) is assumed to hold. */
const LIST_GUESS = 10;

/** Fields whose resolvers read something (a service call, a loader): everything else is a property of what was read. */
export type CostlyFields = ReadonlySet<string>;

const tooComplex = (message: string, node: FieldNode | undefined) =>
  new GraphQLError(message, { nodes: node ? [node] : undefined, extensions: { code: GRAPHQL_CODES.QUERY_TOO_COMPLEX } });

function intArg(field: FieldNode, name: string, fallback: number, variable: number): number {
  const arg = field.arguments?.find((a) => a.name.value === name);
  if (!arg) return fallback;
  if (arg.value.kind === Kind.VARIABLE) return variable;
  if (arg.value.kind === Kind.INT) return Math.max(0, Number(arg.value.value));
  return fallback;
}

function listLength(value: ValueNode | undefined): number {
  if (value === undefined) return 0;
  if (value.kind === Kind.LIST) return value.values.length;
  return 1;
}

/**
 * How many parent objects a field's children are resolved for: a page's size (`first`), a list
 * of ids' length, or a guess for an unpaged list. Pages' `items` and a batch's `results` do not
 * multiply again: the field that asked for them did.
 */
function fanOut(field: FieldNode, def: GraphQLField<unknown, unknown>): number {
  if (def.args.some((a) => a.name === 'first')) return intArg(field, 'first', PAGE_DEFAULT, PAGE_MAX);
  const ids = field.arguments?.find((a) => a.name.value === 'chatIds');
  if (ids) return ids.value.kind === Kind.VARIABLE ? 10_000 : listLength(ids.value);
  let type: GraphQLOutputType = def.type;
  if (isNonNullType(type)) type = type.ofType;
  if (isListType(type) && !['items', 'results'].includes(def.name)) return LIST_GUESS;
  return 1;
}

/**
 * Measures one operation: the depth of its fields (introspection measured on its own), its cost
 * (each resolver that reads costs 1, and each item of a page 1, times how many parents they are
 * asked for), and its aliases.
 * Fragments are expanded; graphql's own rules have refused fragment cycles by then.
 */
export function measure(context: ValidationContext, root: GraphQLObjectType, selectionSet: SelectionSetNode, costly: CostlyFields) {
  let aliases = 0;
  let deepest: { depth: number; node?: FieldNode } = { depth: 0 };
  let introspectionDepth = 0;
  const walk = (parent: GraphQLObjectType, set: SelectionSetNode, depth: number, introspection: number): number => {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD || selection.kind === Kind.INLINE_FRAGMENT) {
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? context.getFragment(selection.name.value) : selection;
        if (!fragment) continue;
        const on = fragment.typeCondition ? context.getSchema().getType(fragment.typeCondition.name.value) : parent;
        if (isObjectType(on)) cost += walk(on, fragment.selectionSet, depth, introspection);
        continue;
      }
      const field = selection;
      if (field.alias) aliases++;
      const name = field.name.value;
      const inIntrospection = introspection > 0 || name === '__schema' || name === '__type';
      // Introspection's entry points are not among the root type's fields.
      const def =
        name === '__schema' || name === '__type'
          ? ({ name, args: [], type: context.getSchema().getType(name === '__schema' ? '__Schema' : '__Type')! } as unknown as GraphQLField<unknown, unknown>)
          : parent.getFields()[name];
      if (inIntrospection) introspectionDepth = Math.max(introspectionDepth, introspection + 1);
      else if (depth + 1 > deepest.depth) deepest = { depth: depth + 1, node: field };
      if (!def || !field.selectionSet) continue;
      const type = getNamedType(def.type);
      const own = costly.has(`${parent.name}.${name}`) ? 1 : 0;
      if (!isObjectType(type)) {
        cost += own;
        continue;
      }
      const below = walk(type, field.selectionSet, inIntrospection ? depth : depth + 1, inIntrospection ? introspection + 1 : 0);
      // Every item of a page is an object built and sent: it costs 1 besides what it reads.
      const perItem = def.args.some((a) => a.name === 'first') ? 1 : 0;
      cost += own + (inIntrospection ? below : fanOut(field, def) * (below + perItem));
    }
    return cost;
  };
  const cost = walk(root, selectionSet, 0, 0);
  return { depth: deepest.depth, deepestNode: deepest.node, introspectionDepth, cost, aliases };
}

/**
 * A validation rule (run before anything executes, its verdict cached with the query) that
 * refuses an operation too deep, too costly or with too many aliases, with QUERY_TOO_COMPLEX.
 */
export function complexityRule(limits: QueryLimits, costly: CostlyFields): ValidationRule {
  return (context: ValidationContext) => ({
    OperationDefinition(node) {
      const schema = context.getSchema();
      const root =
        node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      if (!root) return;
      const m = measure(context, root, node.selectionSet, costly);
      if (m.depth > limits.maxDepth) {
        context.reportError(tooComplex(`the query is ${m.depth} fields deep; at most ${limits.maxDepth} are allowed`, m.deepestNode));
      }
      if (m.introspectionDepth > INTROSPECTION_MAX_DEPTH) {
        context.reportError(tooComplex(`the introspection query is ${m.introspectionDepth} fields deep; at most ${INTROSPECTION_MAX_DEPTH} are allowed`, undefined));
      }
      if (m.cost > limits.maxCost) {
        context.reportError(tooComplex(`the query costs ${m.cost}; at most ${limits.maxCost} is allowed (each field that reads costs 1 per object it is asked for)`, undefined));
      }
      if (m.aliases > limits.maxAliases) {
        context.reportError(tooComplex(`the query has ${m.aliases} aliases; at most ${limits.maxAliases} are allowed`, undefined));
      }
    },
  });
}

/**
 * How deeply a query document nests its braces, brackets and parentheses (strings and comments
 * skipped), found in one pass before the document is parsed: graphql-js parses and validates by
 * recursion, and a document nested thousands deep would run it out of stack. No useful query
 * comes near the bound; the depth and cost rules above judge the rest.
 */
export const MAX_DOCUMENT_NESTING = 100;

export function documentNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end === -1 ? source.length : end + 2;
      } else {
        for (i++; i < source.length && source.charCodeAt(i) !== 0x22; i++) if (source.charCodeAt(i) === 0x5c) i++;
      }
    } else if (c === 0x7b || c === 0x5b || c === 0x28 /* { [ ( */) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d || c === 0x29 /* } ] ) */) {
      depth--;
    }
  }
  return deepest;
}

/** Refuses a document nested too deeply to parse safely, with QUERY_TOO_COMPLEX. */
export function requireParsableNesting(source: unknown): void {
  if (typeof source !== 'string') return;
  const nesting = documentNesting(source);
  if (nesting > MAX_DOCUMENT_NESTING) {
    throw tooComplex(`the query nests ${nesting} levels of braces, brackets and parentheses; at most ${MAX_DOCUMENT_NESTING} are allowed`, undefined);
  }
}
