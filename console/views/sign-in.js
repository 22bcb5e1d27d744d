// @ts-check
/** Sign-in: a pasted bearer token, checked against the API, kept in this tab's memory only. */
import { api, ApiError } from '../lib/api.js';
import { append, h, notice } from '../lib/dom.js';
import { signIn } from '../lib/session.js';

const READ_SCOPES = 'audit:read consent:read training:read';

/**
 * @param {HTMLElement} main
 * @param {string} reason why the tab is signed out, if it was
 * @param {() => void} done
 */
export function renderSignIn(main, reason, done) {
  const development = document.body.dataset.developmentKeys === 'true';
  const error = h('p', { id: 'token-error', className: 'form-error', role: 'alert' });
  const input = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      id: 'token',
      name: 'token',
      rows: 5,
      required: true,
      autocomplete: 'off',
      spellcheck: false,
      'aria-describedby': 'token-hint token-error',
    })
  );
  const button = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit' }, 'Sign in'));
  const form = h(
    'form',
    {
      onsubmit: async (/** @type {SubmitEvent} */ event) => {
        event.preventDefault();
        const token = input.value.trim().replace(/^Bearer\s+/i, '');
        error.textContent = '';
        if (!token) {
          error.textContent = 'Paste a token first.';
          input.focus();
          return;
        }
        button.disabled = true;
        try {
          // Any valid token may read the policies: a cheap check that the service accepts it.
          await api('/v1/policies', { token });
          signIn(token);
          done();
        } catch (err) {
          error.textContent =
            err instanceof ApiError && err.status === 401 ? `The service did not accept this token: ${err.message}.` : `Could not sign in: ${String(err instanceof Error ? err.message : err)}`;
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    h('div', { className: 'field' }, h('label', { htmlFor: 'token' }, 'Bearer token'), h('span', { id: 'token-hint', className: 'hint' }, 'A JWT for this service. It stays in this tab’s memory and is forgotten when the tab closes or reloads.'), input),
    error,
    button,
  );
  append(main, [
    h('h1', null, 'Sign in'),
    h('p', { className: 'lead' }, 'The console shows what your token may read through the service’s public API, and nothing more. The overview and live log need audit:read; a user’s page also consent:read and training:read; scheduling a policy needs admin.'),
    reason ? notice('', h('p', null, reason)) : null,
    development
      ? notice(
          'warn',
          h('p', null, h('strong', null, 'Development keys are in use. '), 'Make a token on the machine running the service, and paste it here:'),
          h('code', { className: 'command' }, `npm run -s token -- --sub console --scope '${READ_SCOPES}'`),
          h('p', null, 'To schedule policies as well:'),
          h('code', { className: 'command' }, `npm run -s token -- --sub console --scope admin`),
        )
      : null,
    form,
  ]);
  input.focus();
}
