-- Reads no longer judge from their own snapshot whether a writer was in flight: since PostgreSQL
-- 14 a snapshot does not list the transactions whose ids are at or above its xmax, so a writer in
-- flight could go unseen. Reads now settle the revisions first (consent_settled_revision) and then
-- read, in a statement whose snapshot is taken after every such writer has ended.
DROP FUNCTION consent_visible_watermark();--> statement-breakpoint
DROP FUNCTION consent_snapshot_complete(pg_snapshot);
