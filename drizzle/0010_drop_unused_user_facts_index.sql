-- A user's consent facts are read from users.facts (0006): no statement reads this index any more,
-- and every consent choice and plan change paid for its upkeep.
DROP INDEX "audit_events_user_facts_idx";
