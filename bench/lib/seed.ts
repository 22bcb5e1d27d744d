/**
 * Seeding through the service's own API: a fixed number of requests, `concurrency` in flight,
 * each checked for its expected status. Stops early (and says so) at a deadline.
 */
import { request } from './http.js';

export interface SeedRequest {
  method: string;
  path: string;
  body: string;
  expect: readonly number[];
}

export interface SeedResult {
  label: string;
  requested: number;
  done: number;
  seconds: number;
  perSecond: number;
  stoppedEarly: boolean;
  retries: number;
}

const MAX_ATTEMPTS = 3;

export async function seed(
  label: string,
  port: number,
  headers: Record<string, string>,
  count: number,
  concurrency: number,
  make: (i: number) => SeedRequest,
  deadline: number,
): Promise<SeedResult> {
  const started = performance.now();
  let next = 0;
  let done = 0;
  let retries = 0;
  let stoppedEarly = false;
  let failure: Error | null = null;
  let lastReport = started;
  let reportedDone = 0;

  const worker = async () => {
    while (failure === null) {
      if (Date.now() > deadline) {
        stoppedEarly = true;
        return;
      }
      const i = next++;
      if (i >= count) return;
      const req = make(i);
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await request(port, req.path, { method: req.method, headers, body: req.body });
          if (req.expect.includes(res.status)) break;
          if (res.status < 500 || attempt >= MAX_ATTEMPTS) {
            throw new Error(`${req.method} ${req.path} answered ${res.status}: ${res.body.slice(0, 500)}`);
          }
        } catch (err) {
          if (attempt >= MAX_ATTEMPTS || (err as Error).message.includes(' answered ')) {
            failure ??= err as Error;
            return;
          }
        }
        retries++;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
      done++;
      const now = performance.now();
      if (now - lastReport >= 5_000) {
        const rate = ((done - reportedDone) / (now - lastReport)) * 1000;
        const eta = rate > 0 ? (count - done) / rate : Number.POSITIVE_INFINITY;
        process.stderr.write(`  seeding ${label}: ${done}/${count} (${Math.round(rate)}/s, ~${Math.round(eta)} s left)\n`);
        lastReport = now;
        reportedDone = done;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure) throw failure;
  // Workers stop taking new indexes at the deadline; those taken before it all completed.
  const seconds = (performance.now() - started) / 1000;
  return {
    label,
    requested: count,
    done,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round(done / seconds),
    stoppedEarly,
    retries,
  };
}
