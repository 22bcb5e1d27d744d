import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import mercurius, { type IResolvers, type MercuriusContext, type MercuriusLoaders } from 'mercurius';
import { TokenRejected, type TokenVerifier } from '../auth/verifier.js';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { unauthenticated } from '../errors.js';
import { bearerToken } from '../http/plugins/auth.js';
import type { Telemetry } from '../telemetry.js';
import { BATCH_BODY_LIMIT } from '../http/routes/eligibility.js';
import { connectionAuthenticator } from './connection.js';
import { formatErrors } from './errors.js';
import { complexityRule, requireParsableNesting } from './limits.js';
import { LiveAudit } from './live.js';
import { mutationResolvers } from './mutations.js';
import { loaders, userResolvers } from './nested.js';
import { DirectPlans, replayFailure, servedSchema, type Prepared } from './direct.js';
import { directRoots, queryResolvers } from './queries.js';
import { scalarResolvers } from './scalars.js';
import { PersistedQueries } from './persisted.js';
import { loadSchemaSdl } from './schema.js';
import type { GraphqlServices } from './services.js';
import { subscriptionResolvers } from './subscriptions.js';

export const GRAPHQL_PATH = '/graphql';

/** Fields whose resolvers read (every root field, and the nested fields with a loader or resolver): what a query's cost counts. */
const COSTLY_NESTED = ['Query.user', 'User.trainingConsent', 'User.termsAcceptances', 'User.chats', 'User.auditEvents', 'Chat.user', 'Chat.trainingEligibility'];

/**
 * Verifies the bearer token of a query or mutation: no token or a bad one is 401
 * UNAUTHENTICATED. `POST /graphql` runs it as its `onRequest`, before the body is read; `GET`
 * first among its `preHandler`s. A WebSocket upgrade passes: it authenticates at `connection_init`.
 */
function authenticate(verifier: TokenVerifier): preHandlerHookHandler {
  return (request, _reply, done) => {
    if ((request as { ws?: boolean }).ws) return done();
    let token: string;
    try {
      token = bearerToken(request.headers.authorization);
      const known = verifier.cached(token);
      if (known !== null) {
        request.auth = { sub: known.sub, scopes: known.scopes, selfOnly: false };
        return done();
      }
    } catch (err) {
      return done(err as Error);
    }
    verifier.verify(token).then(
      (principal) => {
        request.auth = { sub: principal.sub, scopes: principal.scopes, selfOnly: false };
        done();
      },
      (err: unknown) => done(err instanceof TokenRejected ? unauthenticated(err.message) : (err as Error)),
    );
  };
}

/**
 * Before mercurius runs a POST /graphql: a direct answer where there is one (src/graphql/direct.ts).
 * Otherwise, a document nested too deeply to parse safely is refused before mercurius (or the
 * direct answer's planning) parses it; one a direct answer has a plan for was parsed when the plan
 * was made, and is not looked at again. One hook, not two: it runs on every query.
 */
function directOrExecutor(direct: DirectPlans, app: FastifyInstance): preHandlerHookHandler {
  return (request, reply, done) => {
    let prepared: Prepared | null;
    try {
      const body = request.body as { query?: unknown; operationName?: unknown } | undefined;
      const source = body?.query ?? (request.query as { query?: unknown } | undefined)?.query;
      const planned = typeof source === 'string' && source === body?.query && direct.planned(source, typeof body.operationName === 'string' ? body.operationName : undefined);
      if (!planned) requireParsableNesting(source);
      prepared = direct.prepare(servedSchema(app), request);
    } catch (err) {
      return done(err as Error);
    }
    if (prepared === null) return done();
    // Answered: the reply is sent, and the hooks end here.
    direct.answer(prepared, request, reply, { principal: request.auth ?? undefined } as MercuriusContext).then((answered) => answered || done(), done);
  };
}

export interface GraphqlOptions {
  config: Config;
  db: Database;
  verifier: TokenVerifier;
  metrics: Telemetry;
  services: Omit<GraphqlServices, 'live'>;
  /** Reports a bounded cache in /metrics (`consent_cache_entries`). */
  registerCache(cache: { name: string; readonly size: number; readonly max: number }): void;
}

