// @ts-check
/**
 * The console: a hash router over four views, shown only while a token is signed in. Each view
 * renders into <main> and may return a function that stops what it started (a live socket).
 */
import { signedOut } from './lib/api.js';
import { h } from './lib/dom.js';
import { claims, currentToken, signOut } from './lib/session.js';
import { renderSignIn } from './views/sign-in.js';

/** @typedef {(main: HTMLElement, params: string[]) => Promise<(() => void) | void> | (() => void) | void} View */

/** @type {[RegExp, string, () => Promise<{ render: View }>][]} */
const ROUTES = [
  [/^#\/overview$/, 'Overview', () => import('./views/overview.js').then((m) => ({ render: m.renderOverview }))],
  [/^#\/users\/(.+)$/, 'User', () => import('./views/user.js').then((m) => ({ render: m.renderUser }))],
  [/^#\/live$/, 'Live log', () => import('./views/live.js').then((m) => ({ render: m.renderLive }))],
  [/^#\/policies$/, 'Policies', () => import('./views/policies.js').then((m) => ({ render: m.renderPolicies }))],
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const find = /** @type {HTMLFormElement} */ (document.getElementById('find-user'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));
/** @type {(() => void) | null} */
let stop = null;
let rendering = 0;
/** Why the tab was signed out, shown on the sign-in page. */
let signOutReason = '';

function chrome() {
  const signedIn = currentToken() !== null;
  nav.hidden = !signedIn;
  find.hidden = !signedIn;
  who.hidden = !signedIn;
  const c = claims();
  /** @type {HTMLElement} */ (document.getElementById('who-text')).textContent = c
    ? `Signed in as ${c.sub} (${c.scopes.join(' ') || 'no scopes'})`
    : '';
  for (const a of nav.querySelectorAll('a')) {
    if (location.hash.startsWith(a.getAttribute('href') ?? '')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route() {
  const mine = ++rendering;
  stop?.();
  stop = null;
  chrome();
  main.replaceChildren();
  if (currentToken() === null) {
    document.title = 'Sign in · Training consent console';
    renderSignIn(main, signOutReason, () => {
      signOutReason = '';
      if (!ROUTES.some(([re]) => re.test(location.hash))) location.hash = '#/overview';
      else void route();
    });
    main.focus();
    return;
  }
  const found = ROUTES.find(([re]) => re.test(location.hash));
  if (!found) {
    location.replace('#/overview');
    return;
  }
  const [re, title, load] = found;
  const params = /** @type {RegExpExecArray} */ (re.exec(location.hash)).slice(1).map(decodeURIComponent);
  document.title = `${title}${params[0] ? ` ${params[0]}` : ''} · Training consent console`;
  const { render } = await load();
  if (mine !== rendering) return;
  main.focus();
  const stopper = await render(main, params);
  if (mine !== rendering) stopper?.();
  else stop = stopper ?? null;
}

find.addEventListener('submit', (event) => {
  event.preventDefault();
  const id = /** @type {HTMLInputElement} */ (find.elements.namedItem('userId')).value.trim();
  if (id) location.hash = `#/users/${encodeURIComponent(id)}`;
});
/** @type {HTMLElement} */ (document.getElementById('sign-out')).addEventListener('click', () => {
  signOut();
  signOutReason = 'Signed out. The token is forgotten.';
  void route();
});
signedOut.addEventListener('signed-out', (event) => {
  signOutReason = `The service refused the token (${/** @type {CustomEvent} */ (event).detail}). Sign in again.`;
  void route();
});
window.addEventListener('hashchange', () => void route());
main.replaceChildren(h('p', null, 'Loading…'));
void route();
