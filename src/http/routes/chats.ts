import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChatService } from '../../services/chats.js';
import { errorResponses, idempotencyOf, IdempotencyHeaders, requestTime, sendWrite, writeContext, writeErrors } from '../context.js';
import { actorFor, requireUser } from '../plugins/auth.js';
import { pointRequest } from '../../db/point.js';
import { ActivityIn, ChatIn, ChatOut, ChatParams, FlagIn, MinRevisionQuery } from '../schemas.js';
import type { FastifyRequest } from 'fastify';

const owners = (request: FastifyRequest) => (userId: string) => requireUser(request, userId);

export const chatRoutes: FastifyPluginAsyncZod<{ chats: ChatService }> = async (app, { chats }) => {
  app.put('/v1/chats/:chatId', {
    config: { auth: { scopes: ['consent:write'], self: true } },
    schema: {
      tags: ['chats'],
      operationId: 'registerChat',
      summary: 'Register a chat (idempotent; userId, incognito and createdAt never change)',
      security: [{ bearer: [] }],
      params: ChatParams,
      headers: IdempotencyHeaders,
      body: ChatIn,
      response: { 200: ChatOut, 201: ChatOut, ...writeErrors() },
    },
    handler: async (request, reply) => {
      requireUser(request, request.body.userId);
      const result = await chats.register(writeContext(request, request.body.userId), idempotencyOf(request), request.params.chatId, request.body);
      return sendWrite(reply, result);
    },
  });

  app.post('/v1/chats/:chatId/activity', {
    config: { auth: { scopes: ['consent:write'], self: true } },
    schema: {
      tags: ['chats'],
      operationId: 'reportChatActivity',
      summary: 'Report that a chat was used (created or resumed); cheap enough for every message',
      description: 'Not audited. Activity on a deleted chat is a conflict.',
      security: [{ bearer: [] }],
      params: ChatParams,
      headers: IdempotencyHeaders,
      body: ActivityIn,
      response: { 204: z.undefined().describe('Recorded'), ...writeErrors(404) },
    },
    handler: async (request, reply) => {
      const ctx = { actor: actorFor(request, null), requestId: String(request.id), now: requestTime() };
      const at = request.body?.at === undefined ? ctx.now.getTime() : Date.parse(request.body.at);
      const ownerMustBe = request.auth!.selfOnly ? request.auth!.sub : null;
      return sendWrite(reply, await chats.reportActivity(ctx, idempotencyOf(request), request.params.chatId, at, ownerMustBe));
    },
  });

  app.delete('/v1/chats/:chatId', {
    config: { auth: { scopes: ['consent:write'], self: true } },
    schema: {
      tags: ['chats'],
      operationId: 'deleteChat',
      summary: 'Delete a chat: it is never used for training from now on',
      security: [{ bearer: [] }],
      params: ChatParams,
      headers: IdempotencyHeaders,
      response: { 200: ChatOut, ...writeErrors(404) },
    },
    handler: async (request, reply) => {
      const ctx = writeContext(request, null);
      const result = await chats.delete(ctx, idempotencyOf(request), request.params.chatId, (owner) => {
        requireUser(request, owner);
        ctx.actor = actorFor(request, owner);
      });
      return sendWrite(reply, result);
    },
  });

  app.post('/v1/chats/:chatId/flags', {
    config: { auth: { scopes: ['consent:write'] } },
    schema: {
      tags: ['chats'],
      operationId: 'flagChat',
      summary: 'Flag a chat for a policy violation (extends its retention)',
      security: [{ bearer: [] }],
      params: ChatParams,
      headers: IdempotencyHeaders,
      body: FlagIn,
      response: { 200: ChatOut, ...writeErrors(404) },
    },
    handler: async (request, reply) =>
      sendWrite(reply, await chats.flag(writeContext(request, null), idempotencyOf(request), request.params.chatId, request.body.type)),
  });

  app.get('/v1/chats/:chatId', {
    config: { auth: { scopes: ['consent:read', 'consent:write'], self: true } },
    schema: {
      tags: ['chats'],
      operationId: 'getChat',
      summary: 'A chat',
      security: [{ bearer: [] }],
      params: ChatParams,
      querystring: MinRevisionQuery,
      response: { 200: ChatOut, ...errorResponses(400, 404) },
    },
    handler: async (request) => chats.get(request.params.chatId, owners(request), pointRequest(request.query)),
  });
};
