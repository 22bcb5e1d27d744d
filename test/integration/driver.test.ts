import net from 'node:net';
import postgres from 'postgres';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Doorway } from '../helpers/doorway.js';

/**
 * The PostgreSQL driver as patched at install (`patches/postgres+3.4.9.patch`): a connection whose
 * socket closes settles everything that waits on it and can be used again. Each case closes a
 * socket of its own, under the driver, the way a stopped server or a dropped network does; on
 * postgres.js 3.4.9 as released the first case kills the process (an uncaught TypeError from a
 * timer callback), the second leaves the next connection unable to send its startup message until
 * the connect timeout, and the third never settles.
 */
const url = () => inject('pgAdminUrl');

interface Client {
  sql: postgres.Sql;
  /** The socket of the connection opened last. */
  socket(): net.Socket;
}

const clients: postgres.Sql[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((sql) => sql.end({ timeout: 1 })));
});

function client(connectTimeoutS = 2): Client {
  let last: net.Socket | null = null;
  const { hostname, port } = new URL(url());
  const sql = postgres(url(), {
    max: 1,
    onnotice: () => {},
    connect_timeout: connectTimeoutS,
    // `socket` is postgres.js's own option, which its type declarations leave out.
    ...({
      socket: () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(Number(port || 5432), hostname);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
          last = s;
        }),
    } as object),
  });
  clients.push(sql);
  return { sql, socket: () => last! };
}

/** Resolves once the socket's close has been handled (the driver's listener runs first). */
const closed = (s: net.Socket) => new Promise<void>((resolve) => (s.destroyed && s.closed ? resolve() : s.once('close', () => setImmediate(resolve))));

/** What `p` settles to within `ms`, or 'still pending'. */
const within = (p: Promise<unknown>, ms = 3_000) =>
  Promise.race([p, new Promise((resolve) => setTimeout(() => resolve('still pending'), ms))]);

const codeOf = (err: { code?: string }) => err.code;

/** Uncaught exceptions while `fn` runs: the driver must raise none. */
async function uncaughtDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (err: unknown) => seen.push(err);
  const vitestListeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', listener);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.removeListener('uncaughtException', listener);
    for (const l of vitestListeners) process.on('uncaughtException', l);
  }
  return seen;
}

describe.runIf(process.env.TEST_DATABASE === 'postgres')('the PostgreSQL driver, when a connection closes under it', () => {
  it('refuses a statement on a reserved connection whose socket closed, and serves the next one on a new connection', async () => {
    const { sql, socket } = client();
    const uncaught = await uncaughtDuring(async () => {
      const reserved = await sql.reserve();
      await reserved`SELECT 1`;
      const s = socket();
      s.destroy();
      await closed(s);
      expect(await within(reserved`SELECT 2`.catch(codeOf))).toBe('CONNECTION_CLOSED');
      reserved.release();
      expect(await within(sql`SELECT 3 AS x`.then((rows) => rows[0].x, codeOf))).toBe(3);
      expect(socket()).not.toBe(s);
    });
    expect(uncaught).toEqual([]);
  });

  it('does not leave a write queued for a closed socket in the way of the next connection', async () => {
    const { sql, socket } = client();
    await sql`SELECT 1`;
    const old = socket();
    // Another socket's close handler runs in the same event-loop phase as the driver's, just
    // before it: a statement issued there queues its write for a socket about to close.
    const other = net.connect(Number(new URL(url()).port || 5432), new URL(url()).hostname);
    await new Promise((r) => other.once('connect', r));
    let queued!: Promise<unknown>;
    const issued = new Promise<void>((resolve) =>
      other.once('close', () => {
        queued = sql`SELECT 2`.catch(codeOf);
        resolve();
      }),
    );
    old.destroy();
    other.destroy();
    await issued;
    expect(await queued).toBe('CONNECTION_CLOSED');
    // Within the 2 s connect timeout: the startup message of the new connection is sent at once.
    const started = Date.now();
    const [row] = await sql`SELECT 3 AS x`;
    expect(row.x).toBe(3);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('settles the statements a reserved connection had queued when its socket closes', async () => {
    const { sql, socket } = client();
    const reserved = await sql.reserve();
    await reserved`SELECT 1`;
    // A statement with parameters not prepared before is described first, and the connection
    // takes nothing more until it has been: the statements after it wait in the reservation.
    const sleeping = reserved`SELECT pg_sleep(${0.5}::float8)`.catch(codeOf);
    const queued = [reserved`SELECT ${1}::int AS a`, reserved`SELECT ${2}::int AS b`].map((q) => q.catch(codeOf));
    await new Promise((r) => setTimeout(r, 50));
    socket().destroy();
    expect(await within(Promise.all([sleeping, ...queued]))).toEqual(['CONNECTION_CLOSED', 'CONNECTION_CLOSED', 'CONNECTION_CLOSED']);
    reserved.release();
    expect(await within(sql`SELECT 4 AS x`.then((rows) => rows[0].x, codeOf))).toBe(4);
  });
});

describe.runIf(process.env.TEST_DATABASE === 'postgres')('the PostgreSQL driver, when the server goes away and comes back', () => {
  it('hands a reservation asked for while its connection was lost the new connection', async () => {
    const { sql, socket } = client();
    await sql`SELECT 1`;
    // The connection is busy, so the reservation queues; when the socket closes, the pool opens a
    // new connection for the first request in its queue: this reservation.
    const busy = sql`SELECT pg_sleep(0.3)`.catch(codeOf);
    await new Promise((r) => setTimeout(r, 20));
    const reserving = sql.reserve();
    await new Promise((r) => setTimeout(r, 50));
    socket().destroy();
    expect(await busy).toBe('CONNECTION_CLOSED');
    const reserved = await within(reserving);
    expect(reserved).not.toBe('still pending');
    const r = reserved as postgres.ReservedSql;
    expect((await r`SELECT 5 AS x`)[0].x).toBe(5);
    r.release();
    expect(await within(sql`SELECT 6 AS x`.then((rows) => rows[0].x, codeOf))).toBe(6);
  });

  it('uses the server again once it is back, after a reservation failed while it was away', async () => {
    const door = await Doorway.open(url());
    const sql = postgres(door.url(url()), { max: 1, onnotice: () => {}, connect_timeout: 2, backoff: () => 0.02 });
    clients.push(sql);
    try {
      await sql`SELECT 1`;
      await door.shut();
      await new Promise((r) => setTimeout(r, 50));
      expect(await within(sql.reserve().then(() => 'reserved', codeOf))).toBe('ECONNREFUSED');
      await door.listen();
      // The first statement opens a connection; the failed reservation must not take it from the pool.
      for (const n of [1, 2, 3]) expect(await within(sql`SELECT ${n}::int AS x`.then((rows) => rows[0].x, codeOf))).toBe(n);
    } finally {
      await sql.end({ timeout: 1 });
      await door.shut().catch(() => {});
    }
  });
});
