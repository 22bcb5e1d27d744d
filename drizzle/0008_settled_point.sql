-- The settled revision and, read once it has settled, the newest policy revision. Policies are
-- cached by every instance; with the newest policy revision known at the point a read is capped
-- at, the read's own statement no longer has to ask for it.
--
-- `known` is a revision the caller already knows to have settled. When no revision beyond it has
-- been taken since, it is still the newest settled one and the writers' locks need not be looked
-- at: a writer that has not taken its revision yet will take a later one.
CREATE FUNCTION consent_settled_point(max_wait_ms integer, known bigint, OUT settled bigint, OUT newest_policy bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO settled FROM revision_seq;
  IF settled > known THEN
    settled := consent_settled_revision(max_wait_ms);
  END IF;
  -- A new statement, so a new snapshot: every policy up to the settled revision is in it.
  SELECT max(p.revision) INTO newest_policy FROM policies p;
END $$;
