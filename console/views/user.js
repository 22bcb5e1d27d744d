// @ts-check
/**
 * A user's page: consent now, the consent timeline (every audit event, its hash chain verified
 * here with WebCrypto), terms acceptances with what the pop-up showed, chats with their
 * eligibility and retention, and consent receipts and the export where the API offers them.
 */
import { api, ApiError, explain, fieldError, graphql } from '../lib/api.js';
import { canonicalJson, canVerify, GENESIS, verifyChain } from '../lib/chain.js';
import { h, notice, num, table, when } from '../lib/dom.js';
import { verifyJws } from '../lib/jws.js';

/** Events read per page, and per press of "more". */
const PAGE = 1000;
const PAGES_PER_LOAD = 5;
const CHATS_PER_PAGE = 50;
const CONSENT_EVENTS = new Set(['consent.choice_recorded', 'terms.accepted']);

/**
 * @param {HTMLElement} main
 * @param {string[]} params
 */
export async function renderUser(main, [userId]) {
  const receipts = document.body.dataset.receipts === 'true';
  const exportable = document.body.dataset.export === 'true';
  const summary = h('section', { 'aria-labelledby': 'consent-h' }, h('h2', { id: 'consent-h' }, 'Training consent now'));
  const timeline = h('section', { 'aria-labelledby': 'timeline-h' }, h('h2', { id: 'timeline-h' }, 'Consent timeline'));
  const acceptances = h('section', { 'aria-labelledby': 'terms-h' }, h('h2', { id: 'terms-h' }, 'Terms acceptances'));
  const chats = h('section', { 'aria-labelledby': 'chats-h' }, h('h2', { id: 'chats-h' }, 'Chats'));
  const proof = h('section', { 'aria-labelledby': 'proof-h' }, h('h2', { id: 'proof-h' }, 'Consent receipts and export'));
  main.append(h('h1', null, 'User ', h('span', { className: 'mono' }, userId)), summary, timeline, acceptances, chats, proof);

  await Promise.all([
    loadSummary(summary, userId),
    loadTimeline(timeline, userId, receipts),
    loadAcceptances(acceptances, userId),
    loadChats(chats, userId),
  ]);
  renderProof(proof, userId, receipts, exportable);
}

/** @param {HTMLElement} section @param {string} userId */
async function loadSummary(section, userId) {
  try {
    const user = await api(`/v1/users/${encodeURIComponent(userId)}`);
    const c = user.trainingConsent;
    /** @param {string} label @param {string | number | null} value @param {string} [figure] */
    const item = (label, value, figure) => h('div', null, h('dt', null, label), h('dd', figure ? { 'data-figure': figure } : null, value ?? '–'));
    section.append(
      h(
        'dl',
        { className: 'cards' },
        item('Plan', user.plan ?? 'not set', 'plan'),
        item('Effective', c.effective, 'effective'),
        item('Basis', c.basis.replace(/_/g, ' '), 'basis'),
        item('Choice', c.choice ? `${c.choice} on ${c.choiceSurface}` : 'none'),
        item('Decision required', c.decisionRequired ? 'yes' : 'no'),
        item('Consent since', c.consentSince ? when(c.consentSince) : '–'),
        item('Retention', c.retentionDays === null ? '–' : `${num(c.retentionDays)} days`),
        item('Policy', c.policyVersion),
      ),
      h('p', { className: 'status' }, `User since ${when(user.createdAt)}; read at revision ${user.revision}, as of ${when(c.asOf)}.`),
    );
  } catch (err) {
    section.append(err instanceof ApiError && err.status === 404 ? notice('warn', h('p', null, `No user ${userId} is known to the service.`)) : explain(err, 'this user’s consent'));
  }
}

/** @param {any} e */
function describe(e) {
  const d = e.data ?? {};
  switch (e.type) {
    case 'terms.accepted': {
      const p = d.presentation ?? {};
      return `Accepted terms ${d.policyVersion} on ${d.surface}; choice: ${d.trainingChoice ?? 'none'}. The pop-up ${p.trainingToggleShown ? 'showed' : 'did not show'} the training toggle, pre-set to ${p.trainingToggleDefault ? 'on' : 'off'}${p.uiVariant ? `, variant ${p.uiVariant}` : ''}${p.locale ? `, locale ${p.locale}` : ''}.`;
    }
    case 'consent.choice_recorded':
      return `Training ${d.choice} on ${d.surface}.`;
    case 'user.plan_changed':
      return `Plan set to ${d.plan}.`;
    case 'chat.registered':
      return `Chat ${e.chatId} registered, created ${when(d.createdAt)}${d.incognito ? ', incognito' : ''}.`;
    case 'chat.deleted':
      return `Chat ${e.chatId} deleted.`;
    case 'chat.flagged':
      return `Chat ${e.chatId} flagged: ${d.type ?? 'flag'}.`;
    default:
      return e.redacted ? 'Redacted: the user was erased.' : `${e.type}.`;
  }
}

const PROBLEMS = { hash_mismatch: 'its hash does not match its content', prev_hash_mismatch: 'its prevHash is not the previous event’s hash' };

