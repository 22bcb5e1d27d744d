DROP INDEX "audit_events_user_idx";--> statement-breakpoint
DROP INDEX "audit_events_user_terms_idx";--> statement-breakpoint
ALTER TABLE "audit_events" DROP COLUMN "user_id";--> statement-breakpoint
ALTER TABLE "audit_events" DROP COLUMN "chat_id";--> statement-breakpoint
ALTER TABLE "audit_events" DROP COLUMN "data";--> statement-breakpoint
ALTER TABLE "audit_events" DROP COLUMN "actor_sub";--> statement-breakpoint
ALTER TABLE "audit_events" DROP COLUMN "request_id";--> statement-breakpoint
-- Dropped columns stay in the rows on disk until they are rewritten: CLUSTER rewrites the table
-- now (nulling dropped columns), so that no copy of the moved personal data is left in the log's pages.
CLUSTER "audit_events" USING "audit_events_pkey";
