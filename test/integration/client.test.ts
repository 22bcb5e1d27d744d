import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, type Database } from '../../src/db/client.js';
import { Doorway } from '../helpers/doorway.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * The PostgreSQL client: statements spread over the pool's connections ("lanes"), a transaction
 * holds a connection of its own. Several connections: PostgreSQL only.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe.runIf(process.env.TEST_DATABASE === 'postgres')('the PostgreSQL client', () => {
  const pid = async (db: Pick<Database, 'query'>, sleepS = 0) =>
    (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep($1)', [sleepS]))[0].pid;

  it('sends a statement to another connection, not behind a transaction in progress, even a busier one', async () => {
    const db = connectPostgres(t.url!, 2);
    try {
      await db.transaction(async (tx) => {
        const inside = await pid(tx);
        // The other connection gets as much to do as the transaction's...
        const slow = pid(db, 0.2);
        // ...and this still goes there: behind the transaction, it would wait for it to end, which waits for this.
        const outside = await pid(db);
        expect(outside).not.toBe(inside);
        expect(await slow).toBe(outside);
      });
    } finally {
      await db.close();
    }
  });

  it('spreads concurrent statements over every connection, also after statements that failed', async () => {
    const db = connectPostgres(t.url!, 3);
    try {
      for (let i = 0; i < 5; i++) await expect(db.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
      const pids = await Promise.all(Array.from({ length: 6 }, () => pid(db, 0.05)));
      expect(new Set(pids).size).toBe(3);
    } finally {
      await db.close();
    }
  });

  it('gives a transaction that waits for a connection the first one let go of', async () => {
    const db = connectPostgres(t.url!, 2);
    try {
      const ended: string[] = [];
      const run = (name: string, sleepS: number) =>
        db.transaction(async (tx) => {
          await tx.query('SELECT pg_sleep($1)', [sleepS]);
          ended.push(name);
        });
      const long = run('long', 0.4);
      const short = run('short', 0.05);
      // Both connections are held: this one waits, for whichever is let go of first.
      const waiting = run('waiting', 0);
      await Promise.all([long, short, waiting]);
      expect(ended).toEqual(['short', 'waiting', 'long']);
    } finally {
      await db.close();
    }
  });

  it('with every connection in a transaction, queues a statement until one ends', async () => {
    const db = connectPostgres(t.url!, 1);
    try {
      await db.query('CREATE TABLE lane_queue (x int)');
      let later: Promise<{ n: number }[]> | null = null;
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO lane_queue VALUES (1)');
        later = db.query<{ n: number }>('SELECT count(*)::int AS n FROM lane_queue');
      });
      // It ran once the transaction had committed, on the same connection.
      expect(await later!).toEqual([{ n: 1 }]);
    } finally {
      await db.query('DROP TABLE IF EXISTS lane_queue');
      await db.close();
    }
  });
});

describe.runIf(process.env.TEST_DATABASE !== 'postgres')('the embedded client', () => {
  it('has one connection: a statement waits behind a transaction', async () => {
    let inside = false;
    const seen: boolean[] = [];
    await t.db.transaction(async (tx) => {
      inside = true;
      void t.db.query('SELECT 1').then(() => seen.push(inside));
      await tx.query('SELECT pg_sleep(0.05)');
      inside = false;
    });
    await t.db.query('SELECT 1');
    expect(seen).toEqual([false]);
  });
});

