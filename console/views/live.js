// @ts-check
/**
 * The live log: the audit log's change feed as it happens (GraphQL subscription `auditEvents`,
 * from now on), filterable by event type, pausable, and bounded: the newest MAX_KEPT events are
 * kept, older ones are dropped and counted.
 */
import { h, num, when } from '../lib/dom.js';
import { subscribe } from '../lib/live.js';
import { currentToken } from '../lib/session.js';

export const MAX_KEPT = 500;
const KNOWN_TYPES = ['consent.choice_recorded', 'terms.accepted', 'user.plan_changed', 'chat.registered', 'chat.deleted', 'chat.flagged', 'policy.created'];
const QUERY = 'subscription { auditEvents { revision type userId chatId data occurredAt actor { sub kind } } }';

/** @param {HTMLElement} main */
export function renderLive(main) {
  /** @type {any[]} */
  let kept = [];
  let received = 0;
  let dropped = 0;
  let paused = false;
  const shownTypes = new Set(KNOWN_TYPES);
  const status = h('p', { id: 'live-status', className: 'status', role: 'status' }, 'Connecting…');
  const counts = h('p', { id: 'live-counts', className: 'status', 'aria-live': 'off' });
  const rows = h('tbody', { id: 'live-rows' });
  const checks = h('div', { className: 'checks' });
  const pause = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', 'aria-pressed': 'false', id: 'live-pause' }, 'Pause'));
  const clear = h('button', { type: 'button', className: 'secondary' }, 'Clear');

  /** @param {string} type */
  const addTypeCheck = (type) => {
    const id = `type-${type.replace(/[^a-z0-9]/gi, '-')}`;
    const box = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id, checked: shownTypes.has(type), value: type }));
    box.addEventListener('change', () => {
      if (box.checked) shownTypes.add(type);
      else shownTypes.delete(type);
      draw();
    });
    checks.append(h('span', null, box, ' ', h('label', { htmlFor: id }, type)));
  };
  KNOWN_TYPES.forEach(addTypeCheck);

  const draw = () => {
    const visible = kept.filter((e) => shownTypes.has(e.type));
    rows.replaceChildren(
      ...visible.map((e) =>
        h(
          'tr',
          { 'data-revision': e.revision, 'data-type': e.type },
          h('td', { className: 'num' }, e.revision),
          h('td', null, when(e.occurredAt)),
          h('td', null, e.type),
          h('td', null, e.userId ? h('a', { href: `#/users/${encodeURIComponent(e.userId)}` }, e.userId) : '–'),
          h('td', null, e.chatId ?? '–'),
          h('td', null, `${e.actor.sub} (${e.actor.kind})`),
          h('td', { className: 'data' }, h('code', null, JSON.stringify(e.data))),
        ),
      ),
    );
    counts.textContent =
      `${num(received)} events received since the page opened; showing ${num(visible.length)} of the ${num(kept.length)} kept (at most ${num(MAX_KEPT)}, newest first)` +
      (dropped ? `; ${num(dropped)} older ones dropped` : '') +
      (paused ? '. Paused: new events are kept but not shown.' : '.');
  };

  // At most one redraw per frame, however fast events arrive.
  let drawing = false;
  const scheduleDraw = () => {
    if (drawing) return;
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      draw();
    });
  };

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    draw();
  });
  clear.addEventListener('click', () => {
    dropped += kept.length;
    kept = [];
    draw();
  });

  main.append(
    h('h1', null, 'Live log'),
    h('p', { className: 'lead' }, 'Every change to the audit log as it is written, through any instance of the service, in revision order.'),
    h('fieldset', null, h('legend', null, 'Show event types'), checks),
    h('div', { className: 'inline' }, pause, clear),
    status,
    counts,
    h(
      'div',
      { className: 'scroll' },
      h(
        'table',
        { className: 'log' },
        h('caption', null, 'Audit events, newest first'),
        h('thead', null, h('tr', null, ['Revision', 'Recorded', 'Type', 'User', 'Chat', 'Actor', 'Data'].map((c) => h('th', { scope: 'col' }, c)))),
        rows,
      ),
    ),
  );
  draw();

  const token = currentToken();
  if (token === null) return;
  const stop = subscribe(token, QUERY, {}, {
    open: () => {
      status.textContent = 'Live: waiting for events.';
      status.dataset.state = 'live';
    },
    next: (data) => {
      const e = data.auditEvents;
      received++;
      kept.unshift(e);
      if (kept.length > MAX_KEPT) {
        kept.length = MAX_KEPT;
        dropped++;
      }
      if (!KNOWN_TYPES.includes(e.type) && !checks.querySelector(`input[value="${CSS.escape(e.type)}"]`)) {
        shownTypes.add(e.type);
        addTypeCheck(e.type);
      }
      if (!paused) scheduleDraw();
      else counts.textContent = `${num(received)} events received; paused: ${num(kept.length)} kept, not shown until you resume.`;
    },
    error: (message, code) => {
      status.textContent = code === 'FORBIDDEN' ? `Your token may not follow the change feed (it needs audit:read or training:read): ${message}` : `The subscription ended: ${message} (${code}).`;
      status.dataset.state = 'error';
    },
    closed: (code, reason) => {
      status.textContent =
        code === 4401 ? 'The service refused the token for the live log (expired or invalid): sign out and in again.' : code === 4403 ? 'Your token may not follow the change feed (it needs audit:read or training:read).' : `Disconnected (${code}${reason ? `: ${reason}` : ''}). Reload the view to reconnect.`;
      status.dataset.state = 'closed';
    },
  });
  return stop;
}
