ALTER TABLE "chats" ADD COLUMN "last_activity_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "chats" ADD COLUMN "last_activity_revision" bigint;--> statement-breakpoint
ALTER TABLE "chats" ADD COLUMN "last_activity_recorded_at" timestamp (3) with time zone;