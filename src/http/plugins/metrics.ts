import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

interface Counter {
  count: number;
  seconds: number;
}

/** Request counts and latency sums per route and status, in the Prometheus text format. */
export class Metrics {
  /** route -> method -> status: no label string is built per request. */
  private readonly requests = new Map<string, Map<string, Map<number, Counter>>>();
  private readonly started = Date.now();
  private readonly gauges: { name: string; help: string; read: () => number }[] = [];

  /** A gauge read when /metrics is: a bound's size and its use, by name. */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push({ name, help, read });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let methods = this.requests.get(route);
    if (methods === undefined) this.requests.set(route, (methods = new Map()));
    let statuses = methods.get(method);
    if (statuses === undefined) methods.set(method, (statuses = new Map()));
    const entry = statuses.get(status);
    if (entry !== undefined) {
      entry.count++;
      entry.seconds += seconds;
    } else statuses.set(status, { count: 1, seconds });
  }

  private series(): [string, Counter][] {
    const out: [string, Counter][] = [];
    for (const [route, methods] of this.requests) {
      for (const [method, statuses] of methods) {
        for (const [status, counter] of statuses) out.push([`method="${method}",route="${route}",status="${status}"`, counter]);
      }
    }
    return out;
  }

  render(): string {
    const lines = [
      '# HELP http_requests_total Requests answered, by route and status.',
      '# TYPE http_requests_total counter',
      ...this.series().map(([k, v]) => `http_requests_total{${k}} ${v.count}`),
      '# HELP http_request_duration_seconds_sum Time spent answering, by route and status.',
      '# TYPE http_request_duration_seconds_sum counter',
      ...this.series().map(([k, v]) => `http_request_duration_seconds_sum{${k}} ${v.seconds.toFixed(6)}`),
      '# HELP process_uptime_seconds Seconds since the service started.',
      '# TYPE process_uptime_seconds gauge',
      `process_uptime_seconds ${((Date.now() - this.started) / 1000).toFixed(3)}`,
      '# HELP process_resident_memory_bytes Resident set size.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
      ...this.gauges.flatMap((g) => [`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${g.read()}`]),
    ];
    return `${lines.join('\n')}\n`;
  }
}

export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: { metrics: Metrics }) => {
    app.addHook('onResponse', (request, reply, done) => {
      opts.metrics.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  },
  { name: 'metrics' },
);
