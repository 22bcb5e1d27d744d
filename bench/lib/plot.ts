/** A hand-made SVG of a soak run: the service's RSS over time, and each operation's latency percentiles. */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function rssPlot(
  title: string,
  rss: { t: number; mib: number }[],
  rows: { operation: string; p50: number; p99: number; requests: number; errors: number }[],
): string {
  const W = 900;
  const H = 300;
  const pad = { l: 60, r: 20, t: 40, b: 40 };
  const tMax = Math.max(1, ...rss.map((s) => s.t));
  const mMax = Math.max(1, ...rss.map((s) => s.mib)) * 1.1;
  const x = (t: number) => pad.l + (t / tMax) * (W - pad.l - pad.r);
  const y = (m: number) => H - pad.b - (m / mMax) * (H - pad.t - pad.b);
  const path = rss.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.t).toFixed(1)},${y(s.mib).toFixed(1)}`).join(' ');
  const yTicks = Array.from({ length: 5 }, (_, i) => (mMax / 4) * i);
  const xTicks = Array.from({ length: 7 }, (_, i) => (tMax / 6) * i);

  // The latency panel: one row per operation, bars for p50 and p99 on a log scale.
  const rowH = 22;
  const top = H + 30;
  const lMax = Math.max(1, ...rows.map((r) => r.p99));
  const lx = (ms: number) => 260 + (Math.log10(1 + ms) / Math.log10(1 + lMax)) * (W - 260 - 120);
  const bars = rows
    .map((r, i) => {
      const yy = top + 20 + i * rowH;
      return [
        `<text x="10" y="${yy + 13}" font-size="12">${esc(r.operation)} (${r.requests}${r.errors ? `, ${r.errors} errors` : ''})</text>`,
        `<rect x="260" y="${yy + 2}" width="${(lx(r.p99) - 260).toFixed(1)}" height="14" fill="#c9d8ec"/>`,
        `<rect x="260" y="${yy + 2}" width="${(lx(r.p50) - 260).toFixed(1)}" height="14" fill="#2f5d9a"/>`,
        `<text x="${(lx(r.p99) + 6).toFixed(1)}" y="${yy + 13}" font-size="11">p50 ${r.p50} ms, p99 ${r.p99} ms</text>`,
      ].join('');
    })
    .join('\n');
  const totalH = top + 30 + rows.length * rowH + 10;

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${totalH}" viewBox="0 0 ${W} ${totalH}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad.l}" y="24" font-size="15" font-weight="bold">${esc(title)}: service RSS (MiB) over time (s)</text>
${yTicks.map((m) => `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(m)}" y2="${y(m)}" stroke="#ddd"/><text x="${pad.l - 8}" y="${y(m) + 4}" font-size="11" text-anchor="end">${Math.round(m)}</text>`).join('\n')}
${xTicks.map((t) => `<text x="${x(t)}" y="${H - pad.b + 16}" font-size="11" text-anchor="middle">${Math.round(t)}</text>`).join('\n')}
<path d="${path}" fill="none" stroke="#2f5d9a" stroke-width="2"/>
<text x="10" y="${top}" font-size="14" font-weight="bold">Latency per operation (log scale): p50 dark, p99 light</text>
${bars}
</svg>
`;
}
