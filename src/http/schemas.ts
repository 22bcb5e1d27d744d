import { z } from 'zod';
import { BASES, CHOICES, PLANS, REASONS, SURFACES } from '../domain/index.js';
import { GRANT_EVIDENCE, MAX_ACCEPTANCE_GROUPS } from '../services/statistics.js';

const named = <T extends z.ZodType>(schema: T, id: string, description?: string): T => {
  z.globalRegistry.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};

export const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ - starting with a letter or digit');
/** The times the database holds and JavaScript dates agree on: years 0001 to 9999. */
const EARLIEST_TIME = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_TIME = Date.parse('9999-12-31T23:59:59.999Z');
export const Timestamp = z.iso
  .datetime({ offset: true, precision: undefined })
  .refine((v) => {
    // Only a well-formed four-digit-year time is judged here; anything else fails the format check.
    const t = Date.parse(v);
    return Number.isNaN(t) || !/^\d{4}-/.test(v) || (t >= EARLIEST_TIME && t <= LATEST_TIME);
  }, 'must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z')
  .describe('RFC 3339 timestamp');
const OutTimestamp = z.string().describe('RFC 3339 timestamp in UTC with milliseconds');
/** The largest revision PostgreSQL's bigint holds. */
const MAX_REVISION = 9223372036854775807n;
export const Revision = z
  .string()
  .regex(/^\d{1,19}$/, 'must be a decimal revision')
  .refine((v) => !/^\d{1,19}$/.test(v) || BigInt(v) <= MAX_REVISION, 'must be at most 9223372036854775807')
  .describe('A position in the global audit log (decimal string)');

export const Plan = named(z.enum(PLANS), 'Plan');
export const Choice = named(z.enum(CHOICES), 'Choice');
export const Surface = named(z.enum(SURFACES), 'Surface');

export const UserParams = z.strictObject({ userId: Id });
export const ChatParams = z.strictObject({ chatId: Id });
export const PolicyParams = z.strictObject({ version: z.string().min(1).max(64) });

/** What `minRevision` says wherever a read takes it (docs/decisions/0041). */
export const MIN_REVISION_DESCRIPTION =
  'Answer at this revision or a later one: the revision a write returned, to read that write from any instance ' +
  '(400 when beyond the newest revision, or with asOf or atRevision; 503 UNAVAILABLE with Retry-After when no database can answer at it in time)';

const MinRevision = Revision.optional().describe(MIN_REVISION_DESCRIPTION);

/** The query of a read that is not at a point but can be asked to include a write. */
export const MinRevisionQuery = z.strictObject({ minRevision: MinRevision });

export const PointQuery = z.strictObject({
  asOf: Timestamp.optional().describe('Evaluate as of this time (not in the future)'),
  atRevision: Revision.optional().describe('Evaluate after this revision (not beyond the newest)'),
  minRevision: MinRevision,
});

export const ConsentOut = named(
  z.object({
    userId: z.string(),
    plan: Plan.nullable(),
    choice: Choice.nullable(),
    choiceAt: OutTimestamp.nullable(),
    choiceSurface: Surface.nullable(),
    effective: Choice,
    basis: z.enum(BASES),
    decisionRequired: z.boolean(),
    policyVersion: z.string().nullable(),
    decisionDeadline: OutTimestamp.nullable(),
    retentionDays: z.number().int().nullable(),
    consentSince: OutTimestamp.nullable(),
    asOf: OutTimestamp,
    revision: Revision,
  }),
  'TrainingConsent',
);

export const ConsentIn = z.strictObject({ choice: Choice, surface: Surface });
export const PlanIn = z.strictObject({ plan: Plan });

export const Presentation = z.strictObject({
  trainingToggleDefault: z.boolean().describe('Whether the training toggle was pre-set to on'),
  trainingToggleShown: z.boolean().describe('Whether the toggle was shown at all'),
  locale: z.string().min(1).max(35).optional(),
  uiVariant: z.string().min(1).max(128).optional(),
});

