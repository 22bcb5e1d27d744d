// @ts-check
/**
 * Plots drawn as SVG by hand: a plot is an image with a title and a description, and the figures
 * it draws are also given as a table beside it. Colours reach 3:1 against white.
 */
import { h, num, s } from './dom.js';

export const SURFACE_COLOURS = /** @type {Record<string, string>} */ ({
  web: '#0b5cad',
  ios: '#b35900',
  android: '#136c2e',
  desktop: '#6a3d9a',
  cli: '#a4161a',
  api: '#4d5560',
  other: '#7a6300',
});
const DAY = 86_400_000;

/**
 * @param {string} id
 * @param {string} title
 * @param {string} description
 * @param {number} width
 * @param {number} height
 */
function frame(id, title, description, width, height) {
  return s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, width, height, class: 'plot', role: 'img', 'aria-labelledby': `${id}-title ${id}-desc` },
    s('title', { id: `${id}-title` }, title),
    s('desc', { id: `${id}-desc` }, description),
  );
}

/** @param {[string, string][]} entries label, colour */
export function legend(entries) {
  return h(
    'ul',
    { className: 'legend' },
    entries.map(([label, colour]) => {
      const swatch = h('span', { className: 'swatch', 'aria-hidden': 'true' });
      swatch.style.background = colour;
      return h('li', null, swatch, label);
    }),
  );
}

/** @param {number} max */
function niceMax(max) {
  if (max <= 5) return 5;
  const step = 10 ** Math.floor(Math.log10(max));
  return Math.ceil(max / step) * step;
}

/**
 * Choices per UTC day: grants stacked above the axis, denials below, by surface; decision
 * deadlines as dashed lines.
 * @param {{ day: string, surface: string, choice: string, count: number }[]} rows
 * @param {{ version: string, decisionDeadline: string }[]} policies
 */
export function dailyChoicesPlot(rows, policies) {
  const days = rows.map((r) => Date.parse(`${r.day}T00:00:00.000Z`));
  const first = Math.min(...days);
  const last = Math.max(...days);
  const span = Math.round((last - first) / DAY) + 1;
  const width = 860;
  const height = 300;
  const left = 56;
  const right = 10;
  const top = 16;
  const bottom = 34;
  const plotW = width - left - right;
  const mid = top + (height - top - bottom) / 2;
  const half = (height - top - bottom) / 2;
  const slot = plotW / span;
  /** @type {Map<number, { granted: Map<string, number>, denied: Map<string, number> }>} */
  const byDay = new Map();
  for (const r of rows) {
    const i = Math.round((Date.parse(`${r.day}T00:00:00.000Z`) - first) / DAY);
    const entry = byDay.get(i) ?? { granted: new Map(), denied: new Map() };
    const side = r.choice === 'granted' ? entry.granted : entry.denied;
    side.set(r.surface, (side.get(r.surface) ?? 0) + r.count);
    byDay.set(i, entry);
  }
  let peak = 0;
  for (const e of byDay.values()) {
    peak = Math.max(peak, [...e.granted.values()].reduce((a, b) => a + b, 0), [...e.denied.values()].reduce((a, b) => a + b, 0));
  }
  const max = niceMax(peak);
  const granted = rows.filter((r) => r.choice === 'granted').reduce((a, r) => a + r.count, 0);
  const denied = rows.filter((r) => r.choice === 'denied').reduce((a, r) => a + r.count, 0);
  const svg = frame(
    'daily',
    'Consent choices per day, by surface',
    `${num(granted)} grants (above the axis) and ${num(denied)} denials (below it) over ${span} days from ${new Date(first).toISOString().slice(0, 10)}, ` +
      `at most ${num(peak)} of either on one day. The table below gives every figure.`,
    width,
    height,
  );
  const axis = s('g', { 'aria-hidden': 'true' });
  for (const v of [max, max / 2, 0, -max / 2, -max]) {
    const y = mid - (v / max) * half;
    axis.append(s('line', { x1: left, x2: width - right, y1: y, y2: y, stroke: v === 0 ? '#1b1f24' : '#c9ced6', 'stroke-width': v === 0 ? 1.2 : 1 }));
    axis.append(s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, num(Math.abs(v))));
  }
  axis.append(s('text', { x: 2, y: top + half / 4 + 4 }, '↑ granted'));
  axis.append(s('text', { x: 2, y: height - bottom - half / 4 + 4 }, '↓ denied'));
  const labelEvery = Math.max(1, Math.ceil(span / 10));
  for (let i = 0; i < span; i += labelEvery) {
    const x = left + i * slot + slot / 2;
    axis.append(s('text', { x, y: height - 14, 'text-anchor': 'middle' }, new Date(first + i * DAY).toISOString().slice(5, 10)));
  }
  svg.append(axis);
  const bars = s('g', { 'aria-hidden': 'true' });
  const surfaces = Object.keys(SURFACE_COLOURS);
  for (const [i, e] of byDay) {
    const x = left + i * slot + Math.max(0.5, slot * 0.1);
    const w = Math.max(1, slot * 0.8);
    let up = mid;
    let down = mid;
    for (const surface of surfaces) {
      const g = e.granted.get(surface) ?? 0;
      const d = e.denied.get(surface) ?? 0;
      if (g > 0) {
        const hgt = (g / max) * half;
        up -= hgt;
        bars.append(s('rect', { x, y: up, width: w, height: hgt, fill: SURFACE_COLOURS[surface] }));
      }
      if (d > 0) {
        const hgt = (d / max) * half;
        bars.append(s('rect', { x, y: down, width: w, height: hgt, fill: SURFACE_COLOURS[surface] }));
        down += hgt;
      }
    }
  }
  svg.append(bars);
  for (const p of policies) {
    const t = Date.parse(p.decisionDeadline);
    if (t < first || t > last + DAY) continue;
    const x = left + ((t - first) / DAY) * slot;
    svg.append(
      s(
        'g',
        { 'aria-hidden': 'true' },
        s('line', { x1: x, x2: x, y1: top - 4, y2: height - bottom, stroke: '#a4161a', 'stroke-dasharray': '5 3', 'stroke-width': 1.5 }),
        s('text', { x: x + 4, y: top + 2, fill: '#a4161a' }, `deadline ${p.version}`),
      ),
    );
  }
  const used = surfaces.filter((sf) => rows.some((r) => r.surface === sf));
  return h('figure', null, svg, legend(used.map((sf) => [sf, SURFACE_COLOURS[sf]])));
}

