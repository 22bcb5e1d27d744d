-- The settled watermark, published for streaming replicas (docs/decisions/0040).
--
-- A replica cannot settle revisions itself: settling looks at the writers' locks, which exist on
-- the primary only, and at a sequence whose replicated value runs ahead of what has committed. So
-- the primary writes what it settled into settled_watermark. Settling waited until every
-- transaction that took a revision up to the settled one had ended, and a transaction writes its
-- commit record to the WAL before it ends, so the row's new value follows in the WAL every commit
-- it covers: a replica that has replayed the row has replayed them all. Revision 0 is settled
-- from the start.
INSERT INTO settled_watermark (one, revision, published_at) VALUES (true, 0, now());--> statement-breakpoint

-- On the primary: settles as consent_settled_point does (`known` as there) and publishes the
-- settled revision, in one round trip; returns it. A row already at or beyond it stays as it is
-- (another instance published first): the published revision never goes back.
CREATE FUNCTION consent_publish_settled(max_wait_ms integer, known bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  s bigint;
BEGIN
  SELECT p.settled INTO s FROM consent_settled_point(max_wait_ms, known) p;
  UPDATE settled_watermark SET revision = s, published_at = clock_timestamp() WHERE revision < s;
  RETURN s;
END $$;--> statement-breakpoint

-- On a replica: the published watermark, and then, as consent_settled_changes returns them, the
-- newest policy revision and the users with consent facts at revisions in (known, settled]. It
-- only reads, so it runs on a hot standby; each statement takes a new snapshot, so the later ones
-- see every commit up to the watermark the first one read.
CREATE FUNCTION consent_replicated_changes(known bigint, max_users integer,
  OUT settled bigint, OUT newest_policy bigint, OUT changed_users text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  found bigint;
BEGIN
  SELECT w.revision INTO settled FROM settled_watermark w;
  SELECT max(p.revision) INTO newest_policy FROM policies p;
  IF known < 0 THEN
    changed_users := NULL;
    RETURN;
  END IF;
  IF settled <= known THEN
    changed_users := '{}';
    RETURN;
  END IF;
  SELECT coalesce(array_agg(DISTINCT e.user_id), '{}'), count(*) INTO changed_users, found FROM (
    SELECT a.user_id FROM audit_events a
    WHERE a.revision > known AND a.revision <= settled
      AND a.type IN ('user.plan_changed', 'consent.choice_recorded')
    LIMIT max_users + 1) e;
  IF found > max_users THEN
    changed_users := NULL;
  END IF;
END $$;
