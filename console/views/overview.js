// @ts-check
/**
 * Overview: the consent statistics at a point (GET /v1/consent-statistics): users by plan and
 * basis, who must still decide, choices per day, and the evidence behind the grants training
 * relies on (pop-up toggle pre-set, hidden, switched on, outside the pop-up, default).
 */
import { api, explain } from '../lib/api.js';
import { append, h, num, pct, table, when } from '../lib/dom.js';
import { dailyChoicesPlot, rateBar, shareBar } from '../lib/plots.js';

const PLANS = ['free', 'pro', 'max', 'team', 'enterprise', 'api', 'education', 'government', null];
const BASES = ['user_choice', 'default_after_deadline', 'undecided', 'commercial_plan', 'plan_unknown', 'no_policy_in_effect'];
const BASIS_LABELS = /** @type {Record<string, string>} */ ({
  user_choice: 'own choice',
  default_after_deadline: 'default after deadline',
  undecided: 'undecided',
  commercial_plan: 'commercial plan',
  plan_unknown: 'plan unknown',
  no_policy_in_effect: 'no policy in effect',
});
export const EVIDENCE = /** @type {Record<string, [string, string]>} */ ({
  popup_toggle_preset_off: ['switched on in the pop-up (toggle pre-set off)', '#136c2e'],
  outside_popup: ['granted outside the pop-up (settings)', '#0b5cad'],
  popup_toggle_preset_on: ['pop-up with the toggle pre-set on', '#b35900'],
  popup_toggle_hidden: ['pop-up without the toggle shown', '#a4161a'],
  default_after_deadline: ['by default after the deadline (never chose)', '#4d5560'],
});
const ACTIVE = ['popup_toggle_preset_off', 'outside_popup'];

/**
 * @param {HTMLElement} main
 */
export async function renderOverview(main) {
  const body = h('div', { id: 'overview-body' }, h('p', { className: 'status', role: 'status' }, 'Loading the statistics…'));
  const kind = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'point-kind', name: 'kind' }, h('option', { value: 'now' }, 'now'), h('option', { value: 'asOf' }, 'as of a time'), h('option', { value: 'atRevision' }, 'after a revision'))
  );
  const value = /** @type {HTMLInputElement} */ (
    h('input', { id: 'point-value', name: 'value', disabled: true, placeholder: '2025-09-28T00:00:00Z or 1234', autocomplete: 'off', spellcheck: false, 'aria-describedby': 'point-hint' })
  );
  kind.addEventListener('change', () => {
    value.disabled = kind.value === 'now';
    if (!value.disabled) value.focus();
  });
  const form = h(
    'form',
    {
      className: 'inline',
      'aria-label': 'Point to evaluate at',
      onsubmit: (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        void load();
      },
    },
    h('div', { className: 'field' }, h('label', { htmlFor: 'point-kind' }, 'Evaluate'), kind),
    h('div', { className: 'field' }, h('label', { htmlFor: 'point-value' }, 'Time (UTC) or revision'), value, h('span', { id: 'point-hint', className: 'hint' }, 'Like every read: the facts recorded by then.')),
    h('button', { type: 'submit' }, 'Show'),
  );
  main.append(h('h1', null, 'Overview'), form, body);

  async function load() {
    const query = kind.value === 'now' || !value.value.trim() ? '' : `?${kind.value}=${encodeURIComponent(value.value.trim())}`;
    body.replaceChildren(h('p', { className: 'status', role: 'status' }, 'Loading the statistics…'));
    try {
      const [stats, policies] = await Promise.all([api(`/v1/consent-statistics${query}`), api('/v1/policies')]);
      body.replaceChildren();
      append(body, render(stats, policies.items));
    } catch (err) {
      body.replaceChildren(explain(err, 'the consent statistics'));
    }
  }
  await load();
}

/**
 * @param {any} stats
 * @param {{ version: string, decisionDeadline: string }[]} policies
 */
function render(stats, policies) {
  const evidence = Object.fromEntries(stats.grantsInForce.byEvidence.map((/** @type {any} */ e) => [e.evidence, e.count]));
  const grants = stats.grantsInForce.total;
  const active = ACTIVE.reduce((a, k) => a + (evidence[k] ?? 0), 0);
  const passive = grants - active;
  /** @param {string} id @param {string} label @param {number} value @param {string} [note] */
  const card = (id, label, value, note) => h('div', null, h('dt', null, label), h('dd', { 'data-figure': id }, num(value), note ? h('small', null, ` ${note}`) : null));
  return [
    h('p', { className: 'lead', 'data-figure': 'point' }, `At revision ${stats.revision}, as of ${when(stats.asOf)}.`),
    h(
      'dl',
      { className: 'cards' },
      card('users-total', 'Users', stats.users.total),
      card('decision-required', 'Need a decision', stats.users.decisionRequired, pct(stats.users.decisionRequired, stats.users.total)),
      card('grants-total', 'Grants in force', grants),
      card('grants-active', 'Chosen actively', active, pct(active, grants)),
      card('grants-passive', 'Default, pre-set or hidden', passive, pct(passive, grants)),
      card('acceptances-total', 'Terms acceptances', stats.termsAcceptances.total),
    ),
    ...evidenceSection(stats, evidence, grants, passive),
    ...ratesSection(stats.termsAcceptances),
    h('h2', null, 'Choices per day'),
    h('p', null, 'Consent choices recorded each UTC day, by surface: grants above the axis, denials below. Dashed lines mark decision deadlines.'),
    stats.choicesPerDay.length === 0 ? h('p', { className: 'status' }, 'No choices recorded yet.') : dailyChoicesPlot(stats.choicesPerDay, policies),
    h(
      'details',
      null,
      h('summary', null, 'Choices per day as a table'),
      table('Choices per day', [['Day', (r) => r.day], ['Surface', (r) => r.surface], ['Choice', (r) => r.choice], ['Count', (r) => num(r.count), true]], stats.choicesPerDay),
    ),
    h('h2', null, 'Users by plan and consent basis'),
    planBasisTable(stats.users.byPlanAndBasis),
  ];
}

