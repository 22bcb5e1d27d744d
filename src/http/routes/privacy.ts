import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pointRequest } from '../../db/point.js';
import type { ReadRouter } from '../../db/read-router.js';
import type { ErasureService } from '../../services/erasure.js';
import type { UserProofService } from '../../services/user-proof.js';
import { errorResponses, idempotencyOf, IdempotencyHeaders, requestTime, sendWrite, writeContext } from '../context.js';
import { requireUser } from '../plugins/auth.js';
import { ConsentReceiptOut, ConsentReceiptParams, ErasureOut, MinRevisionQuery, UserExportOut, UserParams } from '../schemas.js';

/** What a user may see, prove and erase of what is held about it (SPEC §6). */
export const privacyRoutes: FastifyPluginAsyncZod<{ proofs: UserProofService; erasure: ErasureService; reads: ReadRouter }> = async (
  app,
  { proofs, erasure, reads },
) => {
  app.get('/v1/users/:userId/consent-receipts/:eventId', {
    config: { auth: { scopes: ['consent:read', 'consent:write', 'audit:read'], self: true } },
    schema: {
      tags: ['training consent'],
      operationId: 'getConsentReceipt',
      summary: 'A signed ISO/IEC TS 27560 consent record of a consent choice or terms acceptance event',
      security: [{ bearer: [] }],
      params: ConsentReceiptParams,
      querystring: MinRevisionQuery,
      response: { 200: ConsentReceiptOut, ...errorResponses(400, 404) },
    },
    handler: async (request) => {
      requireUser(request, request.params.userId);
      // Receipts and exports are read on the primary; minRevision is checked there.
      await reads.reachOnPrimary(pointRequest(request.query));
      return proofs.consentReceipt(request.params.userId, request.params.eventId, requestTime().getTime());
    },
  });

  app.get('/v1/users/:userId/export', {
    config: { auth: { scopes: ['audit:read'], self: true } },
    schema: {
      tags: ['users'],
      operationId: 'exportUser',
      summary: 'Everything held about a user, with an inclusion proof of each of its events against a signed checkpoint',
      security: [{ bearer: [] }],
      params: UserParams,
      querystring: MinRevisionQuery,
      response: { 200: UserExportOut, ...errorResponses(400, 404, 503) },
    },
    handler: async (request) => {
      requireUser(request, request.params.userId);
      await reads.reachOnPrimary(pointRequest(request.query));
      return proofs.export(request.params.userId, requestTime().getTime());
    },
  });

  app.delete('/v1/users/:userId', {
    config: { auth: { scopes: ['admin'], self: true } },
    schema: {
      tags: ['users'],
      operationId: 'eraseUser',
      summary: 'Erase a user: its data is deleted, its events stay in the log redacted, with their hashes',
      description:
        'Afterwards the user is unknown everywhere and its chats are chat_not_found. A user.erased event that names no one ' +
        'closes its chain. docs/decisions/0020 says what is deleted.',
      security: [{ bearer: [] }],
      params: UserParams,
      headers: IdempotencyHeaders,
      response: { 200: ErasureOut, ...errorResponses(400, 404, 409) },
    },
    handler: async (request, reply) => {
      const { userId } = request.params;
      requireUser(request, userId);
      const ctx = writeContext(request, userId);
      return sendWrite(reply, await erasure.erase(ctx, idempotencyOf(request), userId, ctx.actor.kind === 'user'));
    },
  });
};