export const TermsAcceptanceIn = z.strictObject({
  policyVersion: z.string().min(1).max(64),
  surface: Surface,
  trainingChoice: Choice.optional(),
  plan: Plan.optional(),
  presentation: Presentation,
});

export const TermsAcceptanceOut = named(
  z.object({
    acceptanceId: z.string(),
    userId: z.string(),
    policyVersion: z.string(),
    acceptedAt: OutTimestamp,
    surface: Surface,
    trainingChoice: Choice.nullable(),
    presentation: z.record(z.string(), z.unknown()),
    revision: Revision,
  }),
  'TermsAcceptance',
);

export const UserOut = named(
  z.object({
    userId: z.string(),
    plan: Plan.nullable(),
    createdAt: OutTimestamp,
    trainingConsent: ConsentOut,
    latestTermsAcceptance: TermsAcceptanceOut.nullable(),
    revision: Revision,
  }),
  'User',
);

export const PolicyRetention = z.strictObject({
  grantedDays: z.number().int().min(0).max(36500),
  deniedDays: z.number().int().min(0).max(36500),
  violationDays: z.number().int().min(0).max(36500),
});

export const PolicyIn = z.strictObject({
  version: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use A-Z a-z 0-9 . _ -'),
  effectiveAt: Timestamp,
  decisionDeadline: Timestamp,
  defaultChoice: Choice,
  requiresReconsent: z.boolean(),
  retention: PolicyRetention,
});

export const PolicyOut = named(
  z.object({
    version: z.string(),
    effectiveAt: OutTimestamp,
    decisionDeadline: OutTimestamp,
    defaultChoice: Choice,
    requiresReconsent: z.boolean(),
    retention: z.object({ grantedDays: z.number().int(), deniedDays: z.number().int(), violationDays: z.number().int() }),
    revision: Revision,
  }),
  'Policy',
);

export const ChatIn = z.strictObject({
  userId: Id,
  createdAt: Timestamp.optional().describe('When the chat began (default now); counts as activity'),
  incognito: z.boolean().optional(),
});

export const ActivityIn = z
  .strictObject({ at: Timestamp.optional().describe('When the chat was used (default now; at most 5 minutes ahead)') })
  .nullish();

export const FlagIn = z.strictObject({ type: z.literal('policy_violation') });

export const ChatOut = named(
  z.object({
    chatId: z.string(),
    userId: z.string(),
    createdAt: OutTimestamp,
    lastActivityAt: OutTimestamp.nullable(),
    incognito: z.boolean(),
    deletedAt: OutTimestamp.nullable(),
    flags: z.array(z.object({ type: z.string(), flaggedAt: OutTimestamp })),
    revision: Revision,
  }),
  'Chat',
);

export const DecisionOut = named(
  z.object({
    chatId: z.string(),
    userId: z.string().nullable(),
    eligible: z.boolean(),
    reason: z.enum(REASONS),
    policyVersion: z.string().nullable(),
    consentSince: OutTimestamp.nullable(),
    retentionUntil: OutTimestamp.nullable(),
    asOf: OutTimestamp,
    revision: Revision,
  }),
  'EligibilityDecision',
);

const ReceiptOut = z
  .string()
  .describe('Compact JWS (EdDSA) over { iss, iat, asOf, revision, count, resultsSha256 }: proof of what was answered; present with receipt=true');

export const SingleEligibilityQuery = PointQuery.extend({
  receipt: z.enum(['true', 'false']).optional().describe('true: add a signed decision receipt'),
});

export const DecisionWithReceiptOut = DecisionOut.extend({ receipt: ReceiptOut.optional() });

export const BatchIn = z.strictObject({
  chatIds: z.array(Id).min(1).max(10_000),
  asOf: Timestamp.optional(),
  atRevision: Revision.optional(),
  minRevision: MinRevision,
  receipt: z.boolean().optional().describe('true: add a signed decision receipt'),
});

export const BatchOut = named(
  z.object({ asOf: OutTimestamp, revision: Revision, results: z.array(DecisionOut), receipt: ReceiptOut.optional() }),
  'EligibilityBatch',
);

