-- Chats registered before 0003 get their latest activity from chat_activity (the earliest
-- revision among reports of the same greatest time, as the activity path keeps it).
UPDATE "chats" c SET
  "last_activity_at" = a."at",
  "last_activity_revision" = a."revision",
  "last_activity_recorded_at" = a."recorded_at"
FROM (
  SELECT DISTINCT ON ("chat_id") "chat_id", "at", "revision", "recorded_at"
    FROM "chat_activity" ORDER BY "chat_id", "at" DESC, "revision" ASC
) a
WHERE a."chat_id" = c."chat_id";
