import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, type Database } from '../../src/db/client.js';
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
