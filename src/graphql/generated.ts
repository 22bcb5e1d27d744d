/* eslint-disable */
// Generated from schema/ by `npm run graphql:codegen`; do not edit. A test fails when it drifts.
import type {
  GraphQLResolveInfo,
  GraphQLScalarType,
  GraphQLScalarTypeConfig,
} from "graphql";
import type { UserView, TermsAcceptanceView } from "../services/consent.js";
import type { ConsentRead } from "./views.js";
import type { ChatView } from "../services/chats.js";
import type { DecisionView } from "../services/eligibility.js";
import type { PolicyView } from "../services/policies.js";
import type { LoggedEvent } from "../audit/hash.js";
import type { MercuriusContext } from "mercurius";
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = {
  [K in keyof T]: T[K];
};
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & {
  [SubKey in K]?: Maybe<T[SubKey]>;
};
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & {
  [SubKey in K]: Maybe<T[SubKey]>;
};
export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) =>
  | Promise<import("mercurius-codegen").DeepPartial<TResult>>
  | import("mercurius-codegen").DeepPartial<TResult>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & {
  [P in K]-?: NonNullable<T[P]>;
};
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: string;
  String: string;
  Boolean: boolean;
  Int: number;
  Float: number;
  /** An RFC 3339 timestamp; answers are in UTC with milliseconds (`2025-09-28T00:00:00.000Z`). */
  DateTime: string;
  /** A position in the global audit log, as a decimal string (`"42"`). Revisions only grow. */
  Revision: string;
  /** Any JSON value: the `data` of an audit event, exactly as it was hashed. */
  JSON: Record<string, unknown>;
  _FieldSet: any;
};

/** A user's plan. Consumer plans (`free`, `pro`, `max`) are covered by the policy; the others are commercial and never used for training. */
export type Plan =
  /** Consumer plan. */
  | "free"
  /** Consumer plan. */
  | "pro"
  /** Consumer plan. */
  | "max"
  /** Commercial plan. */
  | "team"
  /** Commercial plan. */
  | "enterprise"
  /** Commercial plan. */
  | "api"
  /** Commercial plan. */
  | "education"
  /** Commercial plan. */
  | "government";

/** A training choice. */
export type Choice =
  /** Chats may be used for training. */
  | "granted"
  /** Chats may not be used for training. */
  | "denied";

/** Where a choice was made or terms were accepted. */
export type Surface =
  /** A web browser. */
  | "web"
  /** A desktop application. */
  | "desktop"
  /** The iOS application. */
  | "ios"
  /** The Android application. */
  | "android"
  /** A command-line client. */
  | "cli"
  /** A client of the API. */
  | "api"
  /** Anywhere else. */
  | "other";

/** Why a consent is what it is. */
export type ConsentBasis =
  /** The user's own valid choice. */
  | "user_choice"
  /** No valid choice, and the decision deadline has passed: the policy's default applies. */
  | "default_after_deadline"
  /** No valid choice yet, before the decision deadline (effective `denied`). */
  | "undecided"
  /** The user's plan is commercial: never used for training. */
  | "commercial_plan"
  /** The user's plan was never set: never used for training (fail closed). */
  | "plan_unknown"
  /** No policy is in effect at that time. */
  | "no_policy_in_effect";

/** Why a chat is or is not eligible for training: the first rule of the decision table that matches. */
export type EligibilityReason =
  /** The chat is not registered (at that point): never eligible. */
  | "chat_not_found"
  /** The chat was deleted at or before that point. */
  | "chat_deleted"
  /** The chat is incognito. */
  | "incognito"
  /** The user's plan at that point is unknown. */
  | "plan_unknown"
  /** The user's plan at that point is commercial. */
  | "commercial_plan"
  /** No policy is in effect at that point. */
  | "no_policy_in_effect"
  /** The user's latest valid choice is `denied`. */
  | "opted_out"
  /** No valid choice, before the decision deadline. */
  | "undecided"
  /** No valid choice after the deadline, and the policy's default is `denied`. */
  | "default_denied"
  /** No activity of the chat since the consent began. */
  | "predates_consent"
  /** The chat's retention under a grant has run out. */
  | "retention_expired"
  /** Eligible: the user granted training. */
  | "user_choice"
  /** Eligible: the policy's default grant after the deadline. */
  | "default_after_deadline";

/** The kind of a chat flag. */
export type ChatFlagType =
  /** The chat was flagged for a policy violation (extends its retention). */
  "policy_violation";

