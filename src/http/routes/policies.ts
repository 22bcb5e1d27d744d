import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PolicyService } from '../../services/policies.js';
import { errorResponses, idempotencyOf, IdempotencyHeaders, sendWrite, writeContext, writeErrors } from '../context.js';
import { pointRequest } from '../../db/point.js';
import { MinRevisionQuery, PolicyIn, PolicyOut, PolicyParams } from '../schemas.js';

export const policyRoutes: FastifyPluginAsyncZod<{ policies: PolicyService }> = async (app, { policies }) => {
  app.get('/v1/policies', {
    config: { auth: { anyToken: true } },
    schema: {
      tags: ['policies'],
      operationId: 'listPolicies',
      summary: 'Every terms version, ordered by effectiveAt',
      security: [{ bearer: [] }],
      querystring: MinRevisionQuery,
      response: { 200: z.object({ items: z.array(PolicyOut) }), ...errorResponses(400) },
    },
    handler: async (request) => policies.list(pointRequest(request.query)),
  });

  app.get('/v1/policies/:version', {
    config: { auth: { anyToken: true } },
    schema: {
      tags: ['policies'],
      operationId: 'getPolicy',
      summary: 'One terms version',
      security: [{ bearer: [] }],
      params: PolicyParams,
      querystring: MinRevisionQuery,
      response: { 200: PolicyOut, ...errorResponses(400, 404) },
    },
    handler: async (request) => policies.get(request.params.version, pointRequest(request.query)),
  });

  app.post('/v1/policies', {
    config: { auth: { scopes: [] } },
    schema: {
      tags: ['policies'],
      operationId: 'createPolicy',
      summary: 'Add a terms version that takes effect in the future (admin)',
      description: 'Versions are unique (409). Policies are never edited or deleted, and never take effect in the past (422).',
      security: [{ bearer: [] }],
      headers: IdempotencyHeaders,
      body: PolicyIn,
      response: { 201: PolicyOut, ...writeErrors(422) },
    },
    handler: async (request, reply) => sendWrite(reply, await policies.create(writeContext(request, null), idempotencyOf(request), request.body)),
  });
};
