import { z } from 'zod';
import { BASES, CHOICES, PLANS, REASONS, SURFACES } from '../domain/index.js';

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

export const BatchIn = z.strictObject({
  chatIds: z.array(Id).min(1).max(10_000),
  asOf: Timestamp.optional(),
  atRevision: Revision.optional(),
  minRevision: MinRevision,
});

export const BatchOut = named(
  z.object({ asOf: OutTimestamp, revision: Revision, results: z.array(DecisionOut) }),
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

export const AuditPageOut = named(
  z.object({ items: z.array(AuditEventOut), nextCursor: Revision.nullable() }),
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
