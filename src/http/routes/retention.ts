import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pointRequest } from '../../db/point.js';
import type { EligibilityService } from '../../services/eligibility.js';
import { errorResponses, requestTime } from '../context.js';
import { sendNdjson } from '../ndjson.js';
import { RetentionQuery } from '../schemas.js';

export const retentionRoutes: FastifyPluginAsyncZod<{ eligibility: EligibilityService; streamTimeoutMs: number }> = async (app, { eligibility, streamTimeoutMs }) => {
  app.get('/v1/retention/expired-chats', {
    // A pass over every chat takes a while: bounded by STREAM_TIMEOUT_MS, as the eligible-chats stream.
    config: { auth: { scopes: ['training:read'] }, deadlineMs: streamTimeoutMs },
    schema: {
      tags: ['training eligibility'],
      operationId: 'streamExpiredChats',
      summary: 'Every chat whose retention has run out, as NDJSON ordered by chatId (byte order): what the chat store must purge',
      description:
        'Chats not deleted whose retentionUntil is set and at or before the point, streamed page by page with flat memory. ' +
        'The point is sent in the Consent-Revision and Consent-As-Of headers.',
      security: [{ bearer: [] }],
      querystring: RetentionQuery,
      response: {
        200: {
          description: 'One JSON object per line',
          content: { 'application/x-ndjson': { schema: z.object({ chatId: z.string(), userId: z.string(), retentionUntil: z.string() }) } },
        },
        ...errorResponses(400, 503),
      },
    },
    handler: async (request, reply) => {
      const { after, limit, ...pointQuery } = request.query;
      const options = { after: after ?? '', limit: limit ?? null };
      const at = await eligibility.resolveExpiredChats(pointRequest(pointQuery), requestTime().getTime(), options);
      return sendNdjson(reply, at.point, eligibility.expiredChats(at, options));
    },
  });
};
