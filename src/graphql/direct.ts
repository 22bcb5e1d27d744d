import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {
  FieldNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLObjectType,
  GraphQLOutputType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  ValidationRule,
} from 'graphql';
import type { MercuriusContext } from 'mercurius';
import { graphqlJs } from './graphql-js.js';
import type { PersistedQueries } from './persisted.js';

const {
  getArgumentValues,
  getVariableValues,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  specifiedRules,
  validate,
} = graphqlJs;

/**
 * Direct answers: the hot reads (`trainingEligibility`, `trainingConsent`, and the 10,000-chat
 * `trainingEligibilityBatch`) asked in the shape clients ask them, answered without the executor.
 *
 * A query qualifies when its document is one query operation, without fragments or directives,
 * that asks one of the root fields a `DirectRoot` is given for, and below it only fields the
 * executor would read off the resolver's value as they are (no resolver, no loader, no arguments):
 * scalars, enums, `__typename`, objects and lists of them. Such a document is planned once (parsed,
 * validated with the same rules as mercurius, including the complexity limits) into a writer of
 * its JSON, kept beside mercurius's own query cache and bounded as it is (GRAPHQL_QUERY_CACHE; 0
 * turns direct answers off). At each request, the variables and arguments are coerced by
 * graphql-js's own functions, the root field's resolver is the one mercurius calls, and the
 * response is the bytes the executor would send: the same keys in the same order, the same values.
 *
 * A query sent by its hash alone (automatic persisted queries, src/graphql/persisted.ts) is answered
 * as its text would be, when the hash is held.
 *
 * Anything else goes to mercurius untouched, and so does any request a direct answer cannot give
 * exactly:
 * - variables or arguments that do not coerce (the executor words the error);
 * - a resolver that throws: the executor runs, and its resolver throws the same failure again
 *   instead of reading again (`replayFailure`), so a read that timed out is not tried twice;
 * - a value the executor would serialize differently or refuse (a null for a non-null field, an
 *   unknown enum value, a number where a string is due): the executor reads again and answers.
 *   These are reads, so that costs only the time.
 *
 * Why: behind mercurius a read costs its parsing of the body's query (cached), variable coercion
 * twice, the executor building the response's objects and `JSON.stringify` walking them again. For
 * the batch that is 10,000 objects built and serialized, where REST writes bytes (decision 0011).
 */

/** A root field answered directly: its resolver's value, and optionally its JSON as bytes for one selection. */
export interface DirectRoot {
  /** The field's value for coerced arguments: the resolver mercurius calls for it. */
  resolve(args: Record<string, unknown>, ctx: MercuriusContext): Promise<unknown>;
  /**
   * When the field's selection is exactly `shape` (`printShape`), its whole JSON written by the
   * service as bytes, between `before` and `after`.
   */
  bytes?: {
    shape: string;
    write(args: Record<string, unknown>, ctx: MercuriusContext, before: string, after: string): Promise<Buffer>;
  };
}

/** Thrown where the executor, not a direct answer, must answer. */
const INDIRECT: Error = new Error('answered by the executor');
function indirect(): never {
  throw INDIRECT;
}

/** A value as the executor would write it in the response's JSON. */
type Write = (value: unknown) => string;

/** What JSON.stringify escapes in a string, and any surrogate (a lone one it writes as an escape): those strings go through it. */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;
const quoted = (v: unknown) => (typeof v === 'string' ? (ESCAPED.test(v) ? JSON.stringify(v) : `"${v}"`) : indirect());

/** Scalars whose value passes through the executor unchanged when it already is of the right kind. */
const SCALARS: Record<string, Write> = {
  ID: quoted,
  String: quoted,
  // This service's scalars: strings in and out (src/graphql/scalars.ts).
  DateTime: quoted,
  Revision: quoted,
  Boolean: (v) => (v === true ? 'true' : v === false ? 'false' : indirect()),
  Int: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? String(v) : indirect()),
  Float: (v) => (typeof v === 'number' && Number.isFinite(v) ? JSON.stringify(v) : indirect()),
};

function leafWriter(type: GraphQLNamedType): Write | null {
  if (isEnumType(type)) {
    // Enum values whose internal value is their name (as every enum of the SDL here): written as they are.
    const names = new Set(type.getValues().filter((v) => v.value === v.name).map((v) => v.name));
    return (v) => (typeof v === 'string' && names.has(v) ? `"${v}"` : indirect());
  }
  return SCALARS[type.name] ?? null;
}