/**
 * The GraphQL door (SPEC §5): the SDL of schema/ served by mercurius at /graphql, with GraphiQL at
 * /graphiql and subscriptions over WebSocket on the same path; resolvers call the services REST
 * calls. At the root, beside the REST scope, which holds the zod compilers mercurius cannot use.
 */
export const graphqlPlugin = fp(
  async (app: FastifyInstance, opts: GraphqlOptions) => {
    const { config, verifier } = opts;
    const live = await LiveAudit.open({
      db: opts.db,
      target: config.database,
      feed: opts.services.audit,
      settled: opts.services.settled,
      maxFollowers: config.graphql.maxSubscriptions,
      log: app.log,
    });
    app.addHook('onClose', async () => live.close());
    opts.metrics.gauge('graphql_subscriptions', 'Live GraphQL subscriptions now.', () => live.followers);
    opts.metrics.gauge('graphql_subscriptions_max', 'Live GraphQL subscriptions allowed at once (GRAPHQL_MAX_SUBSCRIPTIONS).', () => config.graphql.maxSubscriptions);

    const services: GraphqlServices = { ...opts.services, live };
    const query = queryResolvers(services);
    const roots = directRoots(services, query);
    const resolvers = {
      ...scalarResolvers,
      // The reads a direct answer may have tried: a failure it met is thrown again, not read again.
      Query: { ...query, ...Object.fromEntries(Object.keys(roots).map((name) => [name, replayFailure(query[name as keyof typeof query] as never)])) },
      Mutation: mutationResolvers(services),
      Subscription: subscriptionResolvers(services),
      User: userResolvers(services),
    } as unknown as IResolvers;
    const costly = new Set([
      ...['Query', 'Mutation', 'Subscription'].flatMap((root) => Object.keys((resolvers as Record<string, object>)[root]).map((f) => `${root}.${f}`)),
      ...COSTLY_NESTED,
    ]);

    const rules = [complexityRule(config.graphql, costly)];
    const report = (name: string, cache: { readonly size: number; readonly max: number }) =>
      opts.registerCache({
        name,
        get size() {
          return cache.size;
        },
        max: cache.max,
      });
    const persisted = new PersistedQueries(config.graphql.queryCache);
    report('graphql_persisted_queries', persisted);
    const direct = new DirectPlans(config.graphql.queryCache, roots, rules, persisted);
    report('graphql_direct_plans', direct);
    opts.metrics.counter('graphql_direct_answers_total', 'GraphQL reads answered without the executor (src/graphql/direct.ts).', () => direct.answered);
    const tokenCheck = authenticate(verifier);
    app.addHook('onRoute', (route) => {
      // The GraphQL routes are described by the SDL, not in the OpenAPI document.
      if (route.url.startsWith(GRAPHQL_PATH) || route.url.startsWith('/graphiql')) route.schema = { ...route.schema, hide: true };
      if (route.url !== GRAPHQL_PATH) return;
      // POST /graphql checks its token first, as the REST routes do, before its body is read.
      // Mercurius's own onRequest there is its CSRF check, which is off (no `csrfPrevention`):
      // an empty async hook per request, replaced. GET checks it before its other hooks.
      if (route.method === 'POST') route.onRequest = tokenCheck;
      else route.preHandler = [tokenCheck, ...(route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler])];
    });

    await app.register(mercurius, {
      schema: loadSchemaSdl(),
      resolvers,
      loaders: loaders(services) as MercuriusLoaders,
      path: GRAPHQL_PATH,
      graphiql: true,
      context: (request) => ({ principal: request.auth ?? undefined }),
      errorFormatter: formatErrors as never,
      validationRules: rules,
      cache: config.graphql.queryCache === 0 ? false : config.graphql.queryCache,
      ...(config.graphql.jit > 0 ? { jit: config.graphql.jit } : {}),
      ...(config.graphql.queryCache > 0 ? { persistedQueryProvider: persisted.provider() } : {}),
      subscription: { onConnect: connectionAuthenticator(verifier) as never },
      // A full eligibility batch (10,000 ids of 128 characters) fits, as it does over REST.
      additionalRouteOptions: { preHandler: directOrExecutor(direct, app), bodyLimit: BATCH_BODY_LIMIT },
    });
  },
  { name: 'graphql', dependencies: ['auth', 'errors'] },
);
