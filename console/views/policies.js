// @ts-check
/**
 * Policies: every terms version on a time line and in a table (effective dates, deadlines,
 * defaults, retention), and a form to schedule a future version (admin). The API validates the
 * form: its answer's field errors are shown beside the fields they name.
 */
import { api, ApiError, explain } from '../lib/api.js';
import { h, notice, num, table, when } from '../lib/dom.js';
import { policyTimeline } from '../lib/plots.js';

/** @param {HTMLElement} main */
export async function renderPolicies(main) {
  const list = h('section', { 'aria-labelledby': 'versions-h' }, h('h2', { id: 'versions-h' }, 'Versions'));
  const create = h('section', { 'aria-labelledby': 'create-h' }, h('h2', { id: 'create-h' }, 'Schedule a new version'));
  main.append(h('h1', null, 'Policies'), h('p', { className: 'lead' }, 'Terms versions are only ever added, for the future: history is never rewritten.'), list, create);
  const reload = async () => {
    list.replaceChildren(h('h2', { id: 'versions-h' }, 'Versions'));
    try {
      const { items } = await api('/v1/policies');
      const now = Date.now();
      const inEffect = items.filter((/** @type {any} */ p) => Date.parse(p.effectiveAt) <= now).at(-1);
      list.append(
        policyTimeline(items, now),
        table(
          'Policy versions, by the time they take effect',
          [
            ['Version', (p) => h('span', { className: 'mono' }, p.version)],
            ['Status', (p) => (p === inEffect ? h('strong', null, 'in effect') : Date.parse(p.effectiveAt) > now ? 'scheduled' : 'superseded')],
            ['Takes effect', (p) => when(p.effectiveAt)],
            ['Decision deadline', (p) => when(p.decisionDeadline)],
            ['Default', (p) => p.defaultChoice],
            ['Reconsent', (p) => (p.requiresReconsent ? 'required' : 'no')],
            ['Retention granted', (p) => `${num(p.retention.grantedDays)} d`, true],
            ['denied', (p) => `${num(p.retention.deniedDays)} d`, true],
            ['violation', (p) => `${num(p.retention.violationDays)} d`, true],
            ['Revision', (p) => p.revision, true],
          ],
          items,
        ),
      );
    } catch (err) {
      list.append(explain(err, 'the policies'));
    }
  };
  await reload();
  create.append(policyForm(reload));
}

/**
 * A form field with its label, hint and the place its error goes.
 * @param {string} name the body field it stands for (errors name `body.<name>`)
 * @param {string} label
 * @param {HTMLElement} input
 * @param {string} [hint]
 */
function field(name, label, input, hint) {
  const id = `policy-${name.replace(/\./g, '-')}`;
  input.id = id;
  input.setAttribute('name', name);
  const error = h('span', { className: 'error', id: `${id}-error`, 'data-error-for': name });
  input.setAttribute('aria-describedby', `${hint ? `${id}-hint ` : ''}${id}-error`);
  return h('div', { className: 'field' }, h('label', { htmlFor: id }, label), hint ? h('span', { className: 'hint', id: `${id}-hint` }, hint) : null, input, error);
}

/** `datetime-local` values are read as UTC: the console speaks UTC throughout. @param {string} v */
const utc = (v) => (v ? new Date(`${v}${v.length === 16 ? ':00' : ''}Z`).toISOString() : '');

