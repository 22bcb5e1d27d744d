import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of a test's own, on its own port and socket directory, so that a test can
 * stop, kill and restart it without touching the server everyone else uses. Made with initdb as
 * the `postgres` user (the tests run as root), removed by `destroy`. Its `pg_hba.conf` trusts
 * loopback, replication connections included, so that `replicaOf` can stream from it.
 */
export class PrivateCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  private static async directory(port: number): Promise<string> {
    const base = mkdtempSync(join(tmpdir(), `consent-pg-${port}-`));
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(base, uid, gid);
    chmodSync(base, 0o700);
    return base;
  }

  static async create(port: number): Promise<PrivateCluster> {
    const cluster = new PrivateCluster(await PrivateCluster.directory(port), port);
    await cluster.asPostgres(`${BIN}/initdb`, ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    // wal_level replica is PostgreSQL 15's default; said here because replicaOf depends on it. WAL
    // is kept a while, so that a base backup's stream finds what a checkpoint since has recycled.
    appendFileSync(cluster.confFile, "\nwal_level = replica\nmax_wal_senders = 10\nwal_keep_size = '256MB'\n");
    await cluster.start();
    return cluster;
  }

  /**
   * A streaming replica of `primary`, started (make them one after the other: base backups taken
   * at once each force a checkpoint that can remove WAL the other still streams): a base backup taken with `pg_basebackup -R`
   * (standby.signal and primary_conninfo written), the primary's configuration as it was copied,
   * and `settings` added (`recovery_min_apply_delay`, for one). Hot standby, with feedback so that
   * its queries are not cancelled by the primary's vacuum.
   */
  static async replicaOf(primary: PrivateCluster, port: number, settings: Record<string, string> = {}): Promise<PrivateCluster> {
    const replica = new PrivateCluster(await PrivateCluster.directory(port), port);
    await replica.asPostgres(`${BIN}/pg_basebackup`, [
      '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', replica.dataDir, '-R', '-X', 'stream', '-c', 'fast',
    ]);
    const lines = Object.entries({ hot_standby: 'on', hot_standby_feedback: 'on', ...settings }).map(([k, v]) => `${k} = '${v}'`);
    appendFileSync(replica.confFile, `\n${lines.join('\n')}\n`);
    await replica.start();
    return replica;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  private get confFile(): string {
    return join(this.dataDir, 'postgresql.conf');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  urlFor(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private async asPostgres(cmd: string, args: string[]): Promise<string> {
    const { stdout } = await run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 120_000 });
    return stdout;
  }

  async start(): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, [
      '-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-w', '-t', '60',
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`,
      'start',
    ]);
  }

  /** `fast` rolls back open transactions and disconnects clients; `immediate` is a crash without the process dying. */
  async stop(mode: 'fast' | 'immediate' | 'smart' = 'fast'): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  /** A replica becomes a primary: it stops replaying and accepts writes. */
  async promote(): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-w', '-t', '60', 'promote']);
  }

  /** Sets a reloadable setting (`recovery_min_apply_delay`, …) and has the server read it. */
  async set(name: string, value: string): Promise<void> {
    await this.psql(`ALTER SYSTEM SET ${name} = '${value}'`);
    await this.psql('SELECT pg_reload_conf()');
  }

  async psql(sql: string, database = 'postgres'): Promise<string> {
    return this.asPostgres(`${BIN}/psql`, ['-h', '127.0.0.1', '-p', String(this.port), '-d', database, '-AtX', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  }

  async createDatabase(name: string): Promise<string> {
    await this.psql(`CREATE DATABASE ${name}`);
    return this.urlFor(name);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
