import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, DatabaseDown } from '../../src/db/client.js';
import { isDatabaseUnavailable } from '../../src/db/unavailable.js';
import { PrivateCluster } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

/**
 * The driver patch's multi-host part (`patches/postgres+3.4.9.patch`), against a primary and a
 * streaming replica of this file's own. On postgres.js 3.4.9 as released, a URL listing a standby
 * first with `target_session_attrs=read-write` connects to the standby (PostgreSQL 14 and later
 * report `default_transaction_read_only` off on a standby, and that is all 3.4.9 looks at), and a
 * URL none of whose hosts accepts writes never answers: the driver cycles through them for ever,
 * its connect timeout restarted at each attempt.
 */
const within = <T>(p: Promise<T>, ms = 5_000) =>
  Promise.race([p.then((v) => ({ value: v }), (error: unknown) => ({ error })), new Promise<'still pending'>((r) => setTimeout(() => r('still pending'), ms))]);

describe.runIf(process.env.TEST_DATABASE === 'postgres')('driver: multi-host URLs', () => {
  let primary: PrivateCluster;
  let standby: PrivateCluster;
  const clients: postgres.Sql[] = [];
  const client = (hosts: number[]) => {
    const sql = postgres(`postgres://postgres@${hosts.map((p) => `127.0.0.1:${p}`).join(',')}/postgres?target_session_attrs=read-write`, {
      max: 1,
      onnotice: () => {},
      connect_timeout: 2,
    });
    clients.push(sql);
    return sql;
  };

  beforeAll(async () => {
    primary = await PrivateCluster.create(await freePort());
    standby = await PrivateCluster.replicaOf(primary, await freePort());
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })));
    await Promise.all([primary, standby].map((c) => c?.destroy()));
  });

  it('with target_session_attrs=read-write, passes over a standby listed first and connects to the primary', async () => {
    expect((await standby.psql('SELECT pg_is_in_recovery()')).trim()).toBe('t');
    const sql = client([standby.port, primary.port]);
    const result = await within(sql`SELECT pg_is_in_recovery() AS standby`);
    expect(result).toEqual({ value: [{ standby: false }] });
  });

  it('refuses a query once every host has been tried and none accepts writes, instead of trying them again and again', async () => {
    const nobody = await freePort();
    const result = await within(client([nobody, standby.port])`SELECT 1`);
    expect(result).not.toBe('still pending');
    const { error } = result as { error: { code?: string } };
    expect(error.code).toBe('TARGET_SESSION_ATTRS');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("is the database being down for the service's client: refused at once until a host accepts writes", async () => {
    const db = connectPostgres(`postgres://postgres@127.0.0.1:${standby.port}/postgres?target_session_attrs=read-write`, 2, { connectTimeoutMs: 2_000 });
    try {
      const first = await within(db.query('SELECT 1'));
      expect((first as { error: { code?: string } }).error.code).toBe('TARGET_SESSION_ATTRS');
      const second = await within(db.query('SELECT 1'), 1_000);
      expect((second as { error: unknown }).error).toBeInstanceOf(DatabaseDown);
    } finally {
      await db.close();
    }
  });
});
