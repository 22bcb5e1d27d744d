/**
 * p. What the protection plugins cost the hot reads (scenario a's single eligibility GET and b's
 * consent GET): the service started once per variant on the same database, each plugin alone on
 * top of none of them, and all of them, run after one another in rounds. A read's cost is the
 * service's CPU time per request (steadier than req/s on a shared machine), with req/s beside it;
 * the target is at most 5 % more CPU per read for each plugin.
 *
 * Not in the default scenarios: `BENCH_SCENARIOS=p npm run bench`.
 */
import { runLoad, type LoadSpec } from '../lib/load.js';
import { cpuMeter, type Child } from '../lib/proc.js';
import { median, round } from '../lib/stats.js';

export interface ProtectionBenchContext {
  serviceEnv: NodeJS.ProcessEnv;
  tokens: { training: string; read: string };
  seededUsers: number;
  seededChats: number;
}

export interface ProtectionBenchHelpers {
  log: (line?: string) => void;
  userId: (i: number) => string;
  chatId: (i: number) => string;
  startService: (env: NodeJS.ProcessEnv) => Promise<Child>;
  stopChild: (child: Child) => Promise<void>;
  config: { connections: number; durationS: number; warmupS: number; rounds: number };
}

const NONE = { RATE_LIMIT_MAX: '0', MAX_EVENT_LOOP_DELAY_MS: '0', DATABASE_MAX_QUEUE: '0', SECURITY_HEADERS: 'off', CORS_ORIGINS: '' };
const ORIGIN = 'https://chat.example.com';
/** Each variant: the plugins on, over none of them. The rate limit is one the bench's single caller never reaches. */
const VARIANTS: [string, Record<string, string>][] = [
  ['none', NONE],
  ['rate limit', { ...NONE, RATE_LIMIT_MAX: '1000000000' }],
  ['load shedding', { ...NONE, MAX_EVENT_LOOP_DELAY_MS: '1000', DATABASE_MAX_QUEUE: '1000' }],
  ['security headers', { ...NONE, SECURITY_HEADERS: 'on' }],
  ['CORS', { ...NONE, CORS_ORIGINS: ORIGIN }],
  ['all', { RATE_LIMIT_MAX: '1000000000', MAX_EVENT_LOOP_DELAY_MS: '1000', DATABASE_MAX_QUEUE: '1000', SECURITY_HEADERS: 'on', CORS_ORIGINS: ORIGIN }],
];
const MAX_COST = 0.05;

interface Run {
  variant: string;
  reqPerS: number;
  cpuUs: number;
}

export function protectionScenarios(h: ProtectionBenchHelpers) {
  const { log, config } = h;

  async function measure(service: Child, spec: LoadSpec): Promise<{ reqPerS: number; cpuUs: number; failed: number }> {
    const meter = cpuMeter({ service: service.pid });
    const r = await runLoad(spec);
    const cpu = meter.stop();
    return { reqPerS: r.reqPerS, cpuUs: r.requests > 0 ? round((cpu.service * r.durationS * 1e6) / r.requests, 1) : 0, failed: r.non2xx + r.errors };
  }

  return {
    async p(ctx: ProtectionBenchContext) {
      log('p. protection plugins: CPU per read of each plugin alone and all together, over none of them');
      const reads: [string, (port: number) => LoadSpec][] = [
        [
          'eligibility GET',
          (port) => {
            let i = 0;
            return {
              title: 'eligibility',
              port,
              connections: config.connections,
              durationS: config.durationS,
              warmupS: config.warmupS,
              headers: { authorization: `Bearer ${ctx.tokens.training}`, origin: ORIGIN },
              next: (req) => ({ ...req, path: `/v1/chats/${h.chatId((i++ * 7919) % ctx.seededChats)}/training-eligibility` }),
            };
          },
        ],
        [
          'consent GET',
          (port) => {
            let i = 0;
            return {
              title: 'consent',
              port,
              connections: config.connections,
              durationS: config.durationS,
              warmupS: config.warmupS,
              headers: { authorization: `Bearer ${ctx.tokens.read}`, origin: ORIGIN },
              next: (req) => ({ ...req, path: `/v1/users/${h.userId((i++ * 7919) % ctx.seededUsers)}/training-consent` }),
            };
          },
        ],
      ];
      const runs = new Map<string, Run[]>(reads.map(([name]) => [name, []]));
      const rounds = Math.max(2, Math.min(config.rounds, 3));
      for (let round_ = 0; round_ < rounds; round_++) {
        // Each round visits the variants in another order, so no variant always runs in the same spell of the machine.
        const order = round_ % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
        for (const [variant, env] of order) {
          const service = await h.startService({ ...ctx.serviceEnv, ...env });
          try {
            for (const [name, spec] of reads) {
              const r = await measure(service, spec(service.port));
              if (r.failed > 0) log(`  !! ${variant}, ${name}: ${r.failed} requests failed`);
              runs.get(name)!.push({ variant, reqPerS: r.reqPerS, cpuUs: r.cpuUs });
              log(`  round ${round_ + 1} ${variant.padEnd(16)} ${name.padEnd(16)} ${String(r.reqPerS).padStart(6)} req/s  ${r.cpuUs} µs CPU/request`);
            }
          } finally {
            await h.stopChild(service);
          }
        }
      }
      const rows = [];
      const detail: Record<string, unknown> = {};
      for (const [name, all] of runs) {
        const cpuOf = (variant: string) => median(all.filter((r) => r.variant === variant).map((r) => r.cpuUs));
        const rateOf = (variant: string) => median(all.filter((r) => r.variant === variant).map((r) => r.reqPerS));
        const base = cpuOf('none');
        detail[name] = Object.fromEntries(VARIANTS.map(([v]) => [v, { cpuUs: cpuOf(v), reqPerS: rateOf(v) }]));
        for (const [variant] of VARIANTS.slice(1)) {
          const cost = cpuOf(variant) / base - 1;
          rows.push({
            scenario: `p-${name}-${variant}`,
            label: `p. ${name}, ${variant}`,
            target: variant === 'all' ? 'reported' : `<= +${MAX_COST * 100}% CPU/request`,
            measured: `${cost >= 0 ? '+' : ''}${round(cost * 100, 1)}% CPU/request (${cpuOf(variant)} vs ${base} µs; ${rateOf(variant)} vs ${rateOf('none')} req/s)`,
            pass: variant === 'all' || cost <= MAX_COST,
          });
        }
      }
      return { detail, rows };
    },
  };
}
