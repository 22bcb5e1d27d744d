/** Child processes of the bench: started on loopback, waited for, sampled, and stopped. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { request } from './http.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  name: string;
  process: ChildProcess;
  port: number;
  pid: number;
  /** The last lines the child wrote to stderr/stdout, for error messages. */
  output: () => string;
}

export function startChild(name: string, args: string[], env: NodeJS.ProcessEnv, port: number, cwd: string): Child {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > 50) lines.shift();
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (child.pid === undefined) throw new Error(`${name} could not be started`);
  return { name, process: child, port, pid: child.pid, output: () => lines.join('\n') };
}

/** Polls `path` until it answers 200, the child exits, or `timeoutMs` passes. */
export async function waitReady(child: Child, path: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) {
      throw new Error(`${child.name} exited with code ${child.process.exitCode} before it was ready:\n${child.output()}`);
    }
    try {
      const res = await request(child.port, path, { timeoutMs: 2_000 });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name} was not ready on ${path} within ${timeoutMs} ms:\n${child.output()}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: Child, graceMs = 15_000): Promise<void> {
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** VmRSS and VmHWM (peak RSS) of a process, in MiB, from /proc/<pid>/status. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak seen. */
export function sampleRss(pid: number, everyMs = 50) {
  let peak = 0;
  let samples = 0;
  const take = () => {
    const m = memoryOf(pid);
    if (m && Number.isFinite(m.rssMiB)) {
      peak = Math.max(peak, m.rssMiB);
      samples++;
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop(): { peakRssMiB: number; samples: number } {
      clearInterval(timer);
      take();
      return { peakRssMiB: peak, samples };
    },
  };
}

const CLK_TCK = 100;

/** CPU seconds a process has used so far in user space and in the kernel, from /proc/<pid>/stat. */
export function cpuTimesOf(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(rest[11]) / CLK_TCK, system: Number(rest[12]) / CLK_TCK };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const t = cpuTimesOf(pid);
  return t.user + t.system;
}

/** Busy and total CPU seconds of the whole machine, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/**
 * CPU use over an interval, in cores (1.0 = one core busy the whole time): the service, the
 * baseline, this bench process (the load generator) and the rest of the machine (PostgreSQL).
 */
export function cpuMeter(pids: Record<string, number>) {
  const t0 = process.hrtime.bigint();
  const m0 = machineCpu();
  const p0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTimesOf(pid)]));
  const self0 = process.cpuUsage();
  return {
    stop(): Record<string, number> {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const m1 = machineCpu();
      const self = process.cpuUsage(self0);
      const out: Record<string, number> = {};
      let accounted = 0;
      for (const [k, pid] of Object.entries(pids)) {
        const t = cpuTimesOf(pid);
        const used = t.user + t.system - (p0[k].user + p0[k].system);
        out[k] = used / wall;
        // The part spent in the kernel (system calls: sockets, mostly).
        out[`${k}Kernel`] = (t.system - p0[k].system) / wall;
        accounted += used;
      }
      const bench = (self.user + self.system) / 1e6;
      out.bench = bench / wall;
      accounted += bench;
      const busy = m1.busy - m0.busy;
      out.machine = busy / wall;
      // PostgreSQL backends, and anything else running on the machine at the time.
      out.other = Math.max(0, busy - accounted) / wall;
      for (const k of Object.keys(out)) out[k] = Math.round(out[k] * 100) / 100;
      return out;
    },
  };
}

/** Machine CPU busy (in cores) over `ms`. */
export async function machineBusy(ms = 1_000): Promise<number> {
  const a = machineCpu();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineCpu();
  return (b.busy - a.busy) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * Waits (bounded) until the machine is quiet: less than `threshold` cores busy over one second,
 * with the bench's own children idle. Returns the last reading and how long it waited.
 */
export async function waitQuiet(threshold: number, maxWaitS: number): Promise<{ busyCores: number; waitedS: number }> {
  const started = Date.now();
  let busy = await machineBusy();
  while (busy >= threshold && Date.now() - started < maxWaitS * 1000) busy = await machineBusy();
  return { busyCores: Math.round(busy * 100) / 100, waitedS: Math.round((Date.now() - started) / 100) / 10 };
}
