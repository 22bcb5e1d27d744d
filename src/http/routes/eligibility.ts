import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pointRequest } from '../../db/point.js';
import { signDecisionReceipt } from '../../proof/receipts.js';
import type { Signer } from '../../proof/signing-keys.js';
import type { EligibilityService } from '../../services/eligibility.js';
import { errorResponses, requestTime } from '../context.js';
import { sendNdjson } from '../ndjson.js';
import { batchBytes, batchJson, singleJson } from '../../services/decision-json.js';
import { BatchIn, BatchOut, ChatParams, DecisionWithReceiptOut, EligibleChatsQuery, SingleEligibilityQuery } from '../schemas.js';

/** A full batch: 10,000 ids of 128 characters, quoted and separated, with room for the rest. */
export const BATCH_BODY_LIMIT = 1.5 * 1024 * 1024;

const pipelines = { scopes: ['training:read'] } as const;

const JSON_TYPE = 'application/json; charset=utf-8';

export const eligibilityRoutes: FastifyPluginAsyncZod<{ eligibility: EligibilityService; streamTimeoutMs: number; signer: Signer }> = async (
  app,
  { eligibility, streamTimeoutMs, signer },
) => {
  app.get('/v1/chats/:chatId/training-eligibility', {
    config: { auth: pipelines },
    schema: {
      tags: ['training eligibility'],
      operationId: 'getTrainingEligibility',
      summary: 'Whether a chat may be used for training, now, as of a time, or after a revision',
      description:
        'An unknown chat is not eligible (reason chat_not_found): the service fails closed. With receipt=true the decision ' +
        'carries a signed receipt over the one-element array of the decision without it.',
      security: [{ bearer: [] }],
      params: ChatParams,
      querystring: SingleEligibilityQuery,
      response: { 200: DecisionWithReceiptOut, ...errorResponses(400, 503) },
    },
    handler: async (request, reply) => {
      const { receipt, ...point } = request.query;
      const now = requestTime().getTime();
      const decision = await eligibility.single(request.params.chatId, pointRequest(point), now);
      const signed = receipt === 'true' ? await signDecisionReceipt(signer, [decision], decision, now) : undefined;
      // Written as the response schema describes it (src/http/decision-json.ts): a JSON string is sent as it is.
      return reply.type(JSON_TYPE).send(singleJson(decision, signed) as never);
    },
  });

  app.post('/v1/training-eligibility/batch', {
    config: { auth: pipelines },
    bodyLimit: BATCH_BODY_LIMIT,
    schema: {
      tags: ['training eligibility'],
      operationId: 'batchTrainingEligibility',
      summary: 'Decisions for up to 10,000 chats at one point, in request order',
      description: 'With receipt: true the answer carries a signed receipt over its results.',
      security: [{ bearer: [] }],
      body: BatchIn,
      response: { 200: BatchOut, ...errorResponses(400, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const { chatIds, receipt, ...point } = request.body;
      const now = requestTime().getTime();
      // A receipt signs the decisions as objects; without one they are written as JSON bytes as they are decided.
      if (receipt === true) {
        const batch = await eligibility.batch(chatIds, pointRequest(point, 'body'), now);
        const signed = await signDecisionReceipt(signer, batch.results, batch, now);
        return reply.type(JSON_TYPE).send(batchJson(batch, signed) as never);
      }
      return reply.type(JSON_TYPE).send(batchBytes(await eligibility.batchJson(chatIds, pointRequest(point, 'body'), now)) as never);
    },
  });

  app.get('/v1/training-eligibility/eligible-chats', {
    // A request's time bound covers the whole response, and a stream of every chat is long.
    config: { auth: pipelines, deadlineMs: streamTimeoutMs },
    schema: {
      tags: ['training eligibility'],
      operationId: 'streamEligibleChats',
      summary: 'Every chat eligible at one point, as NDJSON ordered by chatId (byte order)',
      description:
        'Streamed page by page with flat memory. The point is fixed when the stream starts and sent in the ' +
        'Consent-Revision and Consent-As-Of headers; ask again with atRevision to get the same chats.',
      security: [{ bearer: [] }],
      querystring: EligibleChatsQuery,
      response: {
        200: {
          description: 'One JSON object per line',
          content: {
            'application/x-ndjson': {
              schema: z.object({ chatId: z.string(), userId: z.string(), retentionUntil: z.string().nullable() }),
            },
          },
        },
        ...errorResponses(400, 503),
      },
    },
    handler: async (request, reply) => {
      const { after, limit, ...pointQuery } = request.query;
      const options = { after: after ?? '', limit: limit ?? null };
      const at = await eligibility.resolveEligibleChats(pointRequest(pointQuery), requestTime().getTime(), options);
      return sendNdjson(reply, at.point, eligibility.eligibleChats(at, options));
    },
  });
};

