-- The settled point, and the users whose consent facts changed since a revision the caller had
-- settled before: what lets every instance keep users' facts in memory and drop exactly the ones
-- that changed, whichever instance wrote them.
--
-- `changed_users` lists the users with a fact (`users.facts`: plan changes and consent choices)
-- at a revision in (known, settled]. It is NULL when the caller must forget every user: `known`
-- is negative (nothing settled before), or more than `max_users` facts were recorded in between.
-- It is read in a statement of its own, after the settled revision was found, so its snapshot
-- holds every fact up to that revision.
CREATE FUNCTION consent_settled_changes(max_wait_ms integer, known bigint, max_users integer,
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
  SELECT coalesce(array_agg(DISTINCT e.user_id), '{}'), count(*) INTO changed_users, found FROM (
    SELECT a.user_id FROM audit_events a
    WHERE a.revision > known AND a.revision <= settled
      AND a.type IN ('user.plan_changed', 'consent.choice_recorded')
    LIMIT max_users + 1) e;
  IF found > max_users THEN
    changed_users := NULL;
  END IF;
END $$;
