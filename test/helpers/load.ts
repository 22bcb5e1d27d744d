import { randomUUID } from 'node:crypto';

/** One request of a load run, as the client saw it. */
export interface Outcome {
  op: 'write' | 'read';
  path: string;
  requestId: string;
  start: number;
  end: number;
  /** HTTP status, or 0 when no response came (connection refused or reset, client timeout). */
  status: number;
  /** The error's code when no response came. */
  error?: string;
  contentType?: string;
  retryAfter?: string | null;
  body?: Record<string, unknown> | null;
  /** For writes: the user written and the choice sent. */
  userId?: string;
  choice?: string;
}

export interface LoadOptions {
  baseUrl: () => string;
  writers: number;
  readers: number;
  writerToken: string;
  readerToken: string;
  /** Users written by writer w: each writer owns its own users, so writes never queue on one row. */
  usersOf: (writer: number) => string[];
  chats: string[];
  /** A request not answered by then counts as hung. */
  clientTimeoutMs: number;
}

/**
 * Closed-loop load from this process: writers set consent choices (alternating) on their own
 * users, readers ask for eligibility and consent. Every request carries its own X-Request-Id,
 * which the service records on the audit events a write appends: a write can be looked for
 * afterwards whatever its client saw.
 */
export class Load {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly o: LoadOptions) {
    for (let w = 0; w < o.writers; w++) this.loops.push(this.writer(w));
    for (let r = 0; r < o.readers; r++) this.loops.push(this.reader(r));
  }

  private async send(op: Outcome['op'], method: string, path: string, token: string, body?: unknown, extra: Partial<Outcome> = {}) {
    const requestId = `load-${randomUUID()}`;
    const start = performance.now();
    const outcome: Outcome = { op, path, requestId, start, end: start, status: 0, ...extra };
    try {
      const res = await fetch(`${this.o.baseUrl()}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'x-request-id': requestId,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.clientTimeoutMs),
      });
      outcome.status = res.status;
      outcome.contentType = res.headers.get('content-type') ?? undefined;
      outcome.retryAfter = res.headers.get('retry-after');
      const text = await res.text();
      outcome.body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    } catch (err) {
      const e = err as { name?: string; code?: string; cause?: { code?: string } };
      outcome.error = e.name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : (e.cause?.code ?? e.code ?? e.name ?? 'ERROR');
    }
    outcome.end = performance.now();
    this.outcomes.push(outcome);
    return outcome;
  }

  private async writer(w: number) {
    const users = this.o.usersOf(w);
    for (let i = 0; this.running; i++) {
      const userId = users[i % users.length];
      const choice = i % 2 === 0 ? 'denied' : 'granted';
      const out = await this.send('write', 'PUT', `/v1/users/${userId}/training-consent`, this.o.writerToken, { choice, surface: 'web' }, { userId, choice });
      if (out.status === 0) await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async reader(r: number) {
    for (let i = r; this.running; i++) {
      const chat = this.o.chats[i % this.o.chats.length];
      const out = await this.send('read', 'GET', `/v1/chats/${chat}/training-eligibility`, this.o.readerToken);
      if (out.status === 0) await new Promise((res) => setTimeout(res, 20));
    }
  }

  async stop(): Promise<Outcome[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.outcomes;
  }
}

/** Milliseconds, rounded for a report. */
export const ms = (x: number) => Math.round(x);