/**
 * @param {any} stats
 * @param {Record<string, number>} evidence
 * @param {number} grants
 * @param {number} passive
 */
function evidenceSection(stats, evidence, grants, passive) {
  const parts = Object.entries(EVIDENCE).map(([key, [label, colour]]) => ({ key, label, colour, count: evidence[key] ?? 0 }));
  return [
    h('h2', null, 'Evidence behind the grants in force'),
    grants === 0
      ? h('p', { className: 'status' }, 'No user’s consent is granted at this point.')
      : h(
          'p',
          { 'data-figure': 'evidence-summary' },
          h('strong', null, `${pct(passive, grants)} of the ${num(grants)} grants training relies on were not chosen actively: `),
          `${pct(evidence.default_after_deadline ?? 0, grants)} by default, ${pct(evidence.popup_toggle_preset_on ?? 0, grants)} with the toggle pre-set to on, ` +
            `${pct(evidence.popup_toggle_hidden ?? 0, grants)} without the toggle shown.`,
        ),
    grants === 0 ? null : shareBar('evidence', 'How the grants in force were given', parts),
    table(
      'Grants in force by how they were given',
      [
        ['How', (p) => p.label],
        ['Users', (p) => num(p.count), true],
        ['Share', (p) => pct(p.count, grants), true],
      ],
      parts,
    ),
    h('p', { className: 'status' }, `Of ${num(stats.users.total)} users, ${num(stats.users.decisionRequired)} must still decide (the pop-up would be shown to them).`),
  ];
}

/** @param {{ groups: any[], omittedGroups: number, total: number }} acceptances */
function ratesSection(acceptances) {
  /**
   * @param {string} caption
   * @param {(g: any) => string} key
   */
  const by = (caption, key) => {
    /** @type {Map<string, { label: string, granted: number, denied: number, without: number }>} */
    const groups = new Map();
    for (const g of acceptances.groups) {
      const k = key(g);
      const e = groups.get(k) ?? { label: k, granted: 0, denied: 0, without: 0 };
      e.granted += g.granted;
      e.denied += g.denied;
      e.without += g.withoutChoice;
      groups.set(k, e);
    }
    const rows = [...groups.values()].sort((a, b) => b.granted + b.denied - (a.granted + a.denied));
    return table(caption, [
      [caption.replace(/^By /, ''), (r) => r.label],
      ['Acceptances with a choice', (r) => num(r.granted + r.denied), true],
      ['Granted', (r) => num(r.granted), true],
      ['Grant rate', (r) => h('span', null, rateBar(r.granted + r.denied ? r.granted / (r.granted + r.denied) : 0), ' ', pct(r.granted, r.granted + r.denied)), true],
      ['Without a choice', (r) => num(r.without), true],
    ], rows);
  };
  return [
    h('h2', null, 'Grant rates by what the pop-up showed'),
    h('p', null, `Terms acceptances (${num(acceptances.total)}) that recorded a choice, and how often it was a grant. A rate that moves with the toggle’s default or visibility, not with the user, is weak evidence of a choice.`),
    by('By toggle pre-set', (g) => (g.trainingToggleDefault ? 'pre-set to on' : 'pre-set to off')),
    by('By toggle shown', (g) => (g.trainingToggleShown ? 'shown' : 'not shown')),
    by('By pop-up variant', (g) => g.uiVariant ?? '(no variant given)'),
    by('By surface', (g) => g.surface),
    acceptances.omittedGroups > 0 ? h('p', { className: 'status' }, `${num(acceptances.omittedGroups)} smaller groups are left out.`) : null,
  ];
}

/** @param {{ plan: string | null, basis: string, effective: string, count: number }[]} rows */
function planBasisTable(rows) {
  if (rows.length === 0) return h('p', { className: 'status' }, 'No users yet.');
  const plans = PLANS.filter((p) => rows.some((r) => r.plan === p));
  const bases = BASES.filter((b) => rows.some((r) => r.basis === b));
  /** @param {string | null} plan @param {string | null} basis */
  const count = (plan, basis) => rows.filter((r) => r.plan === plan && (basis === null || r.basis === basis)).reduce((a, r) => a + r.count, 0);
  const granted = (/** @type {string | null} */ plan) => rows.filter((r) => r.plan === plan && r.effective === 'granted').reduce((a, r) => a + r.count, 0);
  return h(
    'div',
    { className: 'scroll' },
    h(
      'table',
      { id: 'plan-basis' },
      h('caption', null, 'Users by plan (rows) and consent basis (columns)'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Plan'), bases.map((b) => h('th', { scope: 'col', className: 'num' }, BASIS_LABELS[b])), h('th', { scope: 'col', className: 'num' }, 'Granted'), h('th', { scope: 'col', className: 'num' }, 'Total'))),
      h(
        'tbody',
        null,
        plans.map((p) =>
          h(
            'tr',
            null,
            h('th', { scope: 'row' }, p ?? 'not set'),
            bases.map((b) => h('td', { className: 'num', 'data-plan': p ?? 'none', 'data-basis': b }, num(count(p, b)))),
            h('td', { className: 'num' }, num(granted(p))),
            h('td', { className: 'num' }, num(count(p, null))),
          ),
        ),
      ),
    ),
  );
}
