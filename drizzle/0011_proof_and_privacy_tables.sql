CREATE TABLE "audit_checkpoints" (
	"tree_size" bigint PRIMARY KEY NOT NULL,
	"root_hash" text NOT NULL,
	"last_revision" bigint NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"previous_root_hash" text,
	"jws" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_event_personal" (
	"revision" bigint PRIMARY KEY NOT NULL,
	"user_id" text,
	"chat_id" text,
	"data" jsonb NOT NULL,
	"actor_sub" text NOT NULL,
	"request_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "merkle_tiles" (
	"level" integer NOT NULL,
	"idx" bigint NOT NULL,
	"first_revision" bigint,
	"hashes" "bytea" NOT NULL,
	CONSTRAINT "merkle_tiles_level_idx_pk" PRIMARY KEY("level","idx")
);
--> statement-breakpoint
CREATE TABLE "merkle_tree" (
	"id" integer PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"last_revision" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD COLUMN "user_id" text;--> statement-breakpoint
CREATE INDEX "audit_event_personal_user_idx" ON "audit_event_personal" USING btree ("user_id","revision");--> statement-breakpoint
CREATE INDEX "merkle_tiles_first_revision_idx" ON "merkle_tiles" USING btree ("first_revision");--> statement-breakpoint
CREATE INDEX "idempotency_keys_user_idx" ON "idempotency_keys" USING btree ("user_id") WHERE user_id IS NOT NULL;