import type { FastifyBaseLogger } from 'fastify';
import type { MercuriusContext } from 'mercurius';
import type { LoggedEvent } from '../audit/hash.js';
import { requestTime } from '../http/context.js';
import { requireUser } from '../http/plugins/auth.js';
import { AuditQuery, UserParams } from '../http/schemas.js';
import { allow, parseArgs, RULES } from './access.js';
import { subscriptionError } from './errors.js';
import type { SubscriptionResolvers } from './generated.js';
import { typeList } from './queries.js';
import type { GraphqlServices } from './services.js';
import { consentRead, type ConsentRead } from './views.js';

/** The events after which a user's consent may read differently: a choice or a plan change (a terms acceptance with a choice records a choice). */
const CONSENT_EVENTS = ['user.plan_changed', 'consent.choice_recorded'];

/**
 * What a subscription sends, its failures told as the catalogue's codes: mercurius sends what a
 * subscription's iterator throws as it is, so nothing internal may reach it unmasked. An iterator
 * object, not an async generator: a generator waiting for the next event could not be ended
 * until one came, and the follower behind it would outlive its socket.
 */
function mapped<S, T>(source: AsyncIterator<S>, log: FastifyBaseLogger, map: (value: S) => Promise<T> | T): AsyncIterableIterator<T> {
  const end = async (): Promise<IteratorResult<T>> => {
    await source.return?.();
    return { value: undefined, done: true };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const next = await source.next();
        return next.done ? { value: undefined, done: true } : { value: await map(next.value), done: false };
      } catch (err) {
        await source.return?.();
        throw subscriptionError(err, log);
      }
    },
    return: end,
    async throw(err: unknown) {
      await end();
      throw err;
    },
  };
}

/** A subscription's start: refused with a masked error, before anything is sent, when it may not start. */
async function starting<T>(ctx: MercuriusContext, start: () => Promise<AsyncIterableIterator<T>>): Promise<AsyncIterableIterator<T>> {
  try {
    return await start();
  } catch (err) {
    throw subscriptionError(err, ctx.app.log);
  }
}

export function subscriptionResolvers(s: GraphqlServices): SubscriptionResolvers {
  return {
    auditEvents: {
      subscribe: (_root, args, ctx) =>
        starting(ctx, async () => {
          allow(ctx, RULES.feed);
          const { after } = parseArgs(AuditQuery.pick({ after: true }), { after: args.after });
          const follower = await s.live.follow({ after: after ?? null, types: typeList(args.types), userId: null });
          return mapped(follower, ctx.app.log, (event) => event);
        }),
      resolve: (event: LoggedEvent) => event,
    },

    trainingConsentChanged: {
      subscribe: (_root, args, ctx) =>
        starting(ctx, async () => {
          const holder = allow(ctx, RULES.readers);
          const { userId } = parseArgs(UserParams, { userId: args.userId });
          requireUser(holder, userId);
          const follower = await s.live.follow({ after: null, types: CONSENT_EVENTS, userId });
          return mapped(follower, ctx.app.log, async (event): Promise<ConsentRead> => {
            const { view, etag } = await s.consent.getConsent(userId, { kind: 'atRevision', revision: event.revision }, requestTime().getTime());
            return consentRead(view, etag);
          });
        }),
      resolve: (consent: ConsentRead) => consent,
    },
  } as SubscriptionResolvers;
}
