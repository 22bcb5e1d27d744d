import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Point } from '../db/point.js';

/**
 * Sends a stream's NDJSON pages, with the point it was read at in the Consent-Revision and
 * Consent-As-Of headers. A client that goes away stops the reading: the pages' generator is
 * returned, no more pages are asked for.
 */
export function sendNdjson(reply: FastifyReply, point: Point, pages: AsyncIterable<{ bytes: Buffer }>): FastifyReply {
  async function* lines() {
    for await (const page of pages) yield page.bytes;
  }
  const stream = Readable.from(lines(), { objectMode: false, highWaterMark: 1 });
  reply.raw.on('close', () => stream.destroy());
  return reply
    .header('content-type', 'application/x-ndjson')
    .header('consent-revision', point.revision)
    .header('consent-as-of', new Date(point.at).toISOString())
    .send(stream);
}
