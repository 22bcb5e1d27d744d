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

-- The users whose consent facts changed at revisions in (known, settled], as 0012 decides them:
-- NULL, "forget every user", when nothing was settled before, when a user was erased in the range
-- (the erased user's id is stored nowhere to name it by), or past max_users facts. One definition
-- for the primary's settling and a replica's reading of the watermark; call it in a statement that
-- begins once `settled` has settled (or been replayed).
CREATE FUNCTION consent_changed_users(known bigint, settled bigint, max_users integer) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  users text[];
  found bigint;
BEGIN
  IF known < 0 THEN
    RETURN NULL;
  END IF;
  IF settled <= known THEN
    RETURN '{}';
  END IF;
  IF EXISTS (SELECT 1 FROM audit_events a WHERE a.type = 'user.erased' AND a.revision > known AND a.revision <= settled) THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(array_agg(DISTINCT e.user_id), '{}'), count(*) INTO users, found FROM (
    SELECT p.user_id FROM audit_events a JOIN audit_event_personal p ON p.revision = a.revision
    WHERE a.revision > known AND a.revision <= settled
      AND a.type IN ('user.plan_changed', 'consent.choice_recorded')
    LIMIT max_users + 1) e;
  IF found > max_users THEN
    RETURN NULL;
  END IF;
  RETURN users;
END $$;--> statement-breakpoint

-- As in 0012, through consent_changed_users.
CREATE OR REPLACE FUNCTION consent_settled_changes(max_wait_ms integer, known bigint, max_users integer,
  OUT settled bigint, OUT newest_policy bigint, OUT changed_users text[])
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT p.settled, p.newest_policy INTO settled, newest_policy FROM consent_settled_point(max_wait_ms, known) p;
  changed_users := consent_changed_users(known, settled, max_users);
END $$;--> statement-breakpoint

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

-- On a replica: the published watermark, then, in statements of their own (so that they see
-- every commit up to it), the newest policy revision and the users whose facts changed, as
-- consent_settled_changes returns them. It only reads, so it runs on a hot standby.
CREATE FUNCTION consent_replicated_changes(known bigint, max_users integer,
  OUT settled bigint, OUT newest_policy bigint, OUT changed_users text[])
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT w.revision INTO settled FROM settled_watermark w;
  SELECT max(p.revision) INTO newest_policy FROM policies p;
  changed_users := consent_changed_users(known, settled, max_users);
END $$;
