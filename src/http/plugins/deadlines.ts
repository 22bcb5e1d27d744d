import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { unavailable } from '../../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's time bound instead of REQUEST_TIMEOUT_MS (the NDJSON streams: STREAM_TIMEOUT_MS). */
    deadlineMs?: number;
  }
}

interface Pending {
  reply: FastifyReply;
  due: number;
}

/** The requests of the bound a request is held under, so that its answer finds them without asking its route again. */
const HELD_IN = Symbol('deadlines.heldIn');
type Held = FastifyRequest & { [HELD_IN]?: Map<FastifyRequest, Pending> };

/**
 * Every request is answered within its time bound (REQUEST_TIMEOUT_MS, or its route's
 * `deadlineMs`): one not answered by then gets 503 UNAVAILABLE; one whose response has begun (a
 * stream) has its connection closed, so that the client sees it cut short.
 *
 * One timer watches every request. Requests with the same bound are due in the order they
 * arrived, so each bound keeps its requests in a Map (insertion-ordered) and a sweep stops at the
 * first that is not due. A request costs a Map entry, where Fastify's `handlerTimeout` costs a
 * timer, an AbortController and, when the request's body has been read, a DOMException.
 * A sweep runs every `tickMs` (a tenth of the shortest bound, within 10-250 ms): a request is
 * answered at most that much after its bound.
 */
export const deadlinesPlugin = fp(
  async (app: FastifyInstance, opts: { timeoutMs: number }) => {
    const byBound = new Map<number, Map<FastifyRequest, Pending>>();
    const tickMs = Math.min(250, Math.max(10, Math.floor(opts.timeoutMs / 10)));

    const sweep = () => {
      const now = performance.now();
      for (const pending of byBound.values()) {
        for (const [request, entry] of pending) {
          if (entry.due > now) break;
          pending.delete(request);
          const reply = entry.reply;
          // Answered, hijacked (a WebSocket), or the client has gone: nothing is owed. (The request
          // stream itself is destroyed once its body has been read; its socket says whether the client is there.)
          const socket = request.raw.socket;
          if (reply.sent || socket === null || socket.destroyed) continue;
          if (reply.raw.headersSent) {
            reply.raw.destroy();
            continue;
          }
          reply.send(unavailable('the request could not be answered in time; retry'));
        }
      }
    };
    const timer = setInterval(sweep, tickMs);
    timer.unref();
    app.addHook('onClose', (_app, done) => {
      clearInterval(timer);
      done();
    });

    app.addHook('onRequest', (request: Held, reply, done) => {
      // routeOptions is built anew at each read: read once.
      const bound = request.routeOptions.config.deadlineMs ?? opts.timeoutMs;
      let pending = byBound.get(bound);
      if (pending === undefined) byBound.set(bound, (pending = new Map()));
      pending.set(request, { reply, due: performance.now() + bound });
      request[HELD_IN] = pending;
      done();
    });
    app.addHook('onResponse', (request: Held, _reply, done) => {
      request[HELD_IN]?.delete(request);
      done();
    });
  },
  { name: 'deadlines' },
);
