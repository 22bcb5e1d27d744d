import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The service as its own process, started as `npm start` starts it (`src/server.ts` under tsx):
 * what a test needs to kill it, stop it with a signal, or watch it die.
 */
export class ServiceProcess {
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the process has exited and its output has all been read. */
  private closed: Promise<void>;
  readonly output: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 2_000) this.output.splice(0, 1_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  /**
   * Starts the service and waits until /healthz answers. On a port of its own choosing, it tries
   * another port if the one it chose was taken before the service bound it (another test file's
   * server may have chosen the same one at the same moment).
   */
  static async start(env: Record<string, string>, port?: number): Promise<ServiceProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ServiceProcess.startOn(env, port ?? (await freePort()));
      } catch (err) {
        if (port !== undefined || attempt >= 3 || !(err instanceof PortTaken)) throw err;
      }
    }
  }

  private static async startOn(env: Record<string, string>, listen: number): Promise<ServiceProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'server.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env, PORT: String(listen), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const svc = new ServiceProcess(child, listen);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) {
        await svc.closed;
        const output = svc.output.join('');
        if (/could not listen on .*EADDRINUSE/.test(output)) throw new PortTaken(output);
        throw new Error(`the service exited while starting:\n${output}`);
      }
      try {
        const res = await fetch(`${svc.url}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return svc;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the service did not start within 60 s:\n${svc.output.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with how the process ended. */
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}

class PortTaken extends Error {
  constructor(output: string) {
    super(`the service could not listen: its port was taken:\n${output}`);
  }
}
