-- Identifiers sort in byte order (the eligible-chats stream is ordered by chatId in C collation,
-- and keyset paging must use the same order as the index).
ALTER TABLE "chats" ALTER COLUMN "chat_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "chats" ALTER COLUMN "user_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "chat_activity" ALTER COLUMN "chat_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "user_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "audit_events" ALTER COLUMN "user_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "audit_events" ALTER COLUMN "chat_id" TYPE text COLLATE "C";--> statement-breakpoint

-- The audit log is append-only, whoever asks: row and statement triggers refuse every change,
-- and the privileges to make one are withdrawn from everyone but the owner.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;--> statement-breakpoint
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();--> statement-breakpoint
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON "audit_events" FROM PUBLIC;--> statement-breakpoint

-- Revision watermark. Every writing transaction calls consent_begin_write() before it takes a
-- revision: it gets a transaction id and holds a shared advisory lock until it ends. A reader can
-- then tell when every revision up to a value has either committed or been abandoned.
CREATE FUNCTION consent_begin_write() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1668247155, 1);
  PERFORM pg_current_xact_id();
END $$;--> statement-breakpoint

-- The newest revision visible to the calling statement, when that statement's snapshot has no
-- transaction in progress (so no revision below it can still commit); NULL otherwise.
CREATE FUNCTION consent_visible_watermark() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()))
    THEN greatest(
      coalesce((SELECT max(revision) FROM audit_events), 0),
      coalesce((SELECT max(revision) FROM chat_activity), 0))
  END
$$;--> statement-breakpoint

-- The newest revision taken so far, returned once every transaction that could still commit a
-- revision up to it has ended. Waits at most max_wait_ms; raises lock_not_available after that.
CREATE FUNCTION consent_settled_revision(max_wait_ms integer) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  newest bigint;
  pending text[];
  give_up timestamptz := clock_timestamp() + make_interval(secs => max_wait_ms / 1000.0);
  db oid := (SELECT oid FROM pg_database WHERE datname = current_database());
BEGIN
  SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO newest FROM revision_seq;
  SELECT array_agg(virtualtransaction) INTO pending FROM pg_locks
   WHERE locktype = 'advisory' AND database = db AND classid = 1668247155 AND objid = 1
     AND objsubid = 2 AND pid <> pg_backend_pid();
  WHILE pending IS NOT NULL LOOP
    IF clock_timestamp() > give_up THEN
      RAISE EXCEPTION 'revision % has not settled', newest USING ERRCODE = 'lock_not_available';
    END IF;
    PERFORM pg_sleep(0.001);
    SELECT array_agg(virtualtransaction) INTO pending FROM pg_locks
     WHERE locktype = 'advisory' AND database = db AND classid = 1668247155 AND objid = 1
       AND objsubid = 2 AND virtualtransaction = ANY (pending);
  END LOOP;
  RETURN newest;
END $$;--> statement-breakpoint

-- The policy of 2025-08-28 and its audit event, the first of the chain of events about no user.
INSERT INTO "policies" VALUES ('2025-09-28', '2025-08-28T00:00:00.000Z', '2025-09-28T00:00:00.000Z',
  'granted', false, 1825, 30, 730, '2025-08-28T00:00:00.000Z', 1);--> statement-breakpoint
SELECT setval('revision_seq', 1);--> statement-breakpoint
INSERT INTO "audit_events" VALUES (1, '00000000-0000-4000-8000-000000000001', 'policy.created', NULL, NULL,
  '{"version":"2025-09-28","effectiveAt":"2025-08-28T00:00:00.000Z","decisionDeadline":"2025-09-28T00:00:00.000Z","defaultChoice":"granted","requiresReconsent":false,"retention":{"grantedDays":1825,"deniedDays":30,"violationDays":730}}',
  'system:migration', 'service', '2025-08-28T00:00:00.000Z', 'migration-0001',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '9f740c6627d92947ce5e9dc8c6463470da83688af5317cb68c011718f311ff5d');--> statement-breakpoint
INSERT INTO "chain_heads" VALUES ('policies', '9f740c6627d92947ce5e9dc8c6463470da83688af5317cb68c011718f311ff5d', 1);
