import type { MercuriusContext } from 'mercurius';
import { pointRequest, type PointRequest } from '../db/point.js';
import { notFound } from '../errors.js';
import { requestTime } from '../http/context.js';
import { requireUser } from '../http/plugins/auth.js';
import { AuditQuery, Id, MinRevisionQuery, PointQuery, UserParams } from '../http/schemas.js';
import type { ChatView } from '../services/chats.js';
import type { UserView } from '../services/consent.js';
import { allow, parseArgs, RULES } from './access.js';
import type { Loaders, UserResolvers } from './generated.js';
import { carriedBy, carrying, highest, nowAt } from './min-revision.js';
import { FIRST } from './queries.js';
import type { GraphqlServices } from './services.js';
import { consentRead, type ConsentRead } from './views.js';

type Query<O, P> = { obj: O; params: P };
type PointArgs = { asOf?: string | null; atRevision?: string | null; minRevision?: string | null };

/**
 * Queries grouped by the point they ask about: each group is read at one point, in one call. A
 * "now" read also honours the minRevision its parent field was asked with.
 */
function byPoint<O>(queries: Query<O, PointArgs>[]): Map<string, { request: PointRequest; indexes: number[] }> {
  const groups = new Map<string, { request: PointRequest; indexes: number[] }>();
  queries.forEach((q, i) => {
    const { asOf, atRevision } = q.params;
    const atPoint = (asOf ?? null) !== null || (atRevision ?? null) !== null;
    const minRevision = atPoint ? (q.params.minRevision ?? undefined) : highest([q.params.minRevision ?? undefined, carriedBy(q.obj)]);
    const key = `${asOf ?? ''}|${atRevision ?? ''}|${minRevision ?? ''}`;
    let group = groups.get(key);
    if (group === undefined) {
      const point = parseArgs(PointQuery, { asOf, atRevision, minRevision });
      groups.set(key, (group = { request: pointRequest(point, 'args'), indexes: [] }));
    }
    group.indexes.push(i);
  });
  return groups;
}

/** The highest minRevision the parents of these queries were read with. */
const carriedByAll = (queries: Query<unknown, unknown>[]) => highest(queries.map((q) => carriedBy(q.obj)));

const UserNow = UserParams.extend(MinRevisionQuery.shape);

const ChatsPage = AuditQuery.pick({ limit: true }).extend({ after: Id.optional() });

/**
 * Nested fields, through mercurius loaders: each is asked once for every object of a query
 * that needs it, so a page of 100 chats with their users' consents and their eligibility costs
 * a few statements, not hundreds. Each checks the scope of the REST route it stands for.
 */
