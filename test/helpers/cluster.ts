import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of a test's own, on its own port and socket directory, so that a test can
 * stop, kill and restart it without touching the server everyone else uses. Made with initdb as
 * the `postgres` user (the tests run as root), removed by `destroy`.
 */
export class PrivateCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(port: number): Promise<PrivateCluster> {
    const base = mkdtempSync(join(tmpdir(), `consent-pg-${port}-`));
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(base, uid, gid);
    chmodSync(base, 0o700);
    const cluster = new PrivateCluster(base, port);
    await cluster.asPostgres(`${BIN}/initdb`, ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await cluster.start();
    return cluster;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  urlFor(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private async asPostgres(cmd: string, args: string[]): Promise<string> {
    const { stdout } = await run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 60_000 });
    return stdout;
  }

  async start(): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, [
      '-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-w', '-t', '30',
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`,
      'start',
    ]);
  }

  /** `fast` rolls back open transactions and disconnects clients; `immediate` is a crash without the process dying. */
  async stop(mode: 'fast' | 'immediate' | 'smart' = 'fast'): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
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
