import type { Database } from '../db/client.js';
import { TILE_WIDTH } from '../merkle/tiles.js';
import { policyAt } from '../domain/policy.js';
import { notFound } from '../errors.js';
import type { AuditFeed } from '../audit/feed.js';
import type { LoggedEvent } from '../audit/hash.js';
import type { Checkpoint, Checkpoints } from '../proof/checkpoints.js';
import { consentRecord, type ConsentEvent, type ConsentRecord } from '../proof/consent-record.js';
import type { Signer } from '../proof/signing-keys.js';
import type { ChatService, ChatView } from './chats.js';
import type { ConsentService, ConsentView, TermsAcceptanceView, UserView } from './consent.js';
import type { PolicyCache } from './facts.js';

export const CONSENT_RECEIPT_TYP = 'consent-receipt+jws';
/** Events read per page while exporting. */
const EXPORT_PAGE = 1_000;

export interface UserExport {
  user: UserView;
  trainingConsent: ConsentView;
  termsAcceptances: TermsAcceptanceView[];
  chats: ChatView[];
  events: LoggedEvent[];
  checkpoint: Checkpoint;
  proofs: { revision: string; leafIndex: number; path: string[] }[];
}

interface ConsentEventRow {
  event_id: string;
  revision: string;
  type: ConsentEvent['type'];
  user_id: string;
  data: Record<string, unknown>;
  actor_kind: 'user' | 'service';
  occurred_at: Date;
  hash: string;
  shown: Record<string, unknown> | null;
}

/** What a user can see of what is held about it, and prove: its export and its consent receipts. */
export class UserProofService {
  constructor(
    private readonly db: Database,
    private readonly consent: ConsentService,
    private readonly chats: ChatService,
    private readonly audit: AuditFeed,
    private readonly checkpoints: Checkpoints,
    private readonly policies: PolicyCache,
    private readonly signer: Signer,
  ) {}

  /** A signed ISO/IEC TS 27560 record of one consent choice or terms acceptance of the user. */
  async consentReceipt(userId: string, eventId: string, now: number): Promise<{ record: ConsentRecord; jws: string }> {
    const [row] = await this.db.query<ConsentEventRow>(
      `SELECT a.event_id, a.revision::text AS revision, a.type, p.user_id, p.data, a.actor_kind, a.occurred_at, a.hash,
         (SELECT tp.data->'presentation' FROM audit_event_personal tp JOIN audit_events ta ON ta.revision = tp.revision
           WHERE tp.user_id = p.user_id AND tp.request_id = p.request_id AND ta.type = 'terms.accepted' AND tp.revision < p.revision
           ORDER BY tp.revision DESC LIMIT 1) AS shown
         FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision
        WHERE a.event_id = $2 AND p.user_id = $1 AND a.type IN ('consent.choice_recorded', 'terms.accepted')`,
      [userId, eventId],
    );
    if (row === undefined) throw notFound(`user ${userId} has no consent choice or terms acceptance ${eventId}`);
    const occurredAt = row.occurred_at.toISOString();
    const { policies } = await this.policies.at(null, row.revision, null);
    const record = consentRecord(
      { eventId: row.event_id, revision: row.revision, type: row.type, userId: row.user_id, data: row.data, actorKind: row.actor_kind, occurredAt, hash: row.hash },
      { issuer: this.signer.issuer, now, policyVersion: policyAt(policies, row.occurred_at.getTime())?.version ?? null, presentation: row.shown },
    );
    return { record, jws: await this.signer.sign(record, CONSENT_RECEIPT_TYP) };
  }

  /**
   * Everything held about the user, and an inclusion proof of each of its events against a signed
   * checkpoint (a new one when the latest does not cover them all).
   */
  async export(userId: string, now: number): Promise<UserExport> {
    const user = await this.consent.getUser(userId, { kind: 'now' }, now);
    const [trainingConsent, terms, chats] = await Promise.all([
      this.consent.getConsent(userId, { kind: 'now' }, now),
      this.consent.listTermsAcceptances(userId),
      this.chats.listForUser(userId),
    ]);
    const events: LoggedEvent[] = [];
    for (let after = '0'; ; ) {
      const page = await this.audit.forUser(userId, after, EXPORT_PAGE, now);
      events.push(...page.items);
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    let checkpoint = await this.checkpoints.latest();
    const newest = events.at(-1)?.revision;
    if (checkpoint === null || (newest !== undefined && BigInt(newest) > BigInt(checkpoint.lastRevision))) {
      checkpoint = (await this.checkpoints.create(now)).checkpoint;
    }
    const indices = await this.leafIndices(events.map((e) => e.revision));
    const { paths } = await this.checkpoints.log.inclusionProofs(indices, checkpoint.treeSize);
    return {
      user,
      trainingConsent: trainingConsent.view,
      termsAcceptances: terms.items,
      chats,
      events,
      checkpoint,
      proofs: events.map((e, i) => ({ revision: e.revision, leafIndex: indices[i], path: paths[i] })),
    };
  }

  /** Leaf indices of events already in the tree, in one statement. */
  private async leafIndices(revisions: readonly string[]): Promise<number[]> {
    if (revisions.length === 0) return [];
    const rows = await this.db.query<{ r: string; idx: string; n: number }>(
      `SELECT x.r::text AS r, t.idx::text AS idx,
         (SELECT count(*) FROM audit_events a WHERE a.revision >= t.first_revision AND a.revision <= x.r)::int AS n
       FROM unnest($1::bigint[]) AS x(r)
       CROSS JOIN LATERAL (SELECT idx, first_revision FROM merkle_tiles WHERE level = 0 AND first_revision <= x.r
                           ORDER BY first_revision DESC LIMIT 1) t`,
      [revisions],
    );
    const byRevision = new Map(rows.map((r) => [r.r, Number(r.idx) * TILE_WIDTH + r.n - 1]));
    return revisions.map((r) => {
      const index = byRevision.get(r);
      if (index === undefined) throw new Error(`revision ${r} is not in the Merkle tree`);
      return index;
    });
  }
}
