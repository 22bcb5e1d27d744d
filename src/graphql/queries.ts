import type { MercuriusContext } from 'mercurius';
import { pointRequest, type PointRequest } from '../db/point.js';
import { AppError } from '../errors.js';
import { requestTime } from '../http/context.js';
import { requireUser } from '../http/plugins/auth.js';
import { AuditQuery, BatchIn, ChatParams, FeedQuery, MinRevisionQuery, PointQuery, PolicyParams, UserParams } from '../http/schemas.js';
import { allow, parseArgs, RULES } from './access.js';
import { batchBytes } from '../services/decision-json.js';
import type { DirectRoot } from './direct.js';
import { carrying, nowAt } from './min-revision.js';
import type { QueryResolvers } from './generated.js';
import type { GraphqlServices } from './services.js';
import { consentRead } from './views.js';

/** NOT_FOUND becomes the null the schema promises for an unknown user, chat or policy. */
function orNull<T>(read: Promise<T>): Promise<T | null> {
  return read.catch((err: unknown) => {
    if (err instanceof AppError && err.code === 'NOT_FOUND') return null;
    throw err;
  });
}

const UserPoint = UserParams.extend(PointQuery.shape);
const ChatPoint = ChatParams.extend(PointQuery.shape);
const UserAudit = UserParams.extend(AuditQuery.shape);
const UserNow = UserParams.extend(MinRevisionQuery.shape);
const ChatNow = ChatParams.extend(MinRevisionQuery.shape);
const PolicyNow = PolicyParams.extend(MinRevisionQuery.shape);

/** `types` as REST takes it: comma-separated, within the same length limit. */
export function typeList(types: readonly string[] | null | undefined): string[] | null {
  if (!types) return null;
  parseArgs(FeedQuery.pick({ types: true }), { types: types.join(',') });
  const list = types.map((t) => t.trim()).filter(Boolean);
  return list.length > 0 ? list : null;
}

/** GraphQL's `first` is REST's `limit`. */
export const FIRST = { limit: 'first' };

/** A batch's caller and arguments checked as REST checks them. */
function batchArgs(args: Record<string, unknown>, ctx: MercuriusContext): { chatIds: string[]; point: PointRequest } {
  allow(ctx, RULES.pipelines);
  const { chatIds, ...point } = parseArgs(BatchIn, args);
  return { chatIds, point: pointRequest(point, 'args') };
}

/**
 * The batch's selection that is the REST body's shape, field for field (`decisionFields`): asked
 * so, the batch is written as bytes by the service, as REST writes it (src/graphql/direct.ts).
 */
export const BATCH_SHAPE = 'asOf revision results { chatId userId eligible reason policyVersion consentSince retentionUntil asOf revision }';

/** The reads answered without the executor when asked for plain fields (src/graphql/direct.ts). */
export function directRoots(s: GraphqlServices, query: QueryResolvers): Record<string, DirectRoot> {
  const call =
    (name: 'trainingConsent' | 'trainingEligibility' | 'trainingEligibilityBatch') =>
    (args: Record<string, unknown>, ctx: MercuriusContext): Promise<unknown> =>
      (query[name] as unknown as (root: unknown, args: Record<string, unknown>, ctx: MercuriusContext, info: unknown) => Promise<unknown>)(
        undefined,
        args,
        ctx,
        undefined,
      );
  return {
    trainingConsent: { resolve: call('trainingConsent') },
    trainingEligibility: { resolve: call('trainingEligibility') },
    trainingEligibilityBatch: {
      resolve: call('trainingEligibilityBatch'),
      bytes: {
        shape: BATCH_SHAPE,
        write: async (args, ctx, before, after) => {
          const { chatIds, point } = batchArgs(args, ctx);
          return batchBytes(await s.eligibility.batchJson(chatIds, point, requestTime().getTime()), before, after);
        },
      },
    },
  };
}

/** Root queries; `user` is a loader (src/graphql/nested.ts), so that aliased users are read together. */
export function queryResolvers(s: GraphqlServices): QueryResolvers {
  return {
    trainingConsent: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.readers);
      const { userId, ...point } = parseArgs(UserPoint, args);
      requireUser(holder, userId);
      const read = await orNull(s.consent.getConsent(userId, pointRequest(point, 'args'), requestTime().getTime()));
      return read && consentRead(read.view, read.etag);
    },

    termsAcceptances: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.readers);
      const { userId, minRevision } = parseArgs(UserNow, args);
      requireUser(holder, userId);
      return (await orNull(s.consent.listTermsAcceptances(userId, nowAt(minRevision))))?.items ?? [];
    },

    chat: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.readers);
      const { chatId, minRevision } = parseArgs(ChatNow, args);
      const chat = await orNull(s.chats.get(chatId, (owner) => requireUser(holder, owner), nowAt(minRevision)));
      return chat && carrying(chat, minRevision);
    },

    trainingEligibility: async (_root, args, ctx) => {
      allow(ctx, RULES.pipelines);
      const { chatId, ...point } = parseArgs(ChatPoint, args);
      return s.eligibility.single(chatId, pointRequest(point, 'args'), requestTime().getTime());
    },

    trainingEligibilityBatch: async (_root, args, ctx) => {
      const { chatIds, point } = batchArgs(args, ctx);
      return s.eligibility.batch(chatIds, point, requestTime().getTime());
    },

    policies: async (_root, args, ctx) => {
      allow(ctx, RULES.anyToken);
      const { minRevision } = parseArgs(MinRevisionQuery, args);
      return (await s.policies.list(nowAt(minRevision))).items;
    },

    policy: async (_root, args, ctx) => {
      allow(ctx, RULES.anyToken);
      const { version, minRevision } = parseArgs(PolicyNow, args);
      return orNull(s.policies.get(version, nowAt(minRevision)));
    },

    auditEvents: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.userAudit);
      const { userId, after, limit, minRevision } = parseArgs(
        UserAudit,
        { userId: args.userId, after: args.after, limit: args.first, minRevision: args.minRevision },
        FIRST,
      );
      requireUser(holder, userId);
      return s.audit.forUser(userId, after ?? '0', limit ?? 100, requestTime().getTime(), nowAt(minRevision));
    },

    consentStatistics: async (_root, args, ctx) => {
      allow(ctx, RULES.auditors);
      return s.statistics.at(pointRequest(parseArgs(PointQuery, args), 'args'), requestTime().getTime());
    },

    changeFeed: async (_root, args, ctx) => {
      allow(ctx, RULES.feed);
      const { after, limit, minRevision } = parseArgs(AuditQuery, { after: args.after, limit: args.first, minRevision: args.minRevision }, FIRST);
      return s.audit.feed(after ?? '0', limit ?? 100, typeList(args.types), requestTime().getTime(), null, nowAt(minRevision));
    },
  };
}
