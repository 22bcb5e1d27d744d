CREATE SEQUENCE "public"."revision_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "audit_events" (
	"revision" bigint PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"user_id" text,
	"chat_id" text,
	"data" jsonb NOT NULL,
	"actor_sub" text NOT NULL,
	"actor_kind" text NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"request_id" text NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chain_heads" (
	"chain" text PRIMARY KEY NOT NULL,
	"head_hash" text NOT NULL,
	"head_revision" bigint
);
--> statement-breakpoint
CREATE TABLE "chat_activity" (
	"chat_id" text NOT NULL,
	"revision" bigint NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	"recorded_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "chat_activity_chat_id_revision_pk" PRIMARY KEY("chat_id","revision")
);
--> statement-breakpoint
CREATE TABLE "chats" (
	"chat_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"incognito" boolean NOT NULL,
	"registered_at" timestamp (3) with time zone NOT NULL,
	"registered_revision" bigint NOT NULL,
	"deleted_at" timestamp (3) with time zone,
	"deleted_revision" bigint,
	"flags" jsonb DEFAULT '[]'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"sub" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"status_code" integer NOT NULL,
	"headers" jsonb NOT NULL,
	"body" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_sub_key_pk" PRIMARY KEY("sub","key")
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"version" text PRIMARY KEY NOT NULL,
	"effective_at" timestamp (3) with time zone NOT NULL,
	"decision_deadline" timestamp (3) with time zone NOT NULL,
	"default_choice" text NOT NULL,
	"requires_reconsent" boolean NOT NULL,
	"retention_granted_days" integer NOT NULL,
	"retention_denied_days" integer NOT NULL,
	"retention_violation_days" integer NOT NULL,
	"recorded_at" timestamp (3) with time zone NOT NULL,
	"revision" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"user_id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"created_revision" bigint,
	"head_hash" text NOT NULL,
	"head_revision" bigint
);
--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_event_id_key" ON "audit_events" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "audit_events_user_idx" ON "audit_events" USING btree ("user_id","revision");--> statement-breakpoint
CREATE INDEX "audit_events_user_facts_idx" ON "audit_events" USING btree ("user_id","revision") WHERE type IN ('user.plan_changed', 'consent.choice_recorded');--> statement-breakpoint
CREATE INDEX "audit_events_user_terms_idx" ON "audit_events" USING btree ("user_id","revision") WHERE type = 'terms.accepted';--> statement-breakpoint
CREATE INDEX "audit_events_type_idx" ON "audit_events" USING btree ("type","revision");--> statement-breakpoint
CREATE INDEX "chat_activity_chat_at_idx" ON "chat_activity" USING btree ("chat_id","at");--> statement-breakpoint
CREATE INDEX "chat_activity_revision_idx" ON "chat_activity" USING btree ("revision");--> statement-breakpoint
CREATE INDEX "chats_user_idx" ON "chats" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "policies_effective_at_idx" ON "policies" USING btree ("effective_at");