export const EligibleChatsQuery = PointQuery.extend({
  after: Id.optional().describe('Start after this chatId (byte order)'),
  limit: z.coerce.number().int().min(1).max(100_000_000).optional().describe('At most this many lines'),
});

export const AuditEventOut = named(
  z.object({
    revision: Revision,
    eventId: z.string(),
    type: z.string(),
    userId: z.string().nullable(),
    chatId: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
    actor: z.object({ sub: z.string(), kind: z.enum(['user', 'service']) }),
    occurredAt: OutTimestamp,
    requestId: z.string(),
    prevHash: z.string(),
    hash: z.string(),
  }),
  'AuditEvent',
);

export const RedactedAuditEventOut = named(
  z.object({
    revision: Revision,
    eventId: z.string(),
    type: z.string(),
    redacted: z.literal(true),
    occurredAt: OutTimestamp,
    prevHash: z.string(),
    hash: z.string().describe('The hash of the event as it was before its user was erased: a verifier takes it as given'),
  }),
  'RedactedAuditEvent',
  'An event of an erased user: its personal part is gone, its place in the chain and the log stays',
);

export const LoggedEventOut = z.union([AuditEventOut, RedactedAuditEventOut]);

export const AuditPageOut = named(
  z.object({ items: z.array(LoggedEventOut), nextCursor: Revision.nullable() }),
  'AuditEventPage',
);

export const AuditQuery = z.strictObject({
  after: Revision.optional().describe('Return events after this revision'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Page size (default 100)'),
  minRevision: MinRevision,
});

export const FeedQuery = AuditQuery.extend({
  types: z.string().max(1000).optional().describe('Comma-separated event types'),
});

export const Problem = named(
  z.object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
  'Problem',
  'RFC 9457 problem details',
);

export const CheckpointOut = named(
  z.object({
    treeSize: z.number().int(),
    rootHash: z.string().describe('Lowercase hex'),
    lastRevision: Revision.describe('The revision of the last event in the tree'),
    createdAt: OutTimestamp,
    previousRootHash: z.string().nullable().describe("The previous checkpoint's root (null for the first)"),
    jws: z.string().describe('Compact JWS (EdDSA) whose payload is this checkpoint without jws'),
  }),
  'Checkpoint',
);

export const CheckpointPageOut = named(
  z.object({ items: z.array(CheckpointOut), nextCursor: z.string().nullable() }),
  'CheckpointPage',
);

const TreeSize = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const CheckpointsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('Checkpoints of a larger tree than this'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Page size (default 100)'),
  minRevision: MinRevision,
});

export const InclusionQuery = z.strictObject({
  revision: Revision.describe("The event's revision"),
  treeSize: TreeSize.optional().describe('Size of the tree to prove against (default: the latest checkpoint)'),
  minRevision: MinRevision,
});

export const InclusionProofOut = named(
  z.object({
    leafIndex: z.number().int(),
    treeSize: z.number().int(),
    rootHash: z.string(),
    path: z.array(z.string()).describe('Audit path (RFC 6962), bottom-up, lowercase hex'),
  }),
  'InclusionProof',
);

export const ConsistencyQuery = z.strictObject({ from: TreeSize, to: TreeSize, minRevision: MinRevision });

export const ConsistencyProofOut = named(
  z.object({ from: z.number().int(), to: z.number().int(), path: z.array(z.string()).describe('Consistency proof (RFC 6962), lowercase hex') }),
  'ConsistencyProof',
);

export const ConsentReceiptParams = z.strictObject({ userId: Id, eventId: z.string().min(1).max(64) });

