import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** Every field of each type, as the REST bodies have them (for comparing the two doors). */
export const FIELDS = {
  consent: 'userId plan choice choiceAt choiceSurface effective basis decisionRequired policyVersion decisionDeadline retentionDays consentSince asOf revision',
  terms: 'acceptanceId userId policyVersion acceptedAt surface trainingChoice presentation { trainingToggleDefault trainingToggleShown locale uiVariant } revision',
  chat: 'chatId userId createdAt lastActivityAt incognito deletedAt flags { type flaggedAt } revision',
  decision: 'chatId userId eligible reason policyVersion consentSince retentionUntil asOf revision',
  event: 'revision eventId type userId chatId data actor { sub kind } occurredAt requestId prevHash hash',
  policy: 'version effectiveAt decisionDeadline defaultChoice requiresReconsent retention { grantedDays deniedDays violationDays } revision',
};
export const USER_FIELDS = `userId plan createdAt trainingConsent { ${FIELDS.consent} } latestTermsAcceptance { ${FIELDS.terms} } revision`;

export interface GraphqlResponse {
  status: number;
  body: { data?: Record<string, any> | null; errors?: { message: string; path?: string[]; extensions: { code: string; errors?: { path: string; message: string }[] } }[] };
}

/** POST /graphql with a bearer header (null: none). */
export async function graphql(t: TestApp, auth: string | null, query: string, variables: Record<string, unknown> = {}): Promise<GraphqlResponse> {
  let req = t.http.post('/graphql').send({ query, variables });
  if (auth !== null) req = req.set('authorization', auth);
  const res = await req;
  return { status: res.status, body: res.body };
}

/** The data of an operation that must succeed. */
export async function data(t: TestApp, auth: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await graphql(t, auth, query, variables);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  expect(res.status).toBe(200);
  return res.body.data!;
}

/** The codes of an operation's errors, checking the HTTP status. */
export async function codes(t: TestApp, auth: string | null, query: string, variables: Record<string, unknown> = {}, status = 200): Promise<string[]> {
  const res = await graphql(t, auth, query, variables);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.errors?.length, JSON.stringify(res.body)).toBeGreaterThan(0);
  return res.body.errors!.map((e) => e.extensions.code);
}

/** The app listening on loopback (WebSockets need a real socket), and its ws:// URL. */
export async function listening(t: TestApp): Promise<string> {
  if (!t.app.server.listening) await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as AddressInfo;
  return `ws://127.0.0.1:${port}/graphql`;
}

/** A graphql-ws client (the library frontends use) over a real socket; no retries, so a close is seen. */
export function wsClient(url: string, connectionParams: Record<string, unknown> | undefined, headers?: Record<string, string>): Client {
  class Socket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, headers ? { headers } : undefined);
    }
  }
  return createClient({ url, webSocketImpl: Socket, connectionParams, retryAttempts: 0, lazy: true });
}

export interface Subscription<T> {
  /** Resolves with the first `n` values received (more may keep arriving). */
  take(n: number): Promise<T[]>;
  values: T[];
  /** Settles when the subscription ends: its error (GraphQL errors, or a CloseEvent), or null on completion. */
  ended: Promise<unknown>;
  stop(): void;
}

/** Subscribes and collects what arrives. */
export function subscribe<T>(client: Client, query: string, variables: Record<string, unknown> = {}, pick: (data: any) => T = (d) => d): Subscription<T> {
  const values: T[] = [];
  const waiting: { n: number; resolve: (v: T[]) => void; reject: (e: unknown) => void }[] = [];
  let finish!: (v: unknown) => void;
  const ended = new Promise<unknown>((resolve) => (finish = resolve));
  const flush = () => {
    for (const w of [...waiting]) if (values.length >= w.n) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(values.slice(0, w.n));
    }
  };
  const stop = client.subscribe(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) {
          finish(value.errors);
          for (const w of waiting.splice(0)) w.reject(value.errors);
          return;
        }
        values.push(pick(value.data));
        flush();
      },
      error: (err) => {
        finish(err);
        for (const w of waiting.splice(0)) w.reject(err);
      },
      complete: () => {
        finish(null);
        for (const w of waiting.splice(0)) w.reject(new Error(`completed after ${values.length} values`));
      },
    },
  );
  return {
    values,
    ended,
    stop,
    take: (n) =>
      new Promise<T[]>((resolve, reject) => {
        waiting.push({ n, resolve, reject });
        flush();
      }),
  };
}
