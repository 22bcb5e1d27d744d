import { beginPolicyWrite, type WriteContext } from '../audit/append.js';
import type { Database } from '../db/client.js';
import { NOW, type PointRequest, type SettledRevisions } from '../db/point.js';
import { ReadRouter } from '../db/read-router.js';
import type { Choice } from '../domain/index.js';
import { conflict, notFound, unprocessable } from '../errors.js';
import { type PolicyCache, type PolicyRow } from './facts.js';
import { runWrite, type IdempotencyRequest, type WriteResult } from './write.js';

export interface NewPolicy {
  version: string;
  effectiveAt: string;
  decisionDeadline: string;
  defaultChoice: Choice;
  requiresReconsent: boolean;
  retention: { grantedDays: number; deniedDays: number; violationDays: number };
}

export type PolicyView = NewPolicy & { revision: string };

function policyView(p: PolicyRow): PolicyView {
  return {
    version: p.version,
    effectiveAt: new Date(p.effectiveAt).toISOString(),
    decisionDeadline: new Date(p.decisionDeadline).toISOString(),
    defaultChoice: p.defaultChoice,
    requiresReconsent: p.requiresReconsent,
    retention: { grantedDays: p.grantedDays, deniedDays: p.deniedDays, violationDays: p.violationDays },
    revision: p.revision,
  };
}

export class PolicyService {
  /** Writes go to `db`, the primary; reads where `reads` sends them. */
  constructor(
    private readonly db: Database,
    private readonly cache: PolicyCache,
    private readonly settled: SettledRevisions,
    private readonly reads: ReadRouter = new ReadRouter({ name: 'primary', db, settled }),
  ) {}

  /** Every policy; `request` carries a minRevision. */
  async list(request: PointRequest = NOW): Promise<{ items: PolicyView[] }> {
    return { items: (await this.reads.run(request, (src) => this.cache.all(null, src.db))).map(policyView) };
  }

  async get(version: string, request: PointRequest = NOW): Promise<PolicyView> {
    const { items } = await this.list(request);
    const found = items.find((p) => p.version === version);
    if (!found) throw notFound(`policy ${version} does not exist`);
    return found;
  }

  /** Policies are only ever added, and only for the future: history is never rewritten. */
  async create(ctx: WriteContext, idem: IdempotencyRequest | null, input: NewPolicy): Promise<WriteResult> {
    const effectiveAt = Date.parse(input.effectiveAt);
    const deadline = Date.parse(input.decisionDeadline);
    // Checked inside the write, so that a retry of a creation whose policy has since taken effect
    // replays the stored response instead of failing.
    return runWrite(this.db, this.settled, idem, async (tx) => {
      if (effectiveAt <= ctx.now.getTime()) throw unprocessable('effectiveAt must be in the future: policies in effect are never rewritten');
      if (deadline < effectiveAt) throw unprocessable('decisionDeadline must not be before effectiveAt');
      const chain = await beginPolicyWrite(tx, ctx);
      const existing = await tx.query('SELECT 1 FROM policies WHERE version = $1', [input.version]);
      if (existing.length > 0) throw conflict(`policy ${input.version} already exists; policies are never edited`);
      const data = {
        version: input.version,
        effectiveAt: new Date(effectiveAt).toISOString(),
        decisionDeadline: new Date(deadline).toISOString(),
        defaultChoice: input.defaultChoice,
        requiresReconsent: input.requiresReconsent,
        retention: input.retention,
      };
      const [event] = await chain.append({ type: 'policy.created', data });
      await tx.query(
        `INSERT INTO policies (version, effective_at, decision_deadline, default_choice, requires_reconsent,
           retention_granted_days, retention_denied_days, retention_violation_days, recorded_at, revision)
         VALUES ($1, $2::timestamptz, $3::timestamptz, $4, $5, $6, $7, $8, $9::timestamptz, $10::bigint)`,
        [data.version, data.effectiveAt, data.decisionDeadline, data.defaultChoice, data.requiresReconsent,
          data.retention.grantedDays, data.retention.deniedDays, data.retention.violationDays, ctx.now.toISOString(), event.revision],
      );
      return { status: 201, body: { ...data, revision: event.revision }, headers: { location: `/v1/policies/${encodeURIComponent(data.version)}` } };
    });
  }
}