export const ConsentRecordOut = named(
  z
    .object({
      schemaVersion: z.string(),
      recordId: z.string(),
      iss: z.string(),
      iat: z.number().int(),
      controller: z.object({ id: z.string() }),
      principal: z.object({ id: z.string() }),
      purposes: z.array(z.object({ purpose: z.string(), description: z.string(), legalBasis: z.string() })),
      notice: z.object({ policyVersion: z.string().nullable(), presentation: z.record(z.string(), z.unknown()).nullable() }),
      method: z.object({ surface: z.string(), actor: z.enum(['user', 'service']), event: z.string() }),
      timestamp: OutTimestamp,
      state: z.enum(['given', 'refused', 'not_stated']),
      withdrawal: z.object({ method: z.string(), effect: z.string() }),
      evidence: z.object({ revision: Revision, eventHash: z.string() }),
    })
    .describe('A consent record in the structure of ISO/IEC TS 27560'),
  'ConsentRecord',
);

export const ConsentReceiptOut = named(
  z.object({ record: ConsentRecordOut, jws: z.string().describe('Compact JWS (EdDSA) whose payload is the record') }),
  'ConsentReceipt',
);

export const ErasureOut = named(z.object({ userId: z.string(), erasedAt: OutTimestamp, revision: Revision }), 'Erasure');

export const UserExportOut = named(
  z.object({
    user: UserOut,
    trainingConsent: ConsentOut,
    termsAcceptances: z.array(TermsAcceptanceOut),
    chats: z.array(ChatOut),
    events: z.array(LoggedEventOut),
    checkpoint: CheckpointOut,
    proofs: z.array(z.object({ revision: Revision, leafIndex: z.number().int(), path: z.array(z.string()) })).describe('An inclusion proof per event, against the checkpoint'),
  }),
  'UserExport',
);

export const RetentionQuery = z.strictObject({
  asOf: Timestamp.optional().describe('Evaluate as of this time (not in the future)'),
  minRevision: MinRevision,
  after: Id.optional().describe('Start after this chatId (byte order)'),
  limit: z.coerce.number().int().min(1).max(100_000_000).optional().describe('At most this many lines'),
});
export const ConsentStatisticsOut = named(
  z.object({
    asOf: OutTimestamp,
    revision: Revision,
    users: z
      .object({
        total: z.number().int().describe('Users known at the point'),
        decisionRequired: z.number().int().describe('Users a frontend would show the terms pop-up to (decisionRequired)'),
        byPlanAndBasis: z.array(
          z.object({ plan: Plan.nullable(), basis: z.enum(BASES), effective: Choice, count: z.number().int() }),
        ),
      })
      .describe("Users by plan and by the basis of their consent, each user's consent as the consent read answers it"),
    grantsInForce: z
      .object({
        total: z.number().int().describe('Users whose consent is granted at the point'),
        byEvidence: z.array(
          z.object({
            evidence: z.enum(GRANT_EVIDENCE).describe(
              'default_after_deadline: never chose; popup_toggle_preset_on / popup_toggle_preset_off / popup_toggle_hidden: ' +
                'granted in a terms acceptance whose pop-up showed the toggle pre-set to on, pre-set to off, or not at all; ' +
                'outside_popup: granted through the consent endpoint',
            ),
            count: z.number().int(),
          }),
        ),
      })
      .describe('The grants training relies on at the point, by how they were given'),
    choicesPerDay: z
      .array(z.object({ day: z.string().describe('UTC day, YYYY-MM-DD'), surface: Surface, choice: Choice, count: z.number().int() }))
      .describe('Consent choices recorded up to the point, by UTC day of recording, surface and choice'),
    termsAcceptances: z
      .object({
        total: z.number().int(),
        groups: z.array(
          z.object({
            surface: Surface,
            uiVariant: z.string().nullable(),
            trainingToggleShown: z.boolean(),
            trainingToggleDefault: z.boolean(),
            granted: z.number().int(),
            denied: z.number().int(),
            withoutChoice: z.number().int(),
          }),
        ),
        omittedGroups: z.number().int().describe(`Groups beyond the ${MAX_ACCEPTANCE_GROUPS.toLocaleString('en')} largest, left out`),
      })
      .describe('Terms acceptances recorded up to the point, by what the pop-up showed, and the choices made in them'),
  }),
  'ConsentStatistics',
);
