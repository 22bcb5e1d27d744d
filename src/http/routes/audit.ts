import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AuditFeed } from '../../audit/feed.js';
import { pointRequest } from '../../db/point.js';
import { errorResponses, requestTime } from '../context.js';
import { AuditPageOut, FeedQuery } from '../schemas.js';

export const auditRoutes: FastifyPluginAsyncZod<{ audit: AuditFeed }> = async (app, { audit }) => {
  app.get('/v1/audit/events', {
    config: { auth: { scopes: ['training:read', 'audit:read'] } },
    schema: {
      tags: ['audit'],
      operationId: 'listAuditEvents',
      summary: 'The global change feed, in revision order',
      description:
        'Follow nextCursor: every event is seen exactly once, even while writers commit out of order, because a page ' +
        'never reaches past a revision that could still commit. nextCursor is always set; poll with it.',
      security: [{ bearer: [] }],
      querystring: FeedQuery,
      response: { 200: AuditPageOut, ...errorResponses(400, 503) },
    },
    handler: async (request) => {
      const { after, limit, types, minRevision } = request.query;
      const typeList = types ? types.split(',').map((t) => t.trim()).filter(Boolean) : null;
      const list = typeList && typeList.length > 0 ? typeList : null;
      return audit.feed(after ?? '0', limit ?? 100, list, requestTime().getTime(), null, pointRequest({ minRevision }));
    },
  });
};