/**
 * One bar split into shares, with a legend giving each share.
 * @param {string} id
 * @param {string} title
 * @param {{ label: string, count: number, colour: string }[]} parts
 */
export function shareBar(id, title, parts) {
  const total = parts.reduce((a, p) => a + p.count, 0);
  const width = 860;
  const height = 34;
  const described = parts.map((p) => `${p.label}: ${num(p.count)} (${total ? ((100 * p.count) / total).toFixed(1) : 0} %)`).join('; ');
  const svg = frame(id, title, total === 0 ? 'Nothing to show.' : described, width, height);
  let x = 0;
  for (const p of parts) {
    if (p.count === 0 || total === 0) continue;
    const w = (p.count / total) * width;
    svg.append(s('rect', { x, y: 4, width: w, height: height - 8, fill: p.colour, 'aria-hidden': 'true' }));
    x += w;
  }
  return h('figure', null, svg, legend(parts.map((p) => [`${p.label} ${total ? ((100 * p.count) / total).toFixed(1) : 0} %`, p.colour])));
}

/**
 * A small horizontal bar for a rate in a table cell: decoration, the cell beside it says the figure.
 * @param {number} rate 0..1
 */
export function rateBar(rate) {
  const svg = s('svg', { viewBox: '0 0 120 12', width: 120, height: 12, 'aria-hidden': 'true', class: 'plot' });
  svg.append(s('rect', { x: 0, y: 0, width: 120, height: 12, fill: '#f3f5f8', stroke: '#c9ced6' }));
  svg.append(s('rect', { x: 0, y: 0, width: Math.max(0, Math.min(1, rate)) * 120, height: 12, fill: '#0b5cad' }));
  return svg;
}

/**
 * Policies on a time line: each version from its effectiveAt to the next one's, its deadline
 * marked, and now.
 * @param {{ version: string, effectiveAt: string, decisionDeadline: string }[]} policies
 * @param {number} now
 */
export function policyTimeline(policies, now) {
  const times = policies.flatMap((p) => [Date.parse(p.effectiveAt), Date.parse(p.decisionDeadline)]).concat(now);
  const first = Math.min(...times) - 7 * DAY;
  const last = Math.max(...times) + 30 * DAY;
  const width = 860;
  const row = 30;
  const top = 24;
  const height = top + policies.length * row + 30;
  const x = (/** @type {number} */ t) => 140 + ((t - first) / (last - first)) * (width - 150);
  const svg = frame(
    'policy-timeline',
    'Policy versions over time',
    policies.map((p) => `${p.version}: in effect from ${p.effectiveAt.slice(0, 10)}, deadline ${p.decisionDeadline.slice(0, 10)}`).join('; ') +
      `. Now is ${new Date(now).toISOString().slice(0, 10)}.`,
    width,
    height,
  );
  const g = s('g', { 'aria-hidden': 'true' });
  policies.forEach((p, i) => {
    const from = Date.parse(p.effectiveAt);
    const next = policies[i + 1] ? Date.parse(policies[i + 1].effectiveAt) : last;
    const y = top + i * row;
    g.append(s('text', { x: 4, y: y + 15 }, p.version));
    g.append(s('rect', { x: x(from), y: y + 3, width: Math.max(2, x(next) - x(from)), height: 16, fill: from > now ? '#5b8cc2' : '#0b5cad' }));
    const d = x(Date.parse(p.decisionDeadline));
    g.append(s('line', { x1: d, x2: d, y1: y, y2: y + 22, stroke: '#a4161a', 'stroke-width': 2.5 }));
  });
  const n = x(now);
  g.append(s('line', { x1: n, x2: n, y1: 8, y2: height - 24, stroke: '#1b1f24', 'stroke-dasharray': '4 3' }));
  g.append(s('text', { x: n + 3, y: 16 }, 'now'));
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const t = first + ((last - first) * i) / ticks;
    g.append(s('text', { x: x(t), y: height - 8, 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle' }, new Date(t).toISOString().slice(0, 10)));
  }
  svg.append(g);
  return h(
    'figure',
    null,
    svg,
    legend([
      ['in effect (or was)', '#0b5cad'],
      ['scheduled', '#5b8cc2'],
      ['decision deadline', '#a4161a'],
    ]),
  );
}
