import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Telemetry } from '../../telemetry.js';

/** Times every request, by route template and status, into the service's telemetry (served at /metrics). */
export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: { telemetry: Telemetry }) => {
    app.addHook('onResponse', (request, reply, done) => {
      opts.telemetry.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  },
  { name: 'metrics' },
);