/**
 * @param {HTMLElement} section
 * @param {string} userId
 * @param {boolean} receipts
 */
async function loadTimeline(section, userId, receipts) {
  const status = h('div', { id: 'chain-status' });
  const list = h('ol', { className: 'timeline', id: 'timeline' });
  const more = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', className: 'secondary', hidden: true }, 'Load more events'));
  section.append(status, list, more);
  if (!canVerify()) {
    status.append(notice('warn', h('p', null, 'This browser cannot verify the chain here: WebCrypto needs the console to be served over HTTPS or from this machine.')));
  }
  let after = '0';
  let head = GENESIS;
  let total = 0;
  let broken = 0;
  /** @type {string | null} */
  let firstBreak = null;
  const load = async () => {
    more.hidden = true;
    try {
      for (let page = 0; page < PAGES_PER_LOAD; page++) {
        const result = await api(`/v1/users/${encodeURIComponent(userId)}/audit-events?after=${after}&limit=${PAGE}`);
        const checked = canVerify() ? await verifyChain(result.items, head) : null;
        result.items.forEach((/** @type {any} */ e, /** @type {number} */ i) => list.append(eventItem(e, checked?.checks[i] ?? null, userId, receipts)));
        if (checked) {
          head = checked.head;
          for (const c of checked.checks) {
            if (!c.ok) {
              broken++;
              firstBreak ??= c.revision;
            }
          }
        }
        total += result.items.length;
        if (result.nextCursor === null) {
          after = '';
          break;
        }
        after = result.nextCursor;
      }
    } catch (err) {
      status.replaceChildren(explain(err, 'this user’s audit events'));
      return;
    }
    more.hidden = after === '';
    if (!canVerify()) return;
    const so_far = after === '' ? '' : ' so far (more to load)';
    status.replaceChildren(
      broken === 0
        ? h('div', { className: 'notice good', role: 'status', 'data-chain': 'verified' }, h('p', null, h('strong', { className: 'ok' }, '✓ Chain verified'), ` in this browser: ${num(total)} events${so_far}, each hash recomputed from the event and linked to the one before, from the first.`))
        : h('div', { className: 'notice bad', role: 'alert', 'data-chain': 'broken' }, h('p', null, h('strong', { className: 'broken' }, '✗ Chain broken'), `: ${num(broken)} of ${num(total)} events${so_far} do not verify, the first at revision ${firstBreak}. The log was altered after it was written.`)),
    );
  };
  more.addEventListener('click', () => void load());
  await load();
  if (total === 0 && list.childElementCount === 0 && !status.hasChildNodes()) status.append(h('p', { className: 'status' }, 'No events.'));
}

/**
 * @param {any} e
 * @param {{ ok: boolean, problem: null | 'hash_mismatch' | 'prev_hash_mismatch' } | null} check
 * @param {string} userId
 * @param {boolean} receipts
 */
function eventItem(e, check, userId, receipts) {
  const verdict = check === null ? h('span', { className: 'status' }, 'not verified') : check.ok ? h('span', { className: 'ok' }, '✓ verified') : h('span', { className: 'broken' }, `✗ ${PROBLEMS[/** @type {'hash_mismatch'} */ (check.problem)]}`);
  const receipt = receipts && CONSENT_EVENTS.has(e.type) ? receiptButton(userId, e.eventId) : null;
  return h(
    'li',
    { className: check === null ? '' : check.ok ? 'verified' : 'tampered', 'data-revision': e.revision, 'data-type': e.type },
    h('div', { className: 'when' }, `${when(e.occurredAt)} · revision ${e.revision} · ${e.type} · by ${e.actor?.sub ?? '–'} (${e.actor?.kind ?? '–'}) · `, verdict),
    h('div', null, describe(e)),
    h('details', null, h('summary', null, 'The event as the API returned it'), h('pre', null, JSON.stringify(e, null, 2))),
    receipt,
  );
}

/** @param {HTMLElement} section @param {string} userId */
async function loadAcceptances(section, userId) {
  try {
    const { items } = await api(`/v1/users/${encodeURIComponent(userId)}/terms-acceptances`);
    section.append(
      table(
        'Terms acceptances, newest first, with what the pop-up showed',
        [
          ['Accepted', (a) => when(a.acceptedAt)],
          ['Policy', (a) => a.policyVersion],
          ['Surface', (a) => a.surface],
          ['Choice', (a) => a.trainingChoice ?? 'none'],
          ['Toggle shown', (a) => (a.presentation.trainingToggleShown ? 'yes' : 'no')],
          ['Toggle pre-set', (a) => (a.presentation.trainingToggleDefault ? 'on' : 'off')],
          ['Variant', (a) => a.presentation.uiVariant ?? '–'],
          ['Locale', (a) => a.presentation.locale ?? '–'],
        ],
        items,
        'none recorded.',
      ),
    );
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) section.append(explain(err, 'this user’s terms acceptances'));
    else section.append(h('p', { className: 'status' }, 'None: the user is not known.'));
  }
}