/** @param {() => Promise<void>} reload */
function policyForm(reload) {
  const days = (/** @type {number} */ value) => h('input', { type: 'number', min: 0, max: 36500, step: 1, value: String(value), required: true, inputMode: 'numeric' });
  const inputs = {
    version: h('input', { required: true, maxLength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*', autocomplete: 'off', spellcheck: false }),
    effectiveAt: h('input', { type: 'datetime-local', required: true, step: 1 }),
    decisionDeadline: h('input', { type: 'datetime-local', required: true, step: 1 }),
    defaultChoice: h('select', null, h('option', { value: 'granted' }, 'granted'), h('option', { value: 'denied' }, 'denied')),
    requiresReconsent: h('input', { type: 'checkbox' }),
    grantedDays: days(1825),
    deniedDays: days(30),
    violationDays: days(730),
  };
  const formError = h('div', { id: 'policy-form-status' });
  // One key per version scheduled: pressing twice does not schedule twice.
  let idempotencyKey = crypto.randomUUID?.() ?? String(Math.random()).slice(2);
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit' }, 'Schedule version'));
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      {
        noValidate: false,
        onsubmit: async (/** @type {SubmitEvent} */ event) => {
          event.preventDefault();
          for (const e of form.querySelectorAll('[data-error-for]')) e.textContent = '';
          for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
          formError.replaceChildren();
          const v = (/** @type {keyof typeof inputs} */ k) => /** @type {HTMLInputElement} */ (inputs[k]).value;
          const body = {
            version: v('version').trim(),
            effectiveAt: utc(v('effectiveAt')),
            decisionDeadline: utc(v('decisionDeadline')),
            defaultChoice: v('defaultChoice'),
            requiresReconsent: /** @type {HTMLInputElement} */ (inputs.requiresReconsent).checked,
            retention: { grantedDays: Number(v('grantedDays')), deniedDays: Number(v('deniedDays')), violationDays: Number(v('violationDays')) },
          };
          submit.disabled = true;
          try {
            const created = await api('/v1/policies', { method: 'POST', body, headers: { 'idempotency-key': idempotencyKey } });
            idempotencyKey = crypto.randomUUID?.() ?? String(Math.random()).slice(2);
            form.reset();
            await reload();
            formError.replaceChildren(notice('good', h('p', null, `Version ${created.version} is scheduled to take effect ${when(created.effectiveAt)} (revision ${created.revision}).`)));
          } catch (err) {
            if (err instanceof ApiError && err.status === 400 && err.errors.length > 0) {
              for (const e of err.errors) {
                const name = e.path.replace(/^body\./, '').replace(/^retention\./, '');
                const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
                const input = /** @type {HTMLElement | undefined} */ (inputs[/** @type {keyof typeof inputs} */ (name)]);
                if (slot && input) {
                  slot.textContent = e.message;
                  input.setAttribute('aria-invalid', 'true');
                }
              }
              formError.replaceChildren(notice('bad', h('p', null, `The service refused the version: ${err.message}. `, ...err.errors.map((e) => `${e.path} ${e.message}. `))));
            } else if (err instanceof ApiError && (err.status === 409 || err.status === 422)) {
              formError.replaceChildren(notice('bad', h('p', null, `The service refused the version: ${err.message}.`)));
            } else {
              formError.replaceChildren(explain(err, 'scheduling a policy (it needs the admin scope)'));
            }
            formError.querySelector('[role]')?.setAttribute('tabindex', '-1');
          } finally {
            submit.disabled = false;
          }
        },
      },
      h('p', null, 'Times are UTC. The version must take effect in the future; its deadline may not come before that. Needs a token with the admin scope.'),
      field('version', 'Version', inputs.version, 'Letters, digits, . _ - ; unique.'),
      field('effectiveAt', 'Takes effect at (UTC)', inputs.effectiveAt),
      field('decisionDeadline', 'Decision deadline (UTC)', inputs.decisionDeadline, 'Users who have not chosen by then get the default.'),
      field('defaultChoice', 'Default choice', inputs.defaultChoice),
      h('div', { className: 'field' }, h('span', null, inputs.requiresReconsent, ' ', h('label', { htmlFor: 'policy-requiresReconsent' }, 'Requires reconsent: choices made before it takes effect no longer count')), h('span', { className: 'error', 'data-error-for': 'requiresReconsent' })),
      h(
        'fieldset',
        null,
        h('legend', null, 'Retention in days'),
        h('div', { className: 'inline' }, field('grantedDays', 'Training allowed', inputs.grantedDays), field('deniedDays', 'Not allowed', inputs.deniedDays), field('violationDays', 'Flagged for a violation', inputs.violationDays)),
      ),
      submit,
      formError,
    )
  );
  inputs.requiresReconsent.id = 'policy-requiresReconsent';
  inputs.requiresReconsent.setAttribute('name', 'requiresReconsent');
  return form;
}
