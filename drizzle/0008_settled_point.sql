-- The settled revision and, read once it has settled, the newest policy revision. Policies are
-- cached by every instance; with the newest policy revision known at the point a read is capped
-- at, the read's own statement no longer has to ask for it.
CREATE FUNCTION consent_settled_point(max_wait_ms integer, OUT settled bigint, OUT newest_policy bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  settled := consent_settled_revision(max_wait_ms);
  -- A new statement, so a new snapshot: every policy up to the settled revision is in it.
  SELECT max(p.revision) INTO newest_policy FROM policies p;
END $$;
