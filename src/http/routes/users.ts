import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuditFeed } from '../../audit/feed.js';
import { pointRequest } from '../../db/point.js';
import type { ConsentService } from '../../services/consent.js';
import { errorResponses, idempotencyOf, IdempotencyHeaders, requestTime, sendWrite, writeContext, writeErrors } from '../context.js';
import { requireUser } from '../plugins/auth.js';
import {
  AuditPageOut,
  AuditQuery,
  ConsentIn,
  ConsentOut,
  MinRevisionQuery,
  PlanIn,
  PointQuery,
  TermsAcceptanceIn,
  TermsAcceptanceOut,
  UserOut,
  UserParams,
} from '../schemas.js';
import { randomUUID } from 'node:crypto';

const readers = { scopes: ['consent:read', 'consent:write'], self: true } as const;
const writers = { scopes: ['consent:write'], self: true } as const;

export const userRoutes: FastifyPluginAsyncZod<{ consent: ConsentService; audit: AuditFeed }> = async (app, { consent, audit }) => {
  app.get('/v1/users/:userId', {
    config: { auth: readers },
    schema: {
      tags: ['users'],
      operationId: 'getUser',
      summary: "A user: plan, training consent now, and latest terms acceptance",
      security: [{ bearer: [] }],
      params: UserParams,
      querystring: MinRevisionQuery,
      response: { 200: UserOut, ...errorResponses(400, 404) },
    },
    handler: async (request) => {
      requireUser(request, request.params.userId);
      return consent.getUser(request.params.userId, pointRequest(request.query), requestTime().getTime());
    },
  });

  app.put('/v1/users/:userId/plan', {
    config: { auth: { scopes: ['consent:write'] } },
    schema: {
      tags: ['users'],
      operationId: 'setPlan',
      summary: "Set a user's plan (audited and dated: eligibility at T uses the plan at T)",
      security: [{ bearer: [] }],
      params: UserParams,
      headers: IdempotencyHeaders,
      body: PlanIn,
      response: { 200: UserOut, ...writeErrors() },
    },
    handler: async (request, reply) => {
      const { userId } = request.params;
      const result = await consent.setPlan(writeContext(request, userId), idempotencyOf(request), userId, request.body.plan);
      return sendWrite(reply, result);
    },
  });

  app.get('/v1/users/:userId/training-consent', {
    config: { auth: readers },
    schema: {
      tags: ['training consent'],
      operationId: 'getTrainingConsent',
      summary: "A user's training consent now, as of a time, or after a revision",
      security: [{ bearer: [] }],
      params: UserParams,
      querystring: PointQuery,
      response: { 200: ConsentOut, ...errorResponses(400, 404, 503) },
    },
    handler: async (request, reply) => {
      requireUser(request, request.params.userId);
      const { view, etag } = await consent.getConsent(request.params.userId, pointRequest(request.query), requestTime().getTime());
      reply.header('etag', etag);
      return view;
    },
  });

  app.put('/v1/users/:userId/training-consent', {
    config: { auth: writers },
    schema: {
      tags: ['training consent'],
      operationId: 'setTrainingConsent',
      summary: "Record a user's training choice",
      description: 'Audited. With If-Match, refused with 412 when the consent changed since it was read.',
      security: [{ bearer: [] }],
      params: UserParams,
      headers: IdempotencyHeaders.extend({ 'if-match': z.string().optional() }),
      body: ConsentIn,
      response: { 200: ConsentOut, ...writeErrors(412) },
    },
    handler: async (request, reply) => {
      const { userId } = request.params;
      requireUser(request, userId);
      const result = await consent.setConsent(
        writeContext(request, userId),
        idempotencyOf(request),
        userId,
        request.body,
        request.headers['if-match'] as string | undefined,
      );
      return sendWrite(reply, result);
    },
  });

  app.post('/v1/users/:userId/terms-acceptances', {
    config: { auth: writers },
    schema: {
      tags: ['terms acceptances'],
      operationId: 'recordTermsAcceptance',
      summary: 'Record that a user accepted a terms version, what the pop-up showed, and the choice made',
      security: [{ bearer: [] }],
      params: UserParams,
      headers: IdempotencyHeaders,
      body: TermsAcceptanceIn,
      response: { 201: TermsAcceptanceOut, ...writeErrors(422) },
    },
    handler: async (request, reply) => {
      const { userId } = request.params;
      requireUser(request, userId);
      const result = await consent.recordTermsAcceptance(writeContext(request, userId), idempotencyOf(request), userId, request.body, randomUUID());
      return sendWrite(reply, result);
    },
  });

  app.get('/v1/users/:userId/terms-acceptances', {
    config: { auth: readers },
    schema: {
      tags: ['terms acceptances'],
      operationId: 'listTermsAcceptances',
      summary: "A user's terms acceptances, newest first",
      security: [{ bearer: [] }],
      params: UserParams,
      querystring: MinRevisionQuery,
      response: { 200: z.object({ items: z.array(TermsAcceptanceOut) }), ...errorResponses(400, 404) },
    },
    handler: async (request) => {
      requireUser(request, request.params.userId);
      return consent.listTermsAcceptances(request.params.userId, pointRequest(request.query));
    },
  });

  app.get('/v1/users/:userId/audit-events', {
    config: { auth: { scopes: ['audit:read'], self: true } },
    schema: {
      tags: ['audit'],
      operationId: 'listUserAuditEvents',
      summary: "A user's audit events (its hash chain) in revision order",
      security: [{ bearer: [] }],
      params: UserParams,
      querystring: AuditQuery,
      response: { 200: AuditPageOut, ...errorResponses(400, 404, 503) },
    },
    handler: async (request) => {
      requireUser(request, request.params.userId);
      const { after, limit, minRevision } = request.query;
      return audit.forUser(request.params.userId, after ?? '0', limit ?? 100, requestTime().getTime(), pointRequest({ minRevision }));
    },
  });
};