describe('a transaction with deferred statements', () => {
  const table = async (name: string) => {
    await t.db.query(`DROP TABLE IF EXISTS ${name}`);
    await t.db.query(`CREATE TABLE ${name} (x int PRIMARY KEY)`);
    return async () => (await t.db.query<{ x: number }>(`SELECT x FROM ${name} ORDER BY x`)).map((r) => r.x);
  };

  it('sends a deferred statement ahead of the next one, which sees its effect, and commits it', async () => {
    const rows = await table('tx_defer_seen');
    const seen = await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO tx_defer_seen VALUES (1)');
      tx.defer('INSERT INTO tx_defer_seen VALUES ($1)', [2]);
      const inside = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM tx_defer_seen');
      tx.defer('INSERT INTO tx_defer_seen VALUES ($1)', [3]);
      return inside[0].n;
    });
    expect(seen).toBe(2);
    expect(await rows()).toEqual([1, 2, 3]);
  });

  it("fails at the next statement with a deferred statement's error, and commits nothing", async () => {
    const rows = await table('tx_defer_next');
    let after = false;
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_defer_next VALUES (1)');
        tx.defer('INSERT INTO tx_defer_next VALUES ($1)', [1]);
        await tx.query('INSERT INTO tx_defer_next VALUES (2)');
        after = true;
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(after).toBe(false);
    expect(await rows()).toEqual([]);
  });

  it("fails with the error of a statement deferred to the COMMIT, and commits nothing", async () => {
    const rows = await table('tx_defer_commit');
    await t.db.query('INSERT INTO tx_defer_commit VALUES (9)');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_defer_commit VALUES (1)');
        tx.defer('INSERT INTO tx_defer_commit VALUES ($1)', [2]);
        tx.defer('INSERT INTO tx_defer_commit VALUES ($1)', [9]);
        return 'done';
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await rows()).toEqual([9]);
    // The connection is usable again, and not left inside the failed transaction.
    await t.db.transaction(async (tx) => tx.defer('INSERT INTO tx_defer_commit VALUES ($1)', [3]));
    expect(await rows()).toEqual([3, 9]);
  });

  it('does not report as committed a transaction whose failed statement was caught', async () => {
    const rows = await table('tx_defer_caught');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_defer_caught VALUES (1)');
        await tx.query('SELECT * FROM no_such_table').catch(() => {});
      }),
    ).rejects.toThrow();
    expect(await rows()).toEqual([]);
  });
});

describe.runIf(process.env.TEST_DATABASE === 'postgres')('the PostgreSQL client when its connections fail', () => {
  it('gives up on a connection whose statement never comes back, and replaces it', async () => {
    const door = await Doorway.open(t.url!);
    const given: string[] = [];
    const db = connectPostgres(door.url(t.url!), 1, { statementTimeoutMs: 200 }, (what) => given.push(what));
    try {
      expect((await db.query<{ x: number }>('SELECT 1 AS x'))[0].x).toBe(1);
      door.frozen = true;
      // No answer will cross: the client's own deadline (a second past the statement timeout) ends the wait.
      await expect(db.query('SELECT 2')).rejects.toMatchObject({ code: 'CONNECTION_DESTROYED' });
      expect(given).toEqual([expect.stringMatching(/^SELECT 2 \(1 in flight\) had no answer after \d+ ms/)]);
      expect(db.stats!().replaced).toBe(1);
      door.frozen = false;
      expect((await db.query<{ x: number }>('SELECT 3 AS x'))[0].x).toBe(3);
    } finally {
      await db.close();
      await door.shut().catch(() => {});
    }
  });

  it('refuses requests at once while the database cannot be reached, and serves again as soon as it can', async () => {
    const door = await Doorway.open(t.url!);
    const db = connectPostgres(door.url(t.url!), 2, { connectTimeoutMs: 500 });
    try {
      await Promise.all([db.query('SELECT 1'), db.query('SELECT 1')]);
      await door.shut();
      // The first requests find the server gone; then the client refuses by itself, letting one probe through now and then.
      const codes: string[] = [];
      for (let i = 0; i < 20; i++) codes.push(await db.query('SELECT 1').then(() => 'ok', (err: { code?: string }) => err.code ?? 'error'));
      expect(codes).toContain('DATABASE_DOWN');
      expect(codes).not.toContain('ok');
      await expect(db.transaction(async (tx) => tx.query('SELECT 1'))).rejects.toMatchObject({ code: expect.stringMatching(/^(DATABASE_DOWN|ECONNREFUSED)$/) });
      await door.listen();
      let answer = 'error';
      for (let i = 0; i < 50 && answer !== 'ok'; i++) {
        answer = await db.query('SELECT 1').then(() => 'ok', (err: { code?: string }) => err.code ?? 'error');
        if (answer !== 'ok') await new Promise((r) => setTimeout(r, 50));
      }
      expect(answer).toBe('ok');
      expect(await db.transaction(async (tx) => (await tx.query<{ x: number }>('SELECT 4 AS x'))[0].x)).toBe(4);
    } finally {
      await db.close();
      await door.shut().catch(() => {});
    }
  });
});