/** The writer of a field's value of `type` with `selection` below it, or null if it cannot be answered directly. */
function writerOf(type: GraphQLOutputType, selection: SelectionSetNode | undefined): Write | null {
  if (isNonNullType(type)) {
    const inner = valueWriter(type.ofType, selection);
    return inner && ((v) => (v === null || v === undefined ? indirect() : inner(v)));
  }
  const inner = valueWriter(type, selection);
  return inner && ((v) => (v === null || v === undefined ? 'null' : inner(v)));
}

/** The writer of a value that is not null. */
function valueWriter(type: GraphQLOutputType, selection: SelectionSetNode | undefined): Write | null {
  if (isNonNullType(type)) return null;
  if (isListType(type)) {
    const item = writerOf(type.ofType, selection);
    if (item === null) return null;
    return (v) => {
      if (!Array.isArray(v)) return indirect();
      const items = new Array<string>(v.length);
      for (let i = 0; i < v.length; i++) items[i] = item(v[i]);
      return `[${items.join(',')}]`;
    };
  }
  if (isObjectType(type)) return selection === undefined ? null : objectWriter(type, selection);
  return selection === undefined ? leafWriter(type) : null;
}

function objectWriter(type: GraphQLObjectType, selection: SelectionSetNode): Write | null {
  const keys: string[] = [];
  const names: string[] = [];
  const writers: (Write | null)[] = [];
  const seen = new Set<string>();
  for (const s of selection.selections) {
    if (s.kind !== Kind.FIELD || (s.directives?.length ?? 0) > 0 || (s.arguments?.length ?? 0) > 0) return null;
    const key = (s.alias ?? s.name).value;
    // A response key asked twice is merged by the executor: not planned.
    if (seen.has(key)) return null;
    seen.add(key);
    keys.push(`"${key}":`);
    names.push(s.name.value);
    if (s.name.value === '__typename') {
      if (s.selectionSet !== undefined) return null;
      writers.push(null);
      continue;
    }
    const def = type.getFields()[s.name.value] as GraphQLField<unknown, unknown> | undefined;
    // A field with a resolver of its own (a loader, a nested read) is the executor's.
    if (def === undefined || def.resolve !== undefined || def.subscribe !== undefined) return null;
    const w = writerOf(def.type, s.selectionSet);
    if (w === null) return null;
    writers.push(w);
  }
  const typename = `"${type.name}"`;
  const n = keys.length;
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return indirect();
    const o = v as Record<string, unknown>;
    let out = '{';
    for (let i = 0; i < n; i++) {
      const w = writers[i];
      let field: string;
      if (w === null) field = typename;
      else {
        const value = o[names[i]];
        // The default resolver calls a function it finds: not this writer's business.
        if (typeof value === 'function') return indirect();
        field = w(value);
      }
      out += i === 0 ? keys[i] + field : `,${keys[i]}${field}`;
    }
    return `${out}}`;
  };
}

/** A selection as text, fields in order with their aliases: what `DirectRoot.bytes.shape` is compared with. */
export function printShape(selection: SelectionSetNode | undefined): string | null {
  if (selection === undefined) return '';
  const parts: string[] = [];
  for (const s of selection.selections) {
    if (s.kind !== Kind.FIELD) return null;
    const below = printShape(s.selectionSet);
    if (below === null) return null;
    parts.push((s.alias ? `${s.alias.value}:` : '') + s.name.value + (below ? ` { ${below} }` : ''));
  }
  return parts.join(' ');
}

interface Plan {
  operation: OperationDefinitionNode;
  field: FieldNode;
  def: GraphQLField<unknown, unknown>;
  /** The field's arguments from the request's variables, where that needs no coercion (`simpleArguments`); null: graphql-js coerces. */
  args: ((variables: Record<string, unknown>) => Record<string, unknown> | null) | null;
  root: DirectRoot;
  /** `{"data":{"key":` */
  before: string;
  write: Write;
  bytes: boolean;
}

const AFTER = '}}';

/** A request a direct answer can be tried for: its plan, and the root field's arguments. */
export interface Prepared {
  plan: Plan;
  args: Record<string, unknown>;
}

