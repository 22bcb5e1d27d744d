-- Users created before 0006 get their consent facts from the audit log.
UPDATE "users" u SET "facts" = f.facts
FROM (
  SELECT "user_id", jsonb_agg(jsonb_build_object('seq', "revision", 'type', "type", 'data', "data",
           'at', (extract(epoch FROM "occurred_at") * 1000)::float8) ORDER BY "revision") AS facts
    FROM "audit_events" WHERE "type" IN ('user.plan_changed', 'consent.choice_recorded')
   GROUP BY "user_id"
) f
WHERE f."user_id" = u."user_id";
