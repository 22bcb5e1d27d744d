/**
 * Summarises a V8 .cpuprofile (from BENCH_CPU_PROF=1 npm run bench, which leaves one per scenario
 * in bench/results/prof/<scenario>/): where the service's CPU went, by package or source file and
 * by function, self time.
 *
 *   node --import tsx bench/profile-summary.ts bench/results/prof/a/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, 'with-startup': { type: 'boolean', default: false } } });
if (positionals.length === 0) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [...] [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
const root = resolve(process.cwd());

/** Where a frame's code lives: a package, a file of this project, node itself, or V8. */
function category(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native/V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return `pkg ${parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (path.startsWith('node:')) return `node ${path.slice(5).split('/')[0]}`;
  if (path.startsWith(root)) return relative(root, path);
  return path;
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Startup (tsx compiling the sources, plugins loading) is left out: samples count from the
  // first one taken inside a route handler or a service, unless --with-startup.
  const servesRequests = (id: number) => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      if (url.includes('/src/services/') || url.includes('/src/http/routes/')) return true;
    }
    return false;
  };
  let first = 0;
  if (!values['with-startup']) {
    first = profile.samples.findIndex(servesRequests);
    if (first < 0) first = 0;
  }
  const skippedUs = profile.timeDeltas.slice(0, first).reduce((a, b) => a + b, 0);
  const self = new Map<number, number>();
  let total = 0;
  for (let i = first; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const cat = category(url, functionName);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
    const key = `${functionName || '(anonymous)'}  ${cat}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  // Inclusive: time with code of the category anywhere on the stack (counted once per sample).
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.functionName === '(root)') continue;
      seen.add(category(f.url, f.functionName));
    }
    for (const c of seen) inclusive.set(c, (inclusive.get(c) ?? 0) + us);
  }
  const idle = byCategory.get('(idle)') ?? 0;
  const busy = total - idle;
  const show = (title: string, m: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    const rows = [...m.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [k, us] of rows) {
      process.stdout.write(`  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
    }
  };
  process.stdout.write(
    `${file}\n  ${(skippedUs / 1e6).toFixed(1)} s of startup left out; ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s on CPU (${((busy / total) * 100).toFixed(0)}%), ` +
      `${(idle / 1e6).toFixed(1)} s idle (waiting on PostgreSQL or the network); shares below are of the CPU time\n`,
  );
  show('self time by package / file', byCategory);
  show('self time by function', byFunction);
  show('inclusive time by package / file (on the stack)', inclusive);
}