const planKey = (query: string, operationName: string | undefined) => (operationName === undefined ? query : `${query}\u0000${operationName}`);

/** Plans, by query text and operation name; null: not answered directly. Oldest out first. */
export class DirectPlans {
  private readonly plans = new Map<string, Plan | null>();
  answered = 0;

  constructor(
    readonly max: number,
    private readonly roots: Readonly<Record<string, DirectRoot>>,
    private readonly rules: readonly ValidationRule[],
    private readonly persisted: PersistedQueries | null = null,
  ) {}

  get size(): number {
    return this.plans.size;
  }

  /** Whether a query has a plan already: it was parsed and validated when it was made. */
  planned(query: string, operationName: string | undefined): boolean {
    return this.plans.get(planKey(query, operationName)) != null;
  }

  /** The plan of a query, made the first time it is seen. */
  plan(schema: GraphQLSchema, query: string, operationName: string | undefined): Plan | null {
    const key = planKey(query, operationName);
    let plan = this.plans.get(key);
    if (plan !== undefined) return plan;
    plan = this.make(schema, query, operationName);
    if (this.plans.size >= this.max) this.plans.delete(this.plans.keys().next().value!);
    this.plans.set(key, plan);
    return plan;
  }

  private make(schema: GraphQLSchema, query: string, operationName: string | undefined): Plan | null {
    // Most queries that are not these reads are told apart without parsing.
    if (!Object.keys(this.roots).some((name) => query.includes(name))) return null;
    let document;
    try {
      document = parse(query, { noLocation: true });
    } catch {
      return null;
    }
    if (document.definitions.length !== 1) return null;
    const operation = document.definitions[0];
    if (operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'query') return null;
    if (operationName !== undefined && operation.name?.value !== operationName) return null;
    if ((operation.directives?.length ?? 0) > 0 || operation.variableDefinitions?.some((v) => (v.directives?.length ?? 0) > 0)) return null;
    if (operation.selectionSet.selections.length !== 1) return null;
    const field = operation.selectionSet.selections[0];
    if (field.kind !== Kind.FIELD || (field.directives?.length ?? 0) > 0) return null;
    const root = Object.hasOwn(this.roots, field.name.value) ? this.roots[field.name.value] : undefined;
    const def = schema.getQueryType()?.getFields()[field.name.value];
    if (root === undefined || def === undefined) return null;
    if (validate(schema, document, [...specifiedRules, ...this.rules]).length > 0) return null;
    const write = writerOf(def.type, field.selectionSet);
    if (write === null) return null;
    return {
      operation,
      field,
      def,
      args: simpleArguments(operation, field, def),
      root,
      before: `{"data":{"${(field.alias ?? field.name).value}":`,
      write,
      bytes: root.bytes !== undefined && printShape(field.selectionSet) === root.bytes.shape,
    };
  }

  /**
   * What a direct answer of a POST /graphql needs (its plan and coerced arguments), or null where
   * mercurius answers. Synchronous: a request that is not answered directly waits for nothing.
   */
  prepare(schema: GraphQLSchema, request: FastifyRequest): Prepared | null {
    if (this.max === 0 || request.method !== 'POST') return null;
    const body = request.body as Record<string, unknown> | null | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
    const { variables, operationName } = body;
    let query = body.query;
    if (body.extensions !== undefined) {
      // A query sent by its hash alone is answered as its text would be, if the hash is held. A
      // query sent with its hash (to be kept) or an unknown hash is mercurius's to keep or refuse.
      query = this.persisted?.queryOf(body);
    }
    if (typeof query !== 'string') return null;
    if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return null;
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
    const plan = this.plan(schema, query, operationName ?? undefined);
    if (plan === null) return null;
    const args = plan.args?.((variables ?? {}) as Record<string, unknown>);
    if (args != null) return { plan, args };
    const coerced = getVariableValues(schema, plan.operation.variableDefinitions ?? [], (variables ?? {}) as Record<string, unknown>, { maxErrors: 1 });
    if (coerced.errors !== undefined) return null;
    try {
      return { plan, args: getArgumentValues(plan.def, plan.field, coerced.coerced) };
    } catch {
      return null;
    }
  }

