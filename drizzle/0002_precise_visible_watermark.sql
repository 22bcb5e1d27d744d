-- The one-statement read path was only taken when the snapshot had no transaction in progress
-- anywhere in the cluster, which busy servers rarely have. A transaction in progress only matters
-- if it is a writer of this database that took a revision. This function tells, for the snapshot
-- of the calling statement, whether every transaction in flight in it is known not to be one:
-- it first lists the writers in flight now, then looks at what became of each transaction of the
-- snapshot. One that is still running and is not a writer, or that aborted, is harmless. One that
-- committed since the snapshot may have been a writer whose revision the snapshot cannot see.
CREATE FUNCTION consent_snapshot_complete(s pg_snapshot) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  writing text[];
  x xid8;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(s)) THEN
    RETURN true;
  END IF;
  SELECT coalesce(array_agg(t.transactionid::text), '{}') INTO writing
    FROM pg_locks k
    JOIN pg_locks t ON t.virtualtransaction = k.virtualtransaction
     AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
   WHERE k.locktype = 'advisory' AND k.classid = 1668247155 AND k.objid = 1 AND k.objsubid = 2
     AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database());
  FOR x IN SELECT pg_snapshot_xip(s) LOOP
    CASE pg_xact_status(x)
      WHEN 'aborted' THEN
        CONTINUE;
      WHEN 'in progress' THEN
        IF (x::text::numeric % 4294967296)::text = ANY (writing) THEN
          RETURN false;
        END IF;
      ELSE
        RETURN false;
    END CASE;
  END LOOP;
  RETURN true;
END $$;--> statement-breakpoint

CREATE OR REPLACE FUNCTION consent_visible_watermark() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN consent_snapshot_complete(pg_current_snapshot())
    THEN greatest(
      coalesce((SELECT max(revision) FROM audit_events), 0),
      coalesce((SELECT max(revision) FROM chat_activity), 0))
  END
$$;
