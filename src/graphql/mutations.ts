import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { actorFor, requireUser } from '../http/plugins/auth.js';
import { requestTime } from '../http/context.js';
import { ActivityIn, ChatIn, ChatParams, ConsentIn, FlagIn, PlanIn, PolicyIn, TermsAcceptanceIn, UserParams } from '../http/schemas.js';
import type { WriteResult } from '../services/write.js';
import { allow, idempotencyOf, parseArgs, RULES, writeContextOf } from './access.js';
import type { MutationResolvers } from './generated.js';
import { carrying } from './min-revision.js';
import type { GraphqlServices } from './services.js';
import type { ConsentView } from '../services/consent.js';
import { consentRead } from './views.js';

/** The REST path a mutation stands for, its ids as given (the Idempotency-Key fingerprint names it). */
const userPath = (userId: string, rest: string) => `/v1/users/${userId}/${rest}`;
const chatPath = (chatId: string, rest = '') => `/v1/chats/${chatId}${rest}`;

/**
 * The body a write answered with (or replayed), as its REST route would have sent it, carrying its
 * revision: the fields nested under a mutation's result read the write, whichever database
 * answers them.
 */
const bodyOf = <T>(result: WriteResult): T => {
  const body = result.body as T & { revision?: string };
  return typeof body?.revision === 'string' ? carrying(body, body.revision) : body;
};

export function mutationResolvers(s: GraphqlServices): MutationResolvers {
  return {
    setTrainingConsent: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.writers);
      const { userId } = parseArgs(UserParams, { userId: args.userId });
      requireUser(holder, userId);
      const body = parseArgs(ConsentIn, { choice: args.choice, surface: args.surface });
      const idem = idempotencyOf(holder, args.idempotencyKey, 'PUT', userPath(userId, 'training-consent'), body);
      const result = await s.consent.setConsent(writeContextOf(ctx, holder, userId), idem, userId, body, args.ifMatch ?? undefined);
      return consentRead(bodyOf<ConsentView>(result), result.headers!.etag!);
    },

    acceptTerms: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.writers);
      const { userId } = parseArgs(UserParams, { userId: args.userId });
      requireUser(holder, userId);
      const { input } = parseArgs(z.object({ input: TermsAcceptanceIn }), { input: args.input });
      const idem = idempotencyOf(holder, args.idempotencyKey, 'POST', userPath(userId, 'terms-acceptances'), input);
      return bodyOf(await s.consent.recordTermsAcceptance(writeContextOf(ctx, holder, userId), idem, userId, input, randomUUID()));
    },

    setPlan: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.planWriters);
      const { userId } = parseArgs(UserParams, { userId: args.userId });
      requireUser(holder, userId);
      const body = parseArgs(PlanIn, { plan: args.plan });
      const idem = idempotencyOf(holder, args.idempotencyKey, 'PUT', userPath(userId, 'plan'), body);
      return bodyOf(await s.consent.setPlan(writeContextOf(ctx, holder, userId), idem, userId, body.plan));
    },

    registerChat: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.writers);
      const { chatId } = parseArgs(ChatParams, { chatId: args.chatId });
      const body = parseArgs(ChatIn, { userId: args.userId, createdAt: args.createdAt, incognito: args.incognito });
      requireUser(holder, body.userId);
      const idem = idempotencyOf(holder, args.idempotencyKey, 'PUT', chatPath(chatId), body);
      return bodyOf(await s.chats.register(writeContextOf(ctx, holder, body.userId), idem, chatId, body));
    },

    reportChatActivity: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.writers);
      const { chatId } = parseArgs(ChatParams, { chatId: args.chatId });
      const body = parseArgs(ActivityIn, { at: args.at });
      const now = requestTime();
      const at = body?.at === undefined ? now.getTime() : Date.parse(body.at);
      const writeCtx = { actor: actorFor(holder, null), requestId: String(ctx.reply.request.id), now };
      await s.chats.reportActivity(writeCtx, null, chatId, at, holder.auth.selfOnly ? holder.auth.sub : null);
      return true;
    },

    deleteChat: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.writers);
      const { chatId } = parseArgs(ChatParams, { chatId: args.chatId });
      const idem = idempotencyOf(holder, args.idempotencyKey, 'DELETE', chatPath(chatId));
      const writeCtx = writeContextOf(ctx, holder, null);
      const result = await s.chats.delete(writeCtx, idem, chatId, (owner) => {
        requireUser(holder, owner);
        writeCtx.actor = actorFor(holder, owner);
      });
      return bodyOf(result);
    },

    flagChat: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.planWriters);
      const { chatId } = parseArgs(ChatParams, { chatId: args.chatId });
      const body = parseArgs(FlagIn, { type: args.type });
      const idem = idempotencyOf(holder, args.idempotencyKey, 'POST', chatPath(chatId, '/flags'), body);
      return bodyOf(await s.chats.flag(writeContextOf(ctx, holder, null), idem, chatId, body.type));
    },

    createPolicy: async (_root, args, ctx) => {
      const holder = allow(ctx, RULES.admins);
      const { input } = parseArgs(z.object({ input: PolicyIn }), { input: args.input });
      const idem = idempotencyOf(holder, args.idempotencyKey, 'POST', '/v1/policies', input);
      return bodyOf(await s.policies.create(writeContextOf(ctx, holder, null), idem, input));
    },
  };
}