  /**
   * Answers a prepared request directly if it can (and says so), else leaves it to mercurius.
   * `ctx` is what mercurius would give the resolver.
   */
  async answer({ plan, args }: Prepared, request: FastifyRequest, reply: FastifyReply, ctx: MercuriusContext): Promise<boolean> {
    let payload: string | Buffer;
    try {
      if (plan.bytes) payload = await plan.root.bytes!.write(args, ctx, plan.before, AFTER);
      else {
        let value: unknown;
        try {
          value = await plan.root.resolve(args, ctx);
        } catch (err) {
          // The executor words the error, from this same failure: its resolver throws it again
          // instead of reading again (`replayFailure`), so a read that timed out is not tried twice.
          (request as Failed)[FAILED] = err;
          return false;
        }
        payload = plan.before + plan.write(value) + AFTER;
      }
    } catch (err) {
      // A value the executor would write otherwise: it runs the read and writes it itself.
      if (err !== INDIRECT) (request as Failed)[FAILED] = err;
      return false;
    }
    this.answered++;
    // Past its time bound the request has had its 503 already (src/http/plugins/deadlines.ts).
    if (!reply.sent) reply.type('application/json; charset=utf-8').send(payload);
    return true;
  }
}

/**
 * The arguments of `field`, when each is a variable of type `ID` or `String` (nullable or not,
 * without a default) and the field's other arguments have no default: those pass through
 * graphql-js's coercion unchanged when they are strings, and an absent nullable one is left out,
 * as `getVariableValues` and `getArgumentValues` do. Anything else (a number for an ID, a null or
 * missing value for a non-null one, a literal argument) returns null, and graphql-js coerces, or
 * words the error. Null when the field's arguments are not all such variables.
 */
export function simpleArguments(
  operation: OperationDefinitionNode,
  field: FieldNode,
  def: GraphQLField<unknown, unknown>,
): ((variables: Record<string, unknown>) => Record<string, unknown> | null) | null {
  const variables = new Map<string, boolean>();
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue !== undefined) return null;
    const nonNull = v.type.kind === Kind.NON_NULL_TYPE;
    const named = nonNull ? (v.type as { type: { kind: string; name?: { value: string } } }).type : v.type;
    if (named.kind !== Kind.NAMED_TYPE || (named.name!.value !== 'ID' && named.name!.value !== 'String')) return null;
    variables.set(v.variable.name.value, nonNull);
  }
  const given = new Set<string>();
  const pairs: [argument: string, variable: string, nonNull: boolean][] = [];
  for (const a of field.arguments ?? []) {
    if (a.value.kind !== Kind.VARIABLE || !variables.has(a.value.name.value)) return null;
    const argDef = def.args.find((d) => d.name === a.name.value);
    if (argDef === undefined || argDef.defaultValue !== undefined) return null;
    given.add(a.name.value);
    pairs.push([a.name.value, a.value.name.value, variables.get(a.value.name.value)! || isNonNullType(argDef.type)]);
  }
  if (def.args.some((d) => !given.has(d.name) && d.defaultValue !== undefined)) return null;
  return (values) => {
    const args: Record<string, unknown> = {};
    for (const [argument, variable, nonNull] of pairs) {
      const value = Object.hasOwn(values, variable) ? values[variable] : undefined;
      if (typeof value === 'string') args[argument] = value;
      else if (value === undefined && !nonNull) continue;
      else if (value === null && !nonNull) args[argument] = null;
      else return null;
    }
    return args;
  };
}

const FAILED = Symbol('a direct answer\'s failure');
type Failed = FastifyRequest & { [FAILED]?: unknown };

/**
 * A root resolver that, for a request whose direct answer failed, throws that failure (once)
 * instead of running: the executor answers with the error the direct answer met.
 */
export function replayFailure<R extends (root: unknown, args: never, ctx: MercuriusContext, info: never) => unknown>(resolve: R): R {
  return ((root, args, ctx, info) => {
    const request = ctx.reply?.request as Failed | undefined;
    if (request !== undefined && FAILED in request) {
      const failure = request[FAILED];
      delete request[FAILED];
      throw failure;
    }
    return resolve(root, args, ctx, info);
  }) as R;
}

/** The schema mercurius serves (with the resolvers on its fields), once it is registered. */
export function servedSchema(app: FastifyInstance): GraphQLSchema {
  return (app as unknown as { graphql: { schema: GraphQLSchema } }).graphql.schema;
}
