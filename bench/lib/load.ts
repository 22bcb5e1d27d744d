/**
 * autocannon runs: closed-loop load from `connections` keep-alive connections on loopback, for a
 * fixed duration (after a discarded warm-up run), with request paths/bodies rotated per request.
 * Latencies are collected from autocannon's `response` events at sub-millisecond resolution
 * (autocannon's own histogram has 1 ms buckets, too coarse to compare p99s of a few ms).
 */
import autocannon, { type RawRequest, type Result } from 'autocannon';
import { percentile, round, Samples } from './stats.js';

export interface LoadSpec {
  title: string;
  port: number;
  connections: number;
  durationS: number;
  warmupS: number;
  method?: string;
  headers?: Record<string, string>;
  /** Called once per request to fill in its path (and body). */
  next: (request: RawRequest) => RawRequest;
}

export interface LoadResult {
  title: string;
  connections: number;
  durationS: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  reqPerS: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  statusCodes: Record<string, number>;
}

async function once(spec: LoadSpec, durationS: number, samples: Samples | null): Promise<Result> {
  const instance = autocannon({
    url: `http://127.0.0.1:${spec.port}`,
    connections: spec.connections,
    duration: durationS,
    timeout: 30,
    method: spec.method ?? 'GET',
    headers: spec.headers ?? {},
    title: spec.title,
    requests: [{ setupRequest: (req) => spec.next(req) }],
  });
  if (samples) {
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) samples.push(ms);
    });
  }
  return instance;
}

/** Load that is not measured: for warming a server up. */
export async function warmUp(spec: LoadSpec, seconds: number): Promise<void> {
  if (seconds > 0) await once(spec, seconds, null);
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupS > 0) await once(spec, spec.warmupS, null);
  const samples = new Samples();
  const r = await once(spec, spec.durationS, samples);
  const lat = samples.values();
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, Number(v.count)]));
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    title: spec.title,
    connections: spec.connections,
    durationS: round(r.duration, 2),
    requests: total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    reqPerS: round(r['2xx'] / r.duration, 0),
    p50Ms: round(percentile(lat, 50), 2),
    p90Ms: round(percentile(lat, 90), 2),
    p99Ms: round(percentile(lat, 99), 2),
    maxMs: round(percentile(lat, 100), 2),
    statusCodes,
  };
}