/** Who wrote an audit event. */
export type ActorKind =
  /** A `consent:self` token acting on its own user. */
  | "user"
  /** Any other caller. */
  | "service";

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type Query = {
  __typename?: "Query";
  /** A user: plan, consent now and latest terms acceptance (`consent:read`, `consent:write`, or `consent:self` for its own user). Null when unknown. */
  user?: Maybe<User>;
  /** A user's training consent now, as of a time, or after a revision (as `user`). Null when the user is unknown. */
  trainingConsent?: Maybe<TrainingConsent>;
  /** A user's terms acceptances, newest first (as `user`); empty for an unknown user. */
  termsAcceptances: Array<TermsAcceptance>;
  /** A chat (as `user`, for the chat's owner). Null when unknown. */
  chat?: Maybe<Chat>;
  /** Whether a chat may be used for training (`training:read`). An unknown chat is not eligible (`chat_not_found`). */
  trainingEligibility: EligibilityDecision;
  /** Decisions for 1 to 10,000 chats at one point, in the order asked, duplicates allowed (`training:read`). */
  trainingEligibilityBatch: EligibilityBatch;
  /** Every terms version, ordered by `effectiveAt` (any valid token). */
  policies: Array<Policy>;
  /** One terms version (any valid token). Null when unknown. */
  policy?: Maybe<Policy>;
  /** A user's audit events (its hash chain) in revision order (`audit:read`, or `consent:self` for its own user). */
  auditEvents: AuditEventPage;
  /** The global change feed in revision order (`training:read`, `audit:read`). Follow `nextCursor`: every event is seen exactly once. */
  changeFeed: AuditEventPage;
  /** Consent across all users now, as of a time, or after a revision (`audit:read`): what the console overview shows. As REST `GET /v1/consent-statistics`. */
  consentStatistics: ConsentStatistics;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QueryuserArgs = {
  userId: Scalars["ID"];
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerytrainingConsentArgs = {
  userId: Scalars["ID"];
  asOf?: InputMaybe<Scalars["DateTime"]>;
  atRevision?: InputMaybe<Scalars["Revision"]>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerytermsAcceptancesArgs = {
  userId: Scalars["ID"];
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerychatArgs = {
  chatId: Scalars["ID"];
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerytrainingEligibilityArgs = {
  chatId: Scalars["ID"];
  asOf?: InputMaybe<Scalars["DateTime"]>;
  atRevision?: InputMaybe<Scalars["Revision"]>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerytrainingEligibilityBatchArgs = {
  chatIds: Array<Scalars["ID"]>;
  asOf?: InputMaybe<Scalars["DateTime"]>;
  atRevision?: InputMaybe<Scalars["Revision"]>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerypoliciesArgs = {
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerypolicyArgs = {
  version: Scalars["String"];
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QueryauditEventsArgs = {
  userId: Scalars["ID"];
  after?: InputMaybe<Scalars["Revision"]>;
  first?: InputMaybe<Scalars["Int"]>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QuerychangeFeedArgs = {
  after?: InputMaybe<Scalars["Revision"]>;
  first?: InputMaybe<Scalars["Int"]>;
  types?: InputMaybe<Array<Scalars["String"]>>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Reads. Each field needs the scope its REST operation needs. A field asked with `minRevision` reads
 * at that revision or a later one, and so do the fields nested under it.
 */
export type QueryconsentStatisticsArgs = {
  asOf?: InputMaybe<Scalars["DateTime"]>;
  atRevision?: InputMaybe<Scalars["Revision"]>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type Mutation = {
  __typename?: "Mutation";
  /** Record a user's training choice (`consent:write`, or `consent:self` for its own user). With `ifMatch`, refused (`PRECONDITION_FAILED`) when the consent changed since it was read. */
  setTrainingConsent: TrainingConsent;
  /** Record that a user accepted a terms version, what the pop-up showed, and the choice made (as `setTrainingConsent`). */
  acceptTerms: TermsAcceptance;
  /** Set a user's plan; audited and dated (`consent:write`). */
  setPlan: User;
  /** Register a chat, or confirm its registration; `userId`, `incognito` and `createdAt` never change (`consent:write`, or `consent:self` for its own user). */
  registerChat: Chat;
  /** Report that a chat was used (created or resumed) at `at`, default now, at most 5 minutes ahead. Not audited (as `registerChat`). */
  reportChatActivity: Scalars["Boolean"];
  /** Delete a chat: never used for training from now on (as `registerChat`). */
  deleteChat: Chat;
  /** Flag a chat for a policy violation, which extends its retention (`consent:write`). */
  flagChat: Chat;
  /** Add a terms version that takes effect in the future (`admin`). Versions are unique; policies are never edited. */
  createPolicy: Policy;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationsetTrainingConsentArgs = {
  userId: Scalars["ID"];
  choice: Choice;
  surface: Surface;
  ifMatch?: InputMaybe<Scalars["String"]>;
  idempotencyKey?: InputMaybe<Scalars["String"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationacceptTermsArgs = {
  userId: Scalars["ID"];
  input: TermsAcceptanceInput;
  idempotencyKey?: InputMaybe<Scalars["String"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationsetPlanArgs = {
  userId: Scalars["ID"];
  plan: Plan;
  idempotencyKey?: InputMaybe<Scalars["String"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationregisterChatArgs = {
  chatId: Scalars["ID"];
  userId: Scalars["ID"];
  createdAt?: InputMaybe<Scalars["DateTime"]>;
  incognito?: InputMaybe<Scalars["Boolean"]>;
  idempotencyKey?: InputMaybe<Scalars["String"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationreportChatActivityArgs = {
  chatId: Scalars["ID"];
  at?: InputMaybe<Scalars["DateTime"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationdeleteChatArgs = {
  chatId: Scalars["ID"];
  idempotencyKey?: InputMaybe<Scalars["String"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationflagChatArgs = {
  chatId: Scalars["ID"];
  type: ChatFlagType;
  idempotencyKey?: InputMaybe<Scalars["String"]>;
};

/**
 * Writes. Each is audited like its REST operation and takes an `idempotencyKey` that behaves as the
 * `Idempotency-Key` header, in the same per-caller store: a retry with the same key and the same
 * request returns the first answer and writes nothing; the same key with another request is
 * `IDEMPOTENCY_KEY_REUSED`.
 */
export type MutationcreatePolicyArgs = {
  input: PolicyInput;
  idempotencyKey?: InputMaybe<Scalars["String"]>;
};

/** Live updates over WebSocket (`graphql-transport-ws`), authenticated at `connection_init`. */
export type Subscription = {
  __typename?: "Subscription";
  /** The user's consent as of each event that can change it (a choice, a plan change, a terms acceptance with a choice), even when unchanged (`consent:read`, `consent:write`, or `consent:self` for its own user). */
  trainingConsentChanged: TrainingConsent;
  /** Every audit event after `after` (default: from now), then every new one, exactly once and in revision order, whichever instance wrote it (`training:read`, `audit:read`). Ended with an error when the consumer is more than 10,000 events behind. */
  auditEvents: AuditEvent;
};

/** Live updates over WebSocket (`graphql-transport-ws`), authenticated at `connection_init`. */
export type SubscriptiontrainingConsentChangedArgs = {
  userId: Scalars["ID"];
};

/** Live updates over WebSocket (`graphql-transport-ws`), authenticated at `connection_init`. */
export type SubscriptionauditEventsArgs = {
  after?: InputMaybe<Scalars["Revision"]>;
  types?: InputMaybe<Array<Scalars["String"]>>;
};

/** A user: created on the first write about it. */
export type User = {
  __typename?: "User";
  /** The user's id. */
  userId: Scalars["ID"];
  /** The plan now; null when never set (never eligible). */
  plan?: Maybe<Plan>;
  /** When the user was first written about. */
  createdAt: Scalars["DateTime"];
  /** The training consent now, as of a time, or after a revision. */
  trainingConsent: TrainingConsent;
  /** The newest terms acceptance, or null. */
  latestTermsAcceptance?: Maybe<TermsAcceptance>;
  /** Every terms acceptance, newest first. */
  termsAcceptances: Array<TermsAcceptance>;
  /** The user's chats ordered by `chatId` (byte order). */
  chats: ChatPage;
  /** The user's audit events (`audit:read`, or `consent:self` for its own user). */
  auditEvents: AuditEventPage;
  /** The revision this was read at. */
  revision: Scalars["Revision"];
};

/** A user: created on the first write about it. */
export type UsertrainingConsentArgs = {
  asOf?: InputMaybe<Scalars["DateTime"]>;
  atRevision?: InputMaybe<Scalars["Revision"]>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/** A user: created on the first write about it. */
export type UserchatsArgs = {
  first?: InputMaybe<Scalars["Int"]>;
  after?: InputMaybe<Scalars["ID"]>;
};

/** A user: created on the first write about it. */
export type UserauditEventsArgs = {
  after?: InputMaybe<Scalars["Revision"]>;
  first?: InputMaybe<Scalars["Int"]>;
};

/** A user's training consent at a point, and what it means. */
export type TrainingConsent = {
  __typename?: "TrainingConsent";
  /** The user's id. */
  userId: Scalars["ID"];
  /** The plan at the point; null when never set. */
  plan?: Maybe<Plan>;
  /** The latest valid choice, or null. */
  choice?: Maybe<Choice>;
  /** When that choice was made. */
  choiceAt?: Maybe<Scalars["DateTime"]>;
  /** Where that choice was made. */
  choiceSurface?: Maybe<Surface>;
  /** What applies: the choice, the policy's default, or `denied`. */
  effective: Choice;
  /** Why `effective` is what it is. */
  basis: ConsentBasis;
  /** Whether a frontend should show the terms pop-up. */
  decisionRequired: Scalars["Boolean"];
  /** The policy in effect, or null. */
  policyVersion?: Maybe<Scalars["String"]>;
  /** That policy's decision deadline. */
  decisionDeadline?: Maybe<Scalars["DateTime"]>;
  /** How long chats are kept under `effective`. */
  retentionDays?: Maybe<Scalars["Int"]>;
  /** Start of the current continuous granted period; null when not granted. */
  consentSince?: Maybe<Scalars["DateTime"]>;
  /** The time the consent was evaluated at. */
  asOf: Scalars["DateTime"];
  /** The revision it was read at. */
  revision: Scalars["Revision"];
  /** The REST ETag: pass it as `ifMatch` to refuse a write when the consent changed since. */
  etag: Scalars["String"];
};

/** Evidence that a user accepted a terms version, and what the pop-up showed. */
export type TermsAcceptance = {
  __typename?: "TermsAcceptance";
  /** The acceptance's id. */
  acceptanceId: Scalars["ID"];
  /** The user's id. */
  userId: Scalars["ID"];
  /** The terms version accepted. */
  policyVersion: Scalars["String"];
  /** When the server recorded it. */
  acceptedAt: Scalars["DateTime"];
  /** Where it happened. */
  surface: Surface;
  /** The choice made with it, or null. */
  trainingChoice?: Maybe<Choice>;
  /** What the pop-up showed. */
  presentation: Presentation;
  /** The revision of its last audit event. */
  revision: Scalars["Revision"];
};

/** What the terms pop-up showed. */
export type Presentation = {
  __typename?: "Presentation";
  /** Whether the training toggle was pre-set to on. */
  trainingToggleDefault: Scalars["Boolean"];
  /** Whether the toggle was shown at all. */
  trainingToggleShown: Scalars["Boolean"];
  /** The pop-up's locale. */
  locale?: Maybe<Scalars["String"]>;
  /** The pop-up's variant. */
  uiVariant?: Maybe<Scalars["String"]>;
};

/** A chat reported by a frontend. */
export type Chat = {
  __typename?: "Chat";
  /** The chat's id. */
  chatId: Scalars["ID"];
  /** Its user's id. */
  userId: Scalars["ID"];
  /** When it began. */
  createdAt: Scalars["DateTime"];
  /** The latest activity reported. */
  lastActivityAt?: Maybe<Scalars["DateTime"]>;
  /** Whether it is incognito. */
  incognito: Scalars["Boolean"];
  /** When it was deleted, or null. */
  deletedAt?: Maybe<Scalars["DateTime"]>;
  /** Its flags. */
  flags: Array<ChatFlag>;
  /** The revision of its latest audited change. */
  revision: Scalars["Revision"];
  /** Its user. */
  user: User;
  /** Whether it may be used for training (`training:read`). */
  trainingEligibility: EligibilityDecision;
};

/** A chat reported by a frontend. */
export type ChattrainingEligibilityArgs = {
  asOf?: InputMaybe<Scalars["DateTime"]>;
  atRevision?: InputMaybe<Scalars["Revision"]>;
  minRevision?: InputMaybe<Scalars["Revision"]>;
};

/** A flag on a chat. */
export type ChatFlag = {
  __typename?: "ChatFlag";
  /** The flag's kind. */
  type: ChatFlagType;
  /** When it was flagged. */
  flaggedAt: Scalars["DateTime"];
};

/** A page of chats. */
export type ChatPage = {
  __typename?: "ChatPage";
  /** Chats ordered by chatId. */
  items: Array<Chat>;
  /** The last chatId of the page when there may be more, else null. */
  nextCursor?: Maybe<Scalars["ID"]>;
};

/** Whether a chat may be used for training at a point, and why. */
export type EligibilityDecision = {
  __typename?: "EligibilityDecision";
  /** The chat's id. */
  chatId: Scalars["ID"];
  /** Its user's id; null for an unknown chat. */
  userId?: Maybe<Scalars["ID"]>;
  /** Whether it may be used. */
  eligible: Scalars["Boolean"];
  /** The rule that decided. */
  reason: EligibilityReason;
  /** The policy in effect, or null. */
  policyVersion?: Maybe<Scalars["String"]>;
  /** Start of the granted period the point is in, or null. */
  consentSince?: Maybe<Scalars["DateTime"]>;
  /** Until when the chat may be kept, or null. */
  retentionUntil?: Maybe<Scalars["DateTime"]>;
  /** The time the decision was evaluated at. */
  asOf: Scalars["DateTime"];
  /** The revision it was read at: ask again with atRevision for the same answer. */
  revision: Scalars["Revision"];
};

/** Decisions for many chats at one point. */
export type EligibilityBatch = {
  __typename?: "EligibilityBatch";
  /** The time they were evaluated at. */
  asOf: Scalars["DateTime"];
  /** The revision they were read at. */
  revision: Scalars["Revision"];
  /** One decision per chatId asked, in the order asked. */
  results: Array<EligibilityDecision>;
};

/** A terms version. */
export type Policy = {
  __typename?: "Policy";
  /** The version. */
  version: Scalars["String"];
  /** When it takes effect. */
  effectiveAt: Scalars["DateTime"];
  /** Users must decide by then. */
  decisionDeadline: Scalars["DateTime"];
  /** What undecided users get after the deadline. */
  defaultChoice: Choice;
  /** Whether choices made before it took effect are ignored under it. */
  requiresReconsent: Scalars["Boolean"];
  /** How long chats are kept. */
  retention: PolicyRetention;
  /** The revision of its audit event. */
  revision: Scalars["Revision"];
};

/** How long chats are kept under a policy. */
export type PolicyRetention = {
  __typename?: "PolicyRetention";
  /** Days after the last activity when training is allowed. */
  grantedDays: Scalars["Int"];
  /** Days after the last activity otherwise. */
  deniedDays: Scalars["Int"];
  /** Days after a policy-violation flag, at least. */
  violationDays: Scalars["Int"];
};

/**
 * An entry of the append-only, hash-chained audit log. An event of an erased user is redacted: its
 * user, chat, data, actor and request are gone (null), its place in the chain and its hash stay.
 */
export type AuditEvent = {
  __typename?: "AuditEvent";
  /** Its position in the global log. */
  revision: Scalars["Revision"];
  /** Its id. */
  eventId: Scalars["ID"];
  /** What happened, e.g. `consent.choice_recorded`. */
  type: Scalars["String"];
  /** The user it is about; null for events about no user (policies). */
  userId?: Maybe<Scalars["ID"]>;
  /** The chat it is about; null when none (the hashed event then has no chatId key). */
  chatId?: Maybe<Scalars["ID"]>;
  /** What was recorded (null once redacted). */
  data?: Maybe<Scalars["JSON"]>;
  /** Who wrote it (null once redacted). */
  actor?: Maybe<Actor>;
  /** When it was recorded. */
  occurredAt: Scalars["DateTime"];
  /** The request that wrote it (null once redacted). */
  requestId?: Maybe<Scalars["String"]>;
  /** The hash of the previous event of the same chain (64 zeros for the first). */
  prevHash: Scalars["String"];
  /** Lowercase hex SHA-256 of the RFC 8785 JSON of the event without `hash` (for a redacted event, as it was before). */
  hash: Scalars["String"];
  /** True when the event's user was erased; null otherwise. */
  redacted?: Maybe<Scalars["Boolean"]>;
};

/** Who wrote an audit event. */
export type Actor = {
  __typename?: "Actor";
  /** The token's subject. */
  sub: Scalars["String"];
  /** Whether a user acted on itself. */
  kind: ActorKind;
};

/** A page of audit events. */
export type AuditEventPage = {
  __typename?: "AuditEventPage";
  /** Events in revision order. */
  items: Array<AuditEvent>;
  /** Where to continue: the global feed always sets it; a user's listing sets it to null once there are no more. */
  nextCursor?: Maybe<Scalars["Revision"]>;
};

/** A terms acceptance, as the REST body. */
export type TermsAcceptanceInput = {
  /** The terms version accepted (must exist). */
  policyVersion: Scalars["String"];
  /** Where it happened. */
  surface: Surface;
  /** The choice made with it, recorded atomically with it. */
  trainingChoice?: InputMaybe<Choice>;
  /** The plan, set with it. */
  plan?: InputMaybe<Plan>;
  /** What the pop-up showed. */
  presentation: PresentationInput;
};

/** What the terms pop-up showed. */
export type PresentationInput = {
  /** Whether the training toggle was pre-set to on. */
  trainingToggleDefault: Scalars["Boolean"];
  /** Whether the toggle was shown at all. */
  trainingToggleShown: Scalars["Boolean"];
  /** The pop-up's locale (1 to 35 characters). */
  locale?: InputMaybe<Scalars["String"]>;
  /** The pop-up's variant (1 to 128 characters). */
  uiVariant?: InputMaybe<Scalars["String"]>;
};

/** A new terms version, as the REST body. */
export type PolicyInput = {
  /** The version: a letter or digit, then A-Z a-z 0-9 . _ -. */
  version: Scalars["String"];
  /** When it takes effect: in the future. */
  effectiveAt: Scalars["DateTime"];
  /** Users must decide by then: not before effectiveAt. */
  decisionDeadline: Scalars["DateTime"];
  /** What undecided users get after the deadline. */
  defaultChoice: Choice;
  /** Whether choices made before it took effect are ignored under it. */
  requiresReconsent: Scalars["Boolean"];
  /** How long chats are kept. */
  retention: PolicyRetentionInput;
};

/** How long chats are kept under a policy: 0 to 36,500 days each. */
export type PolicyRetentionInput = {
  /** Days after the last activity when training is allowed. */
  grantedDays: Scalars["Int"];
  /** Days after the last activity otherwise. */
  deniedDays: Scalars["Int"];
  /** Days after a policy-violation flag, at least. */
  violationDays: Scalars["Int"];
};

/** How the grant a user's consent rests on was given: the evidence behind it. */
export type GrantEvidence =
  /** The user never chose: the policy's default applies after the deadline. */
  | "default_after_deadline"
  /** Granted in the terms pop-up, the training toggle shown and pre-set to on. */
  | "popup_toggle_preset_on"
  /** Granted in the terms pop-up, the toggle shown and pre-set to off: switched on by the user. */
  | "popup_toggle_preset_off"
  /** Granted in the terms pop-up without the toggle being shown. */
  | "popup_toggle_hidden"
  /** Granted outside the pop-up, through the consent endpoint (a settings page). */
  | "outside_popup";

/** Consent across all users at one point. */
export type ConsentStatistics = {
  __typename?: "ConsentStatistics";
  /** The time the rules were applied at. */
  asOf: Scalars["DateTime"];
  /** Every fact up to this revision counts. */
  revision: Scalars["Revision"];
  /** Users by plan and consent basis. */
  users: UserStatistics;
  /** The grants in force, by how they were given. */
  grantsInForce: GrantStatistics;
  /** Consent choices recorded up to the point, by UTC day of recording, surface and choice. */
  choicesPerDay: Array<DailyChoices>;
  /** Terms acceptances recorded up to the point, by what the pop-up showed. */
  termsAcceptances: AcceptanceStatistics;
};

/** Users known at the point. */
export type UserStatistics = {
  __typename?: "UserStatistics";
  /** How many. */
  total: Scalars["Int"];
  /** How many a frontend would show the terms pop-up to (`decisionRequired`). */
  decisionRequired: Scalars["Int"];
  /** By plan and consent basis, each user's consent as the consent read answers it. */
  byPlanAndBasis: Array<PlanBasisCount>;
};

/** Users with one plan and consent basis. */
export type PlanBasisCount = {
  __typename?: "PlanBasisCount";
  /** The plan; null when never set. */
  plan?: Maybe<Plan>;
  /** Why their consent is what it is. */
  basis: ConsentBasis;
  /** Their effective consent. */
  effective: Choice;
  /** How many. */
  count: Scalars["Int"];
};

/** The grants training relies on at the point. */
export type GrantStatistics = {
  __typename?: "GrantStatistics";
  /** Users whose consent is granted. */
  total: Scalars["Int"];
  /** By how the grant was given. */
  byEvidence: Array<GrantEvidenceCount>;
};

/** Grants in force given one way. */
export type GrantEvidenceCount = {
  __typename?: "GrantEvidenceCount";
  /** How they were given. */
  evidence: GrantEvidence;
  /** How many. */
  count: Scalars["Int"];
};

/** Consent choices of one UTC day, surface and choice. */
export type DailyChoices = {
  __typename?: "DailyChoices";
  /** The UTC day, YYYY-MM-DD. */
  day: Scalars["String"];
  /** Where they were made. */
  surface: Surface;
  /** The choice. */
  choice: Choice;
  /** How many. */
  count: Scalars["Int"];
};

/** Terms acceptances by what the pop-up showed. */
export type AcceptanceStatistics = {
  __typename?: "AcceptanceStatistics";
  /** Every acceptance up to the point. */
  total: Scalars["Int"];
  /** By surface, pop-up variant and toggle, the largest groups first. */
  groups: Array<AcceptanceGroup>;
  /** Groups beyond the 1,000 largest, left out. */
  omittedGroups: Scalars["Int"];
};

/** Terms acceptances that showed the same pop-up on the same surface, and the choices made in them. */
export type AcceptanceGroup = {
  __typename?: "AcceptanceGroup";
  /** Where they happened. */
  surface: Surface;
  /** The pop-up's variant; null when not given. */
  uiVariant?: Maybe<Scalars["String"]>;
  /** Whether the training toggle was shown. */
  trainingToggleShown: Scalars["Boolean"];
  /** Whether it was pre-set to on. */
  trainingToggleDefault: Scalars["Boolean"];
  /** Acceptances that granted training. */
  granted: Scalars["Int"];
  /** Acceptances that denied it. */
  denied: Scalars["Int"];
  /** Acceptances without a choice. */
  withoutChoice: Scalars["Int"];
};

export type ResolverTypeWrapper<T> = Promise<T> | T;

export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = {}, TContext = {}, TArgs = {}> =
  | ResolverFn<TResult, TParent, TContext, TArgs>
  | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<
  TResult,
  TKey extends string,
  TParent,
  TContext,
  TArgs,
> {
  subscribe: SubscriptionSubscribeFn<
    { [key in TKey]: TResult },
    TParent,
    TContext,
    TArgs
  >;
  resolve?: SubscriptionResolveFn<
    TResult,
    { [key in TKey]: TResult },
    TContext,
    TArgs
  >;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<
  TResult,
  TKey extends string,
  TParent,
  TContext,
  TArgs,
> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<
  TResult,
  TKey extends string,
  TParent = {},
  TContext = {},
  TArgs = {},
> =
  | ((
      ...args: any[]
    ) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = {}, TContext = {}> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo,
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = {}, TContext = {}> = (
  obj: T,
  context: TContext,
  info: GraphQLResolveInfo,
) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<
  TResult = {},
  TParent = {},
  TContext = {},
  TArgs = {},
> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => TResult | Promise<TResult>;

/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  DateTime: ResolverTypeWrapper<Scalars["DateTime"]>;
  Revision: ResolverTypeWrapper<Scalars["Revision"]>;
  JSON: ResolverTypeWrapper<Scalars["JSON"]>;
  Plan: Plan;
  Choice: Choice;
  Surface: Surface;
  ConsentBasis: ConsentBasis;
  EligibilityReason: EligibilityReason;
  ChatFlagType: ChatFlagType;
  ActorKind: ActorKind;
  Query: ResolverTypeWrapper<{}>;
  ID: ResolverTypeWrapper<Scalars["ID"]>;
  String: ResolverTypeWrapper<Scalars["String"]>;
  Int: ResolverTypeWrapper<Scalars["Int"]>;
  Mutation: ResolverTypeWrapper<{}>;
  Boolean: ResolverTypeWrapper<Scalars["Boolean"]>;
  Subscription: ResolverTypeWrapper<{}>;
  User: ResolverTypeWrapper<UserView>;
  TrainingConsent: ResolverTypeWrapper<ConsentRead>;
  TermsAcceptance: ResolverTypeWrapper<TermsAcceptanceView>;
  Presentation: ResolverTypeWrapper<Presentation>;
  Chat: ResolverTypeWrapper<ChatView>;
  ChatFlag: ResolverTypeWrapper<ChatFlag>;
  ChatPage: ResolverTypeWrapper<
    Omit<ChatPage, "items"> & { items: Array<ResolversTypes["Chat"]> }
  >;
  EligibilityDecision: ResolverTypeWrapper<DecisionView>;
  EligibilityBatch: ResolverTypeWrapper<
    Omit<EligibilityBatch, "results"> & {
      results: Array<ResolversTypes["EligibilityDecision"]>;
    }
  >;
  Policy: ResolverTypeWrapper<PolicyView>;
  PolicyRetention: ResolverTypeWrapper<PolicyRetention>;
  AuditEvent: ResolverTypeWrapper<LoggedEvent>;
  Actor: ResolverTypeWrapper<Actor>;
  AuditEventPage: ResolverTypeWrapper<
    Omit<AuditEventPage, "items"> & {
      items: Array<ResolversTypes["AuditEvent"]>;
    }
  >;
  TermsAcceptanceInput: TermsAcceptanceInput;
  PresentationInput: PresentationInput;
  PolicyInput: PolicyInput;
  PolicyRetentionInput: PolicyRetentionInput;
  GrantEvidence: GrantEvidence;
  ConsentStatistics: ResolverTypeWrapper<ConsentStatistics>;
  UserStatistics: ResolverTypeWrapper<UserStatistics>;
  PlanBasisCount: ResolverTypeWrapper<PlanBasisCount>;
  GrantStatistics: ResolverTypeWrapper<GrantStatistics>;
  GrantEvidenceCount: ResolverTypeWrapper<GrantEvidenceCount>;
  DailyChoices: ResolverTypeWrapper<DailyChoices>;
  AcceptanceStatistics: ResolverTypeWrapper<AcceptanceStatistics>;
  AcceptanceGroup: ResolverTypeWrapper<AcceptanceGroup>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  DateTime: Scalars["DateTime"];
  Revision: Scalars["Revision"];
  JSON: Scalars["JSON"];
  Query: {};
  ID: Scalars["ID"];
  String: Scalars["String"];
  Int: Scalars["Int"];
  Mutation: {};
  Boolean: Scalars["Boolean"];
  Subscription: {};
  User: UserView;
  TrainingConsent: ConsentRead;
  TermsAcceptance: TermsAcceptanceView;
  Presentation: Presentation;
  Chat: ChatView;
  ChatFlag: ChatFlag;
  ChatPage: Omit<ChatPage, "items"> & {
    items: Array<ResolversParentTypes["Chat"]>;
  };
  EligibilityDecision: DecisionView;
  EligibilityBatch: Omit<EligibilityBatch, "results"> & {
    results: Array<ResolversParentTypes["EligibilityDecision"]>;
  };
  Policy: PolicyView;
  PolicyRetention: PolicyRetention;
  AuditEvent: LoggedEvent;
  Actor: Actor;
  AuditEventPage: Omit<AuditEventPage, "items"> & {
    items: Array<ResolversParentTypes["AuditEvent"]>;
  };
  TermsAcceptanceInput: TermsAcceptanceInput;
  PresentationInput: PresentationInput;
  PolicyInput: PolicyInput;
  PolicyRetentionInput: PolicyRetentionInput;
  ConsentStatistics: ConsentStatistics;
  UserStatistics: UserStatistics;
  PlanBasisCount: PlanBasisCount;
  GrantStatistics: GrantStatistics;
  GrantEvidenceCount: GrantEvidenceCount;
  DailyChoices: DailyChoices;
  AcceptanceStatistics: AcceptanceStatistics;
  AcceptanceGroup: AcceptanceGroup;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<
  ResolversTypes["DateTime"],
  any
> {
  name: "DateTime";
}

export interface RevisionScalarConfig extends GraphQLScalarTypeConfig<
  ResolversTypes["Revision"],
  any
> {
  name: "Revision";
}

export interface JSONScalarConfig extends GraphQLScalarTypeConfig<
  ResolversTypes["JSON"],
  any
> {
  name: "JSON";
}

export type QueryResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["Query"] =
    ResolversParentTypes["Query"],
> = {
  user?: Resolver<
    Maybe<ResolversTypes["User"]>,
    ParentType,
    ContextType,
    RequireFields<QueryuserArgs, "userId">
  >;
  trainingConsent?: Resolver<
    Maybe<ResolversTypes["TrainingConsent"]>,
    ParentType,
    ContextType,
    RequireFields<QuerytrainingConsentArgs, "userId">
  >;
  termsAcceptances?: Resolver<
    Array<ResolversTypes["TermsAcceptance"]>,
    ParentType,
    ContextType,
    RequireFields<QuerytermsAcceptancesArgs, "userId">
  >;
  chat?: Resolver<
    Maybe<ResolversTypes["Chat"]>,
    ParentType,
    ContextType,
    RequireFields<QuerychatArgs, "chatId">
  >;
  trainingEligibility?: Resolver<
    ResolversTypes["EligibilityDecision"],
    ParentType,
    ContextType,
    RequireFields<QuerytrainingEligibilityArgs, "chatId">
  >;
  trainingEligibilityBatch?: Resolver<
    ResolversTypes["EligibilityBatch"],
    ParentType,
    ContextType,
    RequireFields<QuerytrainingEligibilityBatchArgs, "chatIds">
  >;
  policies?: Resolver<
    Array<ResolversTypes["Policy"]>,
    ParentType,
    ContextType,
    Partial<QuerypoliciesArgs>
  >;
  policy?: Resolver<
    Maybe<ResolversTypes["Policy"]>,
    ParentType,
    ContextType,
    RequireFields<QuerypolicyArgs, "version">
  >;
  auditEvents?: Resolver<
    ResolversTypes["AuditEventPage"],
    ParentType,
    ContextType,
    RequireFields<QueryauditEventsArgs, "userId">
  >;
  changeFeed?: Resolver<
    ResolversTypes["AuditEventPage"],
    ParentType,
    ContextType,
    Partial<QuerychangeFeedArgs>
  >;
  consentStatistics?: Resolver<
    ResolversTypes["ConsentStatistics"],
    ParentType,
    ContextType,
    Partial<QueryconsentStatisticsArgs>
  >;
};

export type MutationResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["Mutation"] =
    ResolversParentTypes["Mutation"],
> = {
  setTrainingConsent?: Resolver<
    ResolversTypes["TrainingConsent"],
    ParentType,
    ContextType,
    RequireFields<
      MutationsetTrainingConsentArgs,
      "userId" | "choice" | "surface"
    >
  >;
  acceptTerms?: Resolver<
    ResolversTypes["TermsAcceptance"],
    ParentType,
    ContextType,
    RequireFields<MutationacceptTermsArgs, "userId" | "input">
  >;
  setPlan?: Resolver<
    ResolversTypes["User"],
    ParentType,
    ContextType,
    RequireFields<MutationsetPlanArgs, "userId" | "plan">
  >;
  registerChat?: Resolver<
    ResolversTypes["Chat"],
    ParentType,
    ContextType,
    RequireFields<MutationregisterChatArgs, "chatId" | "userId">
  >;
  reportChatActivity?: Resolver<
    ResolversTypes["Boolean"],
    ParentType,
    ContextType,
    RequireFields<MutationreportChatActivityArgs, "chatId">
  >;
  deleteChat?: Resolver<
    ResolversTypes["Chat"],
    ParentType,
    ContextType,
    RequireFields<MutationdeleteChatArgs, "chatId">
  >;
  flagChat?: Resolver<
    ResolversTypes["Chat"],
    ParentType,
    ContextType,
    RequireFields<MutationflagChatArgs, "chatId" | "type">
  >;
  createPolicy?: Resolver<
    ResolversTypes["Policy"],
    ParentType,
    ContextType,
    RequireFields<MutationcreatePolicyArgs, "input">
  >;
};

export type SubscriptionResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["Subscription"] =
    ResolversParentTypes["Subscription"],
> = {
  trainingConsentChanged?: SubscriptionResolver<
    ResolversTypes["TrainingConsent"],
    "trainingConsentChanged",
    ParentType,
    ContextType,
    RequireFields<SubscriptiontrainingConsentChangedArgs, "userId">
  >;
  auditEvents?: SubscriptionResolver<
    ResolversTypes["AuditEvent"],
    "auditEvents",
    ParentType,
    ContextType,
    Partial<SubscriptionauditEventsArgs>
  >;
};

export type UserResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["User"] =
    ResolversParentTypes["User"],
> = {
  userId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  plan?: Resolver<Maybe<ResolversTypes["Plan"]>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  trainingConsent?: Resolver<
    ResolversTypes["TrainingConsent"],
    ParentType,
    ContextType,
    Partial<UsertrainingConsentArgs>
  >;
  latestTermsAcceptance?: Resolver<
    Maybe<ResolversTypes["TermsAcceptance"]>,
    ParentType,
    ContextType
  >;
  termsAcceptances?: Resolver<
    Array<ResolversTypes["TermsAcceptance"]>,
    ParentType,
    ContextType
  >;
  chats?: Resolver<
    ResolversTypes["ChatPage"],
    ParentType,
    ContextType,
    Partial<UserchatsArgs>
  >;
  auditEvents?: Resolver<
    ResolversTypes["AuditEventPage"],
    ParentType,
    ContextType,
    Partial<UserauditEventsArgs>
  >;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type TrainingConsentResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["TrainingConsent"] =
    ResolversParentTypes["TrainingConsent"],
> = {
  userId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  plan?: Resolver<Maybe<ResolversTypes["Plan"]>, ParentType, ContextType>;
  choice?: Resolver<Maybe<ResolversTypes["Choice"]>, ParentType, ContextType>;
  choiceAt?: Resolver<
    Maybe<ResolversTypes["DateTime"]>,
    ParentType,
    ContextType
  >;
  choiceSurface?: Resolver<
    Maybe<ResolversTypes["Surface"]>,
    ParentType,
    ContextType
  >;
  effective?: Resolver<ResolversTypes["Choice"], ParentType, ContextType>;
  basis?: Resolver<ResolversTypes["ConsentBasis"], ParentType, ContextType>;
  decisionRequired?: Resolver<
    ResolversTypes["Boolean"],
    ParentType,
    ContextType
  >;
  policyVersion?: Resolver<
    Maybe<ResolversTypes["String"]>,
    ParentType,
    ContextType
  >;
  decisionDeadline?: Resolver<
    Maybe<ResolversTypes["DateTime"]>,
    ParentType,
    ContextType
  >;
  retentionDays?: Resolver<
    Maybe<ResolversTypes["Int"]>,
    ParentType,
    ContextType
  >;
  consentSince?: Resolver<
    Maybe<ResolversTypes["DateTime"]>,
    ParentType,
    ContextType
  >;
  asOf?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  etag?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type TermsAcceptanceResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["TermsAcceptance"] =
    ResolversParentTypes["TermsAcceptance"],
> = {
  acceptanceId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  userId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  policyVersion?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  acceptedAt?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  surface?: Resolver<ResolversTypes["Surface"], ParentType, ContextType>;
  trainingChoice?: Resolver<
    Maybe<ResolversTypes["Choice"]>,
    ParentType,
    ContextType
  >;
  presentation?: Resolver<
    ResolversTypes["Presentation"],
    ParentType,
    ContextType
  >;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type PresentationResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["Presentation"] =
    ResolversParentTypes["Presentation"],
> = {
  trainingToggleDefault?: Resolver<
    ResolversTypes["Boolean"],
    ParentType,
    ContextType
  >;
  trainingToggleShown?: Resolver<
    ResolversTypes["Boolean"],
    ParentType,
    ContextType
  >;
  locale?: Resolver<Maybe<ResolversTypes["String"]>, ParentType, ContextType>;
  uiVariant?: Resolver<
    Maybe<ResolversTypes["String"]>,
    ParentType,
    ContextType
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type ChatResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["Chat"] =
    ResolversParentTypes["Chat"],
> = {
  chatId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  userId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  lastActivityAt?: Resolver<
    Maybe<ResolversTypes["DateTime"]>,
    ParentType,
    ContextType
  >;
  incognito?: Resolver<ResolversTypes["Boolean"], ParentType, ContextType>;
  deletedAt?: Resolver<
    Maybe<ResolversTypes["DateTime"]>,
    ParentType,
    ContextType
  >;
  flags?: Resolver<Array<ResolversTypes["ChatFlag"]>, ParentType, ContextType>;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  user?: Resolver<ResolversTypes["User"], ParentType, ContextType>;
  trainingEligibility?: Resolver<
    ResolversTypes["EligibilityDecision"],
    ParentType,
    ContextType,
    Partial<ChattrainingEligibilityArgs>
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type ChatFlagResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["ChatFlag"] =
    ResolversParentTypes["ChatFlag"],
> = {
  type?: Resolver<ResolversTypes["ChatFlagType"], ParentType, ContextType>;
  flaggedAt?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type ChatPageResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["ChatPage"] =
    ResolversParentTypes["ChatPage"],
> = {
  items?: Resolver<Array<ResolversTypes["Chat"]>, ParentType, ContextType>;
  nextCursor?: Resolver<Maybe<ResolversTypes["ID"]>, ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type EligibilityDecisionResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["EligibilityDecision"] =
    ResolversParentTypes["EligibilityDecision"],
> = {
  chatId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  userId?: Resolver<Maybe<ResolversTypes["ID"]>, ParentType, ContextType>;
  eligible?: Resolver<ResolversTypes["Boolean"], ParentType, ContextType>;
  reason?: Resolver<
    ResolversTypes["EligibilityReason"],
    ParentType,
    ContextType
  >;
  policyVersion?: Resolver<
    Maybe<ResolversTypes["String"]>,
    ParentType,
    ContextType
  >;
  consentSince?: Resolver<
    Maybe<ResolversTypes["DateTime"]>,
    ParentType,
    ContextType
  >;
  retentionUntil?: Resolver<
    Maybe<ResolversTypes["DateTime"]>,
    ParentType,
    ContextType
  >;
  asOf?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type EligibilityBatchResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["EligibilityBatch"] =
    ResolversParentTypes["EligibilityBatch"],
> = {
  asOf?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  results?: Resolver<
    Array<ResolversTypes["EligibilityDecision"]>,
    ParentType,
    ContextType
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type PolicyResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["Policy"] =
    ResolversParentTypes["Policy"],
> = {
  version?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  effectiveAt?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  decisionDeadline?: Resolver<
    ResolversTypes["DateTime"],
    ParentType,
    ContextType
  >;
  defaultChoice?: Resolver<ResolversTypes["Choice"], ParentType, ContextType>;
  requiresReconsent?: Resolver<
    ResolversTypes["Boolean"],
    ParentType,
    ContextType
  >;
  retention?: Resolver<
    ResolversTypes["PolicyRetention"],
    ParentType,
    ContextType
  >;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type PolicyRetentionResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["PolicyRetention"] =
    ResolversParentTypes["PolicyRetention"],
> = {
  grantedDays?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  deniedDays?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  violationDays?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type AuditEventResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["AuditEvent"] =
    ResolversParentTypes["AuditEvent"],
> = {
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  eventId?: Resolver<ResolversTypes["ID"], ParentType, ContextType>;
  type?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  userId?: Resolver<Maybe<ResolversTypes["ID"]>, ParentType, ContextType>;
  chatId?: Resolver<Maybe<ResolversTypes["ID"]>, ParentType, ContextType>;
  data?: Resolver<Maybe<ResolversTypes["JSON"]>, ParentType, ContextType>;
  actor?: Resolver<Maybe<ResolversTypes["Actor"]>, ParentType, ContextType>;
  occurredAt?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  requestId?: Resolver<
    Maybe<ResolversTypes["String"]>,
    ParentType,
    ContextType
  >;
  prevHash?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  hash?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  redacted?: Resolver<
    Maybe<ResolversTypes["Boolean"]>,
    ParentType,
    ContextType
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type ActorResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["Actor"] =
    ResolversParentTypes["Actor"],
> = {
  sub?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes["ActorKind"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type AuditEventPageResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["AuditEventPage"] =
    ResolversParentTypes["AuditEventPage"],
> = {
  items?: Resolver<
    Array<ResolversTypes["AuditEvent"]>,
    ParentType,
    ContextType
  >;
  nextCursor?: Resolver<
    Maybe<ResolversTypes["Revision"]>,
    ParentType,
    ContextType
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type ConsentStatisticsResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["ConsentStatistics"] =
    ResolversParentTypes["ConsentStatistics"],
> = {
  asOf?: Resolver<ResolversTypes["DateTime"], ParentType, ContextType>;
  revision?: Resolver<ResolversTypes["Revision"], ParentType, ContextType>;
  users?: Resolver<ResolversTypes["UserStatistics"], ParentType, ContextType>;
  grantsInForce?: Resolver<
    ResolversTypes["GrantStatistics"],
    ParentType,
    ContextType
  >;
  choicesPerDay?: Resolver<
    Array<ResolversTypes["DailyChoices"]>,
    ParentType,
    ContextType
  >;
  termsAcceptances?: Resolver<
    ResolversTypes["AcceptanceStatistics"],
    ParentType,
    ContextType
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type UserStatisticsResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["UserStatistics"] =
    ResolversParentTypes["UserStatistics"],
> = {
  total?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  decisionRequired?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  byPlanAndBasis?: Resolver<
    Array<ResolversTypes["PlanBasisCount"]>,
    ParentType,
    ContextType
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type PlanBasisCountResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["PlanBasisCount"] =
    ResolversParentTypes["PlanBasisCount"],
> = {
  plan?: Resolver<Maybe<ResolversTypes["Plan"]>, ParentType, ContextType>;
  basis?: Resolver<ResolversTypes["ConsentBasis"], ParentType, ContextType>;
  effective?: Resolver<ResolversTypes["Choice"], ParentType, ContextType>;
  count?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type GrantStatisticsResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["GrantStatistics"] =
    ResolversParentTypes["GrantStatistics"],
> = {
  total?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  byEvidence?: Resolver<
    Array<ResolversTypes["GrantEvidenceCount"]>,
    ParentType,
    ContextType
  >;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type GrantEvidenceCountResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["GrantEvidenceCount"] =
    ResolversParentTypes["GrantEvidenceCount"],
> = {
  evidence?: Resolver<ResolversTypes["GrantEvidence"], ParentType, ContextType>;
  count?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type DailyChoicesResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["DailyChoices"] =
    ResolversParentTypes["DailyChoices"],
> = {
  day?: Resolver<ResolversTypes["String"], ParentType, ContextType>;
  surface?: Resolver<ResolversTypes["Surface"], ParentType, ContextType>;
  choice?: Resolver<ResolversTypes["Choice"], ParentType, ContextType>;
  count?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type AcceptanceStatisticsResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["AcceptanceStatistics"] =
    ResolversParentTypes["AcceptanceStatistics"],
> = {
  total?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  groups?: Resolver<
    Array<ResolversTypes["AcceptanceGroup"]>,
    ParentType,
    ContextType
  >;
  omittedGroups?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type AcceptanceGroupResolvers<
  ContextType = MercuriusContext,
  ParentType extends ResolversParentTypes["AcceptanceGroup"] =
    ResolversParentTypes["AcceptanceGroup"],
> = {
  surface?: Resolver<ResolversTypes["Surface"], ParentType, ContextType>;
  uiVariant?: Resolver<
    Maybe<ResolversTypes["String"]>,
    ParentType,
    ContextType
  >;
  trainingToggleShown?: Resolver<
    ResolversTypes["Boolean"],
    ParentType,
    ContextType
  >;
  trainingToggleDefault?: Resolver<
    ResolversTypes["Boolean"],
    ParentType,
    ContextType
  >;
  granted?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  denied?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  withoutChoice?: Resolver<ResolversTypes["Int"], ParentType, ContextType>;
  isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type Resolvers<ContextType = MercuriusContext> = {
  DateTime?: GraphQLScalarType;
  Revision?: GraphQLScalarType;
  JSON?: GraphQLScalarType;
  Query?: QueryResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
  TrainingConsent?: TrainingConsentResolvers<ContextType>;
  TermsAcceptance?: TermsAcceptanceResolvers<ContextType>;
  Presentation?: PresentationResolvers<ContextType>;
  Chat?: ChatResolvers<ContextType>;
  ChatFlag?: ChatFlagResolvers<ContextType>;
  ChatPage?: ChatPageResolvers<ContextType>;
  EligibilityDecision?: EligibilityDecisionResolvers<ContextType>;
  EligibilityBatch?: EligibilityBatchResolvers<ContextType>;
  Policy?: PolicyResolvers<ContextType>;
  PolicyRetention?: PolicyRetentionResolvers<ContextType>;
  AuditEvent?: AuditEventResolvers<ContextType>;
  Actor?: ActorResolvers<ContextType>;
  AuditEventPage?: AuditEventPageResolvers<ContextType>;
  ConsentStatistics?: ConsentStatisticsResolvers<ContextType>;
  UserStatistics?: UserStatisticsResolvers<ContextType>;
  PlanBasisCount?: PlanBasisCountResolvers<ContextType>;
  GrantStatistics?: GrantStatisticsResolvers<ContextType>;
  GrantEvidenceCount?: GrantEvidenceCountResolvers<ContextType>;
  DailyChoices?: DailyChoicesResolvers<ContextType>;
  AcceptanceStatistics?: AcceptanceStatisticsResolvers<ContextType>;
  AcceptanceGroup?: AcceptanceGroupResolvers<ContextType>;
};

export type Loader<TReturn, TObj, TParams, TContext> = (
  queries: Array<{
    obj: TObj;
    params: TParams;
  }>,
  context: TContext & {
    reply: import("fastify").FastifyReply;
  },
) => Promise<Array<import("mercurius-codegen").DeepPartial<TReturn>>>;
export type LoaderResolver<TReturn, TObj, TParams, TContext> =
  | Loader<TReturn, TObj, TParams, TContext>
  | {
      loader: Loader<TReturn, TObj, TParams, TContext>;
      opts?: {
        cache?: boolean;
      };
    };
export interface Loaders<
  TContext = import("mercurius").MercuriusContext & {
    reply: import("fastify").FastifyReply;
  },
> {
  User?: {
    userId?: LoaderResolver<Scalars["ID"], User, {}, TContext>;
    plan?: LoaderResolver<Maybe<Plan>, User, {}, TContext>;
    createdAt?: LoaderResolver<Scalars["DateTime"], User, {}, TContext>;
    trainingConsent?: LoaderResolver<
      TrainingConsent,
      User,
      UsertrainingConsentArgs,
      TContext
    >;
    latestTermsAcceptance?: LoaderResolver<
      Maybe<TermsAcceptance>,
      User,
      {},
      TContext
    >;
    termsAcceptances?: LoaderResolver<
      Array<TermsAcceptance>,
      User,
      {},
      TContext
    >;
    chats?: LoaderResolver<ChatPage, User, UserchatsArgs, TContext>;
    auditEvents?: LoaderResolver<
      AuditEventPage,
      User,
      UserauditEventsArgs,
      TContext
    >;
    revision?: LoaderResolver<Scalars["Revision"], User, {}, TContext>;
  };

  TrainingConsent?: {
    userId?: LoaderResolver<Scalars["ID"], TrainingConsent, {}, TContext>;
    plan?: LoaderResolver<Maybe<Plan>, TrainingConsent, {}, TContext>;
    choice?: LoaderResolver<Maybe<Choice>, TrainingConsent, {}, TContext>;
    choiceAt?: LoaderResolver<
      Maybe<Scalars["DateTime"]>,
      TrainingConsent,
      {},
      TContext
    >;
    choiceSurface?: LoaderResolver<
      Maybe<Surface>,
      TrainingConsent,
      {},
      TContext
    >;
    effective?: LoaderResolver<Choice, TrainingConsent, {}, TContext>;
    basis?: LoaderResolver<ConsentBasis, TrainingConsent, {}, TContext>;
    decisionRequired?: LoaderResolver<
      Scalars["Boolean"],
      TrainingConsent,
      {},
      TContext
    >;
    policyVersion?: LoaderResolver<
      Maybe<Scalars["String"]>,
      TrainingConsent,
      {},
      TContext
    >;
    decisionDeadline?: LoaderResolver<
      Maybe<Scalars["DateTime"]>,
      TrainingConsent,
      {},
      TContext
    >;
    retentionDays?: LoaderResolver<
      Maybe<Scalars["Int"]>,
      TrainingConsent,
      {},
      TContext
    >;
    consentSince?: LoaderResolver<
      Maybe<Scalars["DateTime"]>,
      TrainingConsent,
      {},
      TContext
    >;
    asOf?: LoaderResolver<Scalars["DateTime"], TrainingConsent, {}, TContext>;
    revision?: LoaderResolver<
      Scalars["Revision"],
      TrainingConsent,
      {},
      TContext
    >;
    etag?: LoaderResolver<Scalars["String"], TrainingConsent, {}, TContext>;
  };

  TermsAcceptance?: {
    acceptanceId?: LoaderResolver<Scalars["ID"], TermsAcceptance, {}, TContext>;
    userId?: LoaderResolver<Scalars["ID"], TermsAcceptance, {}, TContext>;
    policyVersion?: LoaderResolver<
      Scalars["String"],
      TermsAcceptance,
      {},
      TContext
    >;
    acceptedAt?: LoaderResolver<
      Scalars["DateTime"],
      TermsAcceptance,
      {},
      TContext
    >;
    surface?: LoaderResolver<Surface, TermsAcceptance, {}, TContext>;
    trainingChoice?: LoaderResolver<
      Maybe<Choice>,
      TermsAcceptance,
      {},
      TContext
    >;
    presentation?: LoaderResolver<Presentation, TermsAcceptance, {}, TContext>;
    revision?: LoaderResolver<
      Scalars["Revision"],
      TermsAcceptance,
      {},
      TContext
    >;
  };

  Presentation?: {
    trainingToggleDefault?: LoaderResolver<
      Scalars["Boolean"],
      Presentation,
      {},
      TContext
    >;
    trainingToggleShown?: LoaderResolver<
      Scalars["Boolean"],
      Presentation,
      {},
      TContext
    >;
    locale?: LoaderResolver<
      Maybe<Scalars["String"]>,
      Presentation,
      {},
      TContext
    >;
    uiVariant?: LoaderResolver<
      Maybe<Scalars["String"]>,
      Presentation,
      {},
      TContext
    >;
  };

  Chat?: {
    chatId?: LoaderResolver<Scalars["ID"], Chat, {}, TContext>;
    userId?: LoaderResolver<Scalars["ID"], Chat, {}, TContext>;
    createdAt?: LoaderResolver<Scalars["DateTime"], Chat, {}, TContext>;
    lastActivityAt?: LoaderResolver<
      Maybe<Scalars["DateTime"]>,
      Chat,
      {},
      TContext
    >;
    incognito?: LoaderResolver<Scalars["Boolean"], Chat, {}, TContext>;
    deletedAt?: LoaderResolver<Maybe<Scalars["DateTime"]>, Chat, {}, TContext>;
    flags?: LoaderResolver<Array<ChatFlag>, Chat, {}, TContext>;
    revision?: LoaderResolver<Scalars["Revision"], Chat, {}, TContext>;
    user?: LoaderResolver<User, Chat, {}, TContext>;
    trainingEligibility?: LoaderResolver<
      EligibilityDecision,
      Chat,
      ChattrainingEligibilityArgs,
      TContext
    >;
  };

  ChatFlag?: {
    type?: LoaderResolver<ChatFlagType, ChatFlag, {}, TContext>;
    flaggedAt?: LoaderResolver<Scalars["DateTime"], ChatFlag, {}, TContext>;
  };

  ChatPage?: {
    items?: LoaderResolver<Array<Chat>, ChatPage, {}, TContext>;
    nextCursor?: LoaderResolver<Maybe<Scalars["ID"]>, ChatPage, {}, TContext>;
  };

  EligibilityDecision?: {
    chatId?: LoaderResolver<Scalars["ID"], EligibilityDecision, {}, TContext>;
    userId?: LoaderResolver<
      Maybe<Scalars["ID"]>,
      EligibilityDecision,
      {},
      TContext
    >;
    eligible?: LoaderResolver<
      Scalars["Boolean"],
      EligibilityDecision,
      {},
      TContext
    >;
    reason?: LoaderResolver<
      EligibilityReason,
      EligibilityDecision,
      {},
      TContext
    >;
    policyVersion?: LoaderResolver<
      Maybe<Scalars["String"]>,
      EligibilityDecision,
      {},
      TContext
    >;
    consentSince?: LoaderResolver<
      Maybe<Scalars["DateTime"]>,
      EligibilityDecision,
      {},
      TContext
    >;
    retentionUntil?: LoaderResolver<
      Maybe<Scalars["DateTime"]>,
      EligibilityDecision,
      {},
      TContext
    >;
    asOf?: LoaderResolver<
      Scalars["DateTime"],
      EligibilityDecision,
      {},
      TContext
    >;
    revision?: LoaderResolver<
      Scalars["Revision"],
      EligibilityDecision,
      {},
      TContext
    >;
  };

  EligibilityBatch?: {
    asOf?: LoaderResolver<Scalars["DateTime"], EligibilityBatch, {}, TContext>;
    revision?: LoaderResolver<
      Scalars["Revision"],
      EligibilityBatch,
      {},
      TContext
    >;
    results?: LoaderResolver<
      Array<EligibilityDecision>,
      EligibilityBatch,
      {},
      TContext
    >;
  };

  Policy?: {
    version?: LoaderResolver<Scalars["String"], Policy, {}, TContext>;
    effectiveAt?: LoaderResolver<Scalars["DateTime"], Policy, {}, TContext>;
    decisionDeadline?: LoaderResolver<
      Scalars["DateTime"],
      Policy,
      {},
      TContext
    >;
    defaultChoice?: LoaderResolver<Choice, Policy, {}, TContext>;
    requiresReconsent?: LoaderResolver<
      Scalars["Boolean"],
      Policy,
      {},
      TContext
    >;
    retention?: LoaderResolver<PolicyRetention, Policy, {}, TContext>;
    revision?: LoaderResolver<Scalars["Revision"], Policy, {}, TContext>;
  };

  PolicyRetention?: {
    grantedDays?: LoaderResolver<Scalars["Int"], PolicyRetention, {}, TContext>;
    deniedDays?: LoaderResolver<Scalars["Int"], PolicyRetention, {}, TContext>;
    violationDays?: LoaderResolver<
      Scalars["Int"],
      PolicyRetention,
      {},
      TContext
    >;
  };

  AuditEvent?: {
    revision?: LoaderResolver<Scalars["Revision"], AuditEvent, {}, TContext>;
    eventId?: LoaderResolver<Scalars["ID"], AuditEvent, {}, TContext>;
    type?: LoaderResolver<Scalars["String"], AuditEvent, {}, TContext>;
    userId?: LoaderResolver<Maybe<Scalars["ID"]>, AuditEvent, {}, TContext>;
    chatId?: LoaderResolver<Maybe<Scalars["ID"]>, AuditEvent, {}, TContext>;
    data?: LoaderResolver<Maybe<Scalars["JSON"]>, AuditEvent, {}, TContext>;
    actor?: LoaderResolver<Maybe<Actor>, AuditEvent, {}, TContext>;
    occurredAt?: LoaderResolver<Scalars["DateTime"], AuditEvent, {}, TContext>;
    requestId?: LoaderResolver<
      Maybe<Scalars["String"]>,
      AuditEvent,
      {},
      TContext
    >;
    prevHash?: LoaderResolver<Scalars["String"], AuditEvent, {}, TContext>;
    hash?: LoaderResolver<Scalars["String"], AuditEvent, {}, TContext>;
    redacted?: LoaderResolver<
      Maybe<Scalars["Boolean"]>,
      AuditEvent,
      {},
      TContext
    >;
  };

  Actor?: {
    sub?: LoaderResolver<Scalars["String"], Actor, {}, TContext>;
    kind?: LoaderResolver<ActorKind, Actor, {}, TContext>;
  };

  AuditEventPage?: {
    items?: LoaderResolver<Array<AuditEvent>, AuditEventPage, {}, TContext>;
    nextCursor?: LoaderResolver<
      Maybe<Scalars["Revision"]>,
      AuditEventPage,
      {},
      TContext
    >;
  };

  ConsentStatistics?: {
    asOf?: LoaderResolver<Scalars["DateTime"], ConsentStatistics, {}, TContext>;
    revision?: LoaderResolver<
      Scalars["Revision"],
      ConsentStatistics,
      {},
      TContext
    >;
    users?: LoaderResolver<UserStatistics, ConsentStatistics, {}, TContext>;
    grantsInForce?: LoaderResolver<
      GrantStatistics,
      ConsentStatistics,
      {},
      TContext
    >;
    choicesPerDay?: LoaderResolver<
      Array<DailyChoices>,
      ConsentStatistics,
      {},
      TContext
    >;
    termsAcceptances?: LoaderResolver<
      AcceptanceStatistics,
      ConsentStatistics,
      {},
      TContext
    >;
  };

  UserStatistics?: {
    total?: LoaderResolver<Scalars["Int"], UserStatistics, {}, TContext>;
    decisionRequired?: LoaderResolver<
      Scalars["Int"],
      UserStatistics,
      {},
      TContext
    >;
    byPlanAndBasis?: LoaderResolver<
      Array<PlanBasisCount>,
      UserStatistics,
      {},
      TContext
    >;
  };

  PlanBasisCount?: {
    plan?: LoaderResolver<Maybe<Plan>, PlanBasisCount, {}, TContext>;
    basis?: LoaderResolver<ConsentBasis, PlanBasisCount, {}, TContext>;
    effective?: LoaderResolver<Choice, PlanBasisCount, {}, TContext>;
    count?: LoaderResolver<Scalars["Int"], PlanBasisCount, {}, TContext>;
  };

  GrantStatistics?: {
    total?: LoaderResolver<Scalars["Int"], GrantStatistics, {}, TContext>;
    byEvidence?: LoaderResolver<
      Array<GrantEvidenceCount>,
      GrantStatistics,
      {},
      TContext
    >;
  };

  GrantEvidenceCount?: {
    evidence?: LoaderResolver<GrantEvidence, GrantEvidenceCount, {}, TContext>;
    count?: LoaderResolver<Scalars["Int"], GrantEvidenceCount, {}, TContext>;
  };

  DailyChoices?: {
    day?: LoaderResolver<Scalars["String"], DailyChoices, {}, TContext>;
    surface?: LoaderResolver<Surface, DailyChoices, {}, TContext>;
    choice?: LoaderResolver<Choice, DailyChoices, {}, TContext>;
    count?: LoaderResolver<Scalars["Int"], DailyChoices, {}, TContext>;
  };

  AcceptanceStatistics?: {
    total?: LoaderResolver<Scalars["Int"], AcceptanceStatistics, {}, TContext>;
    groups?: LoaderResolver<
      Array<AcceptanceGroup>,
      AcceptanceStatistics,
      {},
      TContext
    >;
    omittedGroups?: LoaderResolver<
      Scalars["Int"],
      AcceptanceStatistics,
      {},
      TContext
    >;
  };

  AcceptanceGroup?: {
    surface?: LoaderResolver<Surface, AcceptanceGroup, {}, TContext>;
    uiVariant?: LoaderResolver<
      Maybe<Scalars["String"]>,
      AcceptanceGroup,
      {},
      TContext
    >;
    trainingToggleShown?: LoaderResolver<
      Scalars["Boolean"],
      AcceptanceGroup,
      {},
      TContext
    >;
    trainingToggleDefault?: LoaderResolver<
      Scalars["Boolean"],
      AcceptanceGroup,
      {},
      TContext
    >;
    granted?: LoaderResolver<Scalars["Int"], AcceptanceGroup, {}, TContext>;
    denied?: LoaderResolver<Scalars["Int"], AcceptanceGroup, {}, TContext>;
    withoutChoice?: LoaderResolver<
      Scalars["Int"],
      AcceptanceGroup,
      {},
      TContext
    >;
  };
}
declare module "mercurius" {
  interface IResolvers extends Resolvers<
    import("mercurius").MercuriusContext
  > {}
  interface MercuriusLoaders extends Loaders {}
}
