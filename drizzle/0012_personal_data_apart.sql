-- The personal part of every audit event (user, chat, data, acting subject, request id) moves out
-- of the append-only log into audit_event_personal, where erasing a user can delete it
-- (docs/decisions/0020). The log keeps each event's hash, which covers the personal part.
ALTER TABLE "audit_event_personal" ALTER COLUMN "user_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "audit_event_personal" ALTER COLUMN "chat_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "idempotency_keys" ALTER COLUMN "user_id" TYPE text COLLATE "C";--> statement-breakpoint
INSERT INTO "audit_event_personal" (revision, user_id, chat_id, data, actor_sub, request_id)
  SELECT revision, user_id, chat_id, data, actor_sub, request_id FROM "audit_events";--> statement-breakpoint

-- The Merkle tree starts empty; it grows over settled revisions when checkpoints are made.
INSERT INTO "merkle_tree" (id, size, last_revision) VALUES (1, 0, 0);--> statement-breakpoint

-- Checkpoints are append-only as the log is.
CREATE FUNCTION consent_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON "audit_checkpoints"
  FOR EACH ROW EXECUTE FUNCTION consent_refuse_change();--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON "audit_checkpoints"
  FOR EACH ROW EXECUTE FUNCTION consent_refuse_change();--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON "audit_checkpoints"
  FOR EACH STATEMENT EXECUTE FUNCTION consent_refuse_change();--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON "audit_checkpoints" FROM PUBLIC;--> statement-breakpoint

-- As in 0009, with the users read from audit_event_personal. An erasure in the range makes every
-- instance forget every user: the erased user's id is no longer stored anywhere to name it by.
CREATE OR REPLACE FUNCTION consent_settled_changes(max_wait_ms integer, known bigint, max_users integer,
  OUT settled bigint, OUT newest_policy bigint, OUT changed_users text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  found bigint;
BEGIN
  SELECT p.settled, p.newest_policy INTO settled, newest_policy FROM consent_settled_point(max_wait_ms, known) p;
  IF known < 0 THEN
    changed_users := NULL;
    RETURN;
  END IF;
  IF settled <= known THEN
    changed_users := '{}';
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM audit_events a WHERE a.type = 'user.erased' AND a.revision > known AND a.revision <= settled) THEN
    changed_users := NULL;
    RETURN;
  END IF;
  SELECT coalesce(array_agg(DISTINCT e.user_id), '{}'), count(*) INTO changed_users, found FROM (
    SELECT p.user_id FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision
    WHERE a.revision > known AND a.revision <= settled
      AND a.type IN ('user.plan_changed', 'consent.choice_recorded')
    LIMIT max_users + 1) e;
  IF found > max_users THEN
    changed_users := NULL;
  END IF;
END $$;