export function loaders(s: GraphqlServices): Loaders {
  const own = (ctx: MercuriusContext, rule: Parameters<typeof allow>[1], userIds: Iterable<string>) => {
    const holder = allow(ctx, rule);
    for (const u of userIds) requireUser(holder, u);
  };
  const nested = {
    Query: {
      // Aliased `user` fields of one query are read together; each answers or fails on its own.
      // Read together at the highest minRevision any of them asks for: "at least" holds for each.
      user: async (queries: Query<unknown, { userId: string; minRevision?: string | null }>[], ctx: MercuriusContext): Promise<(UserView | null | Error)[]> => {
        const asked = queries.map((q) => {
          try {
            const holder = allow(ctx, RULES.readers);
            const { userId, minRevision } = parseArgs(UserNow, { userId: q.params.userId, minRevision: q.params.minRevision });
            requireUser(holder, userId);
            return { userId, minRevision };
          } catch (err) {
            return err as Error;
          }
        });
        const ok = asked.filter((a): a is { userId: string; minRevision: string | undefined } => !(a instanceof Error));
        const minRevision = highest(ok.map((a) => a.minRevision));
        const users =
          ok.length > 0 ? await s.consent.getUsers(ok.map((a) => a.userId), nowAt(minRevision), requestTime().getTime()) : new Map<string, UserView>();
        return asked.map((a) => {
          if (a instanceof Error) return a;
          const user = users.get(a.userId);
          return user === undefined ? null : carrying(user, a.minRevision);
        });
      },
    },
    User: {
      trainingConsent: async (queries: Query<UserView, PointArgs>[], ctx: MercuriusContext): Promise<ConsentRead[]> => {
        own(ctx, RULES.readers, queries.map((q) => q.obj.userId));
        const out: ConsentRead[] = new Array(queries.length);
        for (const { request, indexes } of byPoint(queries).values()) {
          const consents = await s.consent.getConsents(indexes.map((i) => queries[i].obj.userId), request, requestTime().getTime());
          for (const i of indexes) {
            const read = consents.get(queries[i].obj.userId);
            if (read === undefined) throw notFound(`user ${queries[i].obj.userId} is not known`);
            out[i] = consentRead(read.view, read.etag);
          }
        }
        return out;
      },
      termsAcceptances: async (queries: Query<UserView, object>[], ctx: MercuriusContext) => {
        own(ctx, RULES.readers, queries.map((q) => q.obj.userId));
        const lists = await s.consent.termsAcceptancesOf(queries.map((q) => q.obj.userId), nowAt(carriedByAll(queries)));
        return queries.map((q) => lists.get(q.obj.userId) ?? []);
      },
      chats: async (queries: Query<UserView, { first?: number | null; after?: string | null }>[], ctx: MercuriusContext) => {
        own(ctx, RULES.readers, queries.map((q) => q.obj.userId));
        const requests = queries.map((q) => {
          const { limit, after } = parseArgs(ChatsPage, { limit: q.params.first, after: q.params.after }, FIRST);
          return { userId: q.obj.userId, after: after ?? '', limit: limit ?? 100 };
        });
        const pages = await s.chats.pagesOf(requests, nowAt(carriedByAll(queries)));
        return pages.map((p, i) => {
          const carried = carriedBy(queries[i].obj);
          return { items: p.items.map((c) => carrying(c, carried)), nextCursor: p.more ? p.items[p.items.length - 1].chatId : null };
        });
      },
    },
    Chat: {
      user: async (queries: Query<ChatView, object>[], ctx: MercuriusContext): Promise<UserView[]> => {
        own(ctx, RULES.readers, queries.map((q) => q.obj.userId));
        const users = await s.consent.getUsers(queries.map((q) => q.obj.userId), nowAt(carriedByAll(queries)), requestTime().getTime());
        return queries.map((q) => {
          const user = users.get(q.obj.userId);
          if (user === undefined) throw notFound(`user ${q.obj.userId} is not known`);
          return carrying(user, carriedBy(q.obj));
        });
      },
      trainingEligibility: async (queries: Query<ChatView, PointArgs>[], ctx: MercuriusContext) => {
        allow(ctx, RULES.pipelines);
        const out = new Array(queries.length);
        for (const { request, indexes } of byPoint(queries).values()) {
          const { results } = await s.eligibility.batch(indexes.map((i) => queries[i].obj.chatId), request, requestTime().getTime());
          indexes.forEach((i, k) => (out[i] = results[k]));
        }
        return out;
      },
    },
  };
  return nested as unknown as Loaders;
}

/** The user's audit events: one user's chain, read as REST reads it (an auditor asks about one user at a time). */
export function userResolvers(s: GraphqlServices): UserResolvers {
  return {
    auditEvents: async (user, args, ctx) => {
      const holder = allow(ctx, RULES.userAudit);
      requireUser(holder, user.userId);
      const { after, limit } = parseArgs(AuditQuery, { after: args.after, limit: args.first }, FIRST);
      return s.audit.forUser(user.userId, after ?? '0', limit ?? 100, requestTime().getTime(), nowAt(carriedBy(user)));
    },
  };
}