const CHATS_QUERY = `query($userId: ID!, $first: Int, $after: ID) { user(userId: $userId) { chats(first: $first, after: $after) {
  items { chatId createdAt lastActivityAt incognito deletedAt flags { type flaggedAt }
    trainingEligibility { eligible reason consentSince retentionUntil } }
  nextCursor } } }`;

/** @param {HTMLElement} section @param {string} userId */
async function loadChats(section, userId) {
  const holder = h('div');
  const more = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', className: 'secondary', hidden: true }, 'More chats'));
  section.append(h('p', null, 'Each chat with what a training pipeline would be told about it now.'), holder, more);
  /** @type {any[]} */
  const rows = [];
  /** @type {string | null} */
  let after = null;
  const load = async () => {
    more.hidden = true;
    try {
      const { data, errors } = await graphql(CHATS_QUERY, { userId, first: CHATS_PER_PAGE, after });
      if (errors.length > 0) {
        holder.replaceChildren(explain(fieldError(errors[0]), 'this user’s chats and their eligibility'));
        return;
      }
      if (data.user === null) {
        holder.replaceChildren(h('p', { className: 'status' }, 'None: the user is not known.'));
        return;
      }
      rows.push(...data.user.chats.items);
      after = data.user.chats.nextCursor;
      holder.replaceChildren(
        table(
          'Chats, by id, with their eligibility for training now',
          [
            ['Chat', (c) => h('span', { className: 'mono' }, c.chatId)],
            ['Created', (c) => when(c.createdAt)],
            ['Last activity', (c) => when(c.lastActivityAt)],
            ['State', (c) => [c.incognito ? 'incognito' : '', c.deletedAt ? `deleted ${when(c.deletedAt)}` : '', ...c.flags.map((/** @type {any} */ f) => f.type.replace(/_/g, ' '))].filter(Boolean).join(', ') || 'active'],
            ['Eligible', (c) => (c.trainingEligibility.eligible ? h('span', { className: 'ok' }, 'yes') : 'no')],
            ['Reason', (c) => c.trainingEligibility.reason.replace(/_/g, ' ')],
            ['Retained until', (c) => when(c.trainingEligibility.retentionUntil)],
          ],
          rows,
          'none reported.',
        ),
      );
      more.hidden = after === null;
    } catch (err) {
      holder.replaceChildren(explain(err, 'this user’s chats'));
    }
  };
  more.addEventListener('click', () => void load());
  await load();
}

/** @param {string} userId @param {string} eventId */
function receiptButton(userId, eventId) {
  const out = h('div');
  const button = /** @type {HTMLButtonElement} */ (
    h('button', {
      type: 'button',
      className: 'secondary',
      onclick: async () => {
        button.disabled = true;
        try {
          const [receipt, jwks] = await Promise.all([api(`/v1/users/${encodeURIComponent(userId)}/consent-receipts/${encodeURIComponent(eventId)}`), api('/.well-known/jwks.json')]);
          const check = await verifyJws(receipt.jws, jwks);
          // The payload is the record's RFC 8785 JSON: compared as such, whatever order the record's keys came in.
          const same = canonicalJson(check.payload) === canonicalJson(receipt.record);
          out.replaceChildren(
            notice(check.valid && same ? 'good' : 'bad', h('p', null, check.valid && same ? `✓ Receipt signature verified (${check.reason}).` : `✗ Receipt does not verify: ${same ? check.reason : 'the signed payload is not the record'}.`)),
            h('pre', null, JSON.stringify(receipt.record, null, 2)),
          );
        } catch (err) {
          out.replaceChildren(explain(err, 'this receipt'));
        } finally {
          button.disabled = false;
        }
      },
    }, 'Consent receipt')
  );
  return h('div', null, button, out);
}

/**
 * @param {HTMLElement} section
 * @param {string} userId
 * @param {boolean} receipts
 * @param {boolean} exportable
 */
function renderProof(section, userId, receipts, exportable) {
  if (!receipts && !exportable) {
    section.append(h('p', { className: 'status', id: 'proof-unavailable' }, 'This service does not offer signed consent receipts or a user’s export yet. They appear here, beside each consent event and as a download, once its API does.'));
    return;
  }
  if (receipts) section.append(h('p', null, 'Each consent choice and terms acceptance in the timeline has a signed receipt: open it there to see the record and check its signature against the service’s published keys.'));
  if (exportable) {
    const status = h('div', { role: 'status' });
    const button = /** @type {HTMLButtonElement} */ (
      h('button', {
        type: 'button',
        onclick: async () => {
          button.disabled = true;
          status.replaceChildren('Preparing the export…');
          try {
            const data = await api(`/v1/users/${encodeURIComponent(userId)}/export`);
            const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
            const link = h('a', { href: url, download: `export-${userId}.json` }, `Save export-${userId}.json`);
            status.replaceChildren(`The export holds ${num(data.events?.length ?? 0)} events with their inclusion proofs. `, link);
            link.focus();
          } catch (err) {
            status.replaceChildren(explain(err, 'the export'));
          } finally {
            button.disabled = false;
          }
        },
      }, 'Prepare the export')
    );
    section.append(h('p', null, 'Everything held about the user, with a checkpoint and an inclusion proof per event, as one JSON file.'), button, status);
  }
}
