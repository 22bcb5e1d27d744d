import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pointRequest } from '../../db/point.js';
import type { StatisticsService } from '../../services/statistics.js';
import { errorResponses, requestTime } from '../context.js';
import { ConsentStatisticsOut, PointQuery } from '../schemas.js';

export const statisticsRoutes: FastifyPluginAsyncZod<{ statistics: StatisticsService }> = async (app, { statistics }) => {
  app.get('/v1/consent-statistics', {
    config: { auth: { scopes: ['audit:read'] } },
    schema: {
      tags: ['audit'],
      operationId: 'getConsentStatistics',
      summary: 'Consent across all users now, as of a time, or after a revision: choices, defaults and the evidence behind grants',
      description:
        "Users by plan and consent basis (each user's consent as the consent read answers it), how many need a decision, " +
        'the grants in force by how they were given (pop-up with the toggle pre-set to on, pre-set to off, not shown; ' +
        'outside the pop-up; by default), consent choices per day and surface, and terms acceptances by what the pop-up ' +
        'showed with the choices made in them. What the console overview shows.',
      security: [{ bearer: [] }],
      querystring: PointQuery,
      response: { 200: ConsentStatisticsOut, ...errorResponses(400, 503) },
    },
    handler: async (request) => statistics.at(pointRequest(request.query), requestTime().getTime()),
  });
};
