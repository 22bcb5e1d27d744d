import type { FastifyBaseLogger } from 'fastify';
import type { MercuriusContext } from 'mercurius';
import type { AuditEvent } from '../audit/hash.js';
import { requestTime } from '../http/context.js';
import { requireUser } from '../http/plugins/auth.js';
import { AuditQuery, UserParams } from '../http/schemas.js';
import { allow, parseArgs, RULES } from './access.js';
import { subscriptionError } from './errors.js';
import type { SubscriptionResolvers } from './generated.js';
import { typeList } from './queries.js';
import type { GraphqlServices } from './services.js';
import type { ConsentRead } from './views.js';

/** The events after which a user's consent may read differently: a choice or a plan change (a terms acceptance with a choice records a choice). */
const CONSENT_EVENTS = ['user.plan_changed', 'consent.choice_recorded'];

/**
 * What a subscription sends, its failures told as the catalogue's codes: mercurius sends what a
 * subscription's iterator throws as it is, so nothing internal may reach it unmasked.
 */
async function* told<T>(source: AsyncIterableIterator<T>, log: FastifyBaseLogger): AsyncGenerator<T> {
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await source.next();
      } catch (err) {
        throw subscriptionError(err, log);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await source.return?.();
  }
}

/** A subscription's start: refused with a masked error, before anything is sent, when it may not start. */
async function starting<T>(ctx: MercuriusContext, start: () => Promise<AsyncIterableIterator<T>>): Promise<AsyncIterable<T>> {
  try {
    return told(await start(), ctx.app.log);
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
          return s.live.follow({ after: after ?? null, types: typeList(args.types), userId: null });
        }),
      resolve: (event: AuditEvent) => event,
    },

    trainingConsentChanged: {
      subscribe: (_root, args, ctx) =>
        starting(ctx, async () => {
          const holder = allow(ctx, RULES.readers);
          const { userId } = parseArgs(UserParams, { userId: args.userId });
          requireUser(holder, userId);
          const follower = await s.live.follow({ after: null, types: CONSENT_EVENTS, userId });
          async function* consents(): AsyncGenerator<ConsentRead> {
            try {
              for await (const event of follower) {
                const { view, etag } = await s.consent.getConsent(userId, { kind: 'atRevision', revision: event.revision }, requestTime().getTime());
                yield { ...view, etag };
              }
            } finally {
              await follower.return();
            }
          }
          return consents();
        }),
      resolve: (consent: ConsentRead) => consent,
    },
  } as SubscriptionResolvers;
}
