// @ts-check
/** Small DOM helpers: elements built with properties and children, never from HTML strings. */

/**
 * An element: `h('p', { className: 'x' }, 'text', child)`. Attributes whose names contain a dash
 * (aria-*, data-*) or that are not properties are set as attributes.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [props]
 * @param {...(Node | string | number | null | undefined | false | (Node | string)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    else if (key.includes('-') || !(key in el)) el.setAttribute(key, value === true ? '' : String(value));
    else /** @type {any} */ (el)[key] = value;
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} parent
 * @param {unknown[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
/**
 * An SVG element with attributes.
 * @param {string} tag
 * @param {Record<string, string | number | undefined>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {SVGElement}
 */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(key, String(value));
  for (const child of children) if (child) el.append(child);
  return el;
}

/** @param {number} n */
export const num = (n) => n.toLocaleString('en-GB');

/**
 * A share as a percentage, one decimal; a dash when there is nothing to share.
 * @param {number} part
 * @param {number} whole
 */
export const pct = (part, whole) => (whole === 0 ? '–' : `${((100 * part) / whole).toFixed(1)} %`);

/**
 * A time as the API gives it (UTC), shortened for reading: `2025-09-28 00:00:00 UTC`.
 * @param {string | null | undefined} iso
 */
export const when = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '–');

/**
 * A table: `columns` are [heading, cell of a row, numeric?].
 * @template T
 * @param {string} caption
 * @param {[string, (row: T) => Node | string | number | null, boolean?][]} columns
 * @param {T[]} rows
 * @param {string} [empty]
 */
export function table(caption, columns, rows, empty = 'Nothing yet.') {
  if (rows.length === 0) return h('p', { className: 'status' }, `${caption}: ${empty}`);
  return h(
    'div',
    { className: 'scroll' },
    h(
      'table',
      null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, columns.map(([name, , numeric]) => h('th', { scope: 'col', className: numeric ? 'num' : '' }, name)))),
      h(
        'tbody',
        null,
        rows.map((row) => h('tr', null, columns.map(([, cell, numeric]) => h('td', { className: numeric ? 'num' : '' }, cell(row) ?? '–')))),
      ),
    ),
  );
}

/**
 * A message block: `kind` good, bad, warn or plain.
 * @param {'good' | 'bad' | 'warn' | ''} kind
 * @param {...(Node | string | null)} children
 */
export function notice(kind, ...children) {
  return h('div', { className: `notice ${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, ...children);
}
