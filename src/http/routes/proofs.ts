import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { badRequest, notFound, unprocessable } from '../../errors.js';
import { pointRequest } from '../../db/point.js';
import type { ReadRouter } from '../../db/read-router.js';
import type { Checkpoints } from '../../proof/checkpoints.js';
import { errorResponses, requestTime } from '../context.js';
import {
  CheckpointOut,
  CheckpointPageOut,
  CheckpointsQuery,
  ConsistencyProofOut,
  ConsistencyQuery,
  InclusionProofOut,
  InclusionQuery,
  MinRevisionQuery,
} from '../schemas.js';

const readers = { scopes: ['audit:read', 'training:read'] } as const;

/** Checkpoints of the Merkle log and proofs against them (SPEC §6). */
export const proofRoutes: FastifyPluginAsyncZod<{ checkpoints: Checkpoints; reads: ReadRouter }> = async (app, { checkpoints, reads }) => {
  const log = checkpoints.log;
  // The log, its checkpoints and proofs are read on the primary; minRevision is checked there.
  const reached = (query: { minRevision?: string }) => reads.reachOnPrimary(pointRequest({ minRevision: query.minRevision }));

  app.post('/v1/audit/checkpoints', {
    config: { auth: { scopes: ['admin'] } },
    schema: {
      tags: ['audit'],
      operationId: 'createCheckpoint',
      summary: 'Sign a checkpoint of the Merkle log now',
      description: 'Covers every settled event. 201 with a new checkpoint when the log grew since the latest one; 200 with the latest otherwise.',
      security: [{ bearer: [] }],
      response: { 200: CheckpointOut, 201: CheckpointOut, ...errorResponses(422, 503) },
    },
    handler: async (_request, reply) => {
      const { checkpoint, created } = await checkpoints.create(requestTime().getTime());
      return reply.code(created ? 201 : 200).send(checkpoint);
    },
  });

  app.get('/v1/audit/checkpoints/latest', {
    config: { auth: readers },
    schema: {
      tags: ['audit'],
      operationId: 'getLatestCheckpoint',
      summary: 'The latest signed checkpoint of the Merkle log',
      security: [{ bearer: [] }],
      querystring: MinRevisionQuery,
      response: { 200: CheckpointOut, ...errorResponses(400, 404) },
    },
    handler: async (request) => {
      await reached(request.query);
      const latest = await checkpoints.latest();
      if (latest === null) throw notFound('no checkpoint has been made yet');
      return latest;
    },
  });

  app.get('/v1/audit/checkpoints', {
    config: { auth: readers },
    schema: {
      tags: ['audit'],
      operationId: 'listCheckpoints',
      summary: 'Signed checkpoints, oldest first; each names the previous root',
      security: [{ bearer: [] }],
      querystring: CheckpointsQuery,
      response: { 200: CheckpointPageOut, ...errorResponses(400) },
    },
    handler: async (request) => {
      await reached(request.query);
      return checkpoints.list(request.query.after ?? 0, request.query.limit ?? 100);
    },
  });

  app.get('/v1/audit/proofs/inclusion', {
    config: { auth: readers },
    schema: {
      tags: ['audit'],
      operationId: 'getInclusionProof',
      summary: "Proof that the event at a revision is in the tree of a given size (RFC 6962 audit path)",
      description: 'Leaf data is the 32 bytes of the event hash. treeSize defaults to the latest checkpoint.',
      security: [{ bearer: [] }],
      querystring: InclusionQuery,
      response: { 200: InclusionProofOut, ...errorResponses(400, 404, 422) },
    },
    handler: async (request) => {
      const { revision } = request.query;
      await reached(request.query);
      const state = await log.state();
      let treeSize = request.query.treeSize;
      if (treeSize === undefined) {
        const latest = await checkpoints.latest();
        if (latest === null) throw notFound('no checkpoint has been made yet: name a treeSize');
        treeSize = latest.treeSize;
      }
      if (treeSize > state.size) {
        throw badRequest(`treeSize ${treeSize} is beyond the tree (${state.size} leaves)`, [{ path: 'query.treeSize', message: `must be at most ${state.size}` }]);
      }
      const leaf = await log.leafIndex(revision);
      if (leaf === null) {
        if (BigInt(revision) > BigInt(state.lastRevision)) throw unprocessable(`the event at revision ${revision} is not in the tree yet`);
        throw notFound(`no audit event has revision ${revision}`);
      }
      if (leaf.index >= treeSize) throw unprocessable(`the event at revision ${revision} is leaf ${leaf.index}, not in a tree of ${treeSize}`);
      const { rootHash, paths } = await log.inclusionProofs([leaf.index], treeSize);
      return { leafIndex: leaf.index, treeSize, rootHash, path: paths[0] };
    },
  });

  app.get('/v1/audit/proofs/consistency', {
    config: { auth: readers },
    schema: {
      tags: ['audit'],
      operationId: 'getConsistencyProof',
      summary: 'Proof that the tree of size from is a prefix of the tree of size to (RFC 6962)',
      security: [{ bearer: [] }],
      querystring: ConsistencyQuery,
      response: { 200: ConsistencyProofOut, ...errorResponses(400) },
    },
    handler: async (request) => {
      const { from, to } = request.query;
      if (from > to) throw badRequest('from must not be greater than to', [{ path: 'query.from', message: 'must be at most to' }]);
      await reached(request.query);
      const state = await log.state();
      if (to > state.size) throw badRequest(`to ${to} is beyond the tree (${state.size} leaves)`, [{ path: 'query.to', message: `must be at most ${state.size}` }]);
      return { from, to, path: await log.consistency(from, to) };
    },
  });
};
