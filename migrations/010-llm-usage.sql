-- LLM token usage (issue 12): what each answer cost, per UTC day, persona, room, the user whose
-- message was answered, backend and model. One row per combination, added to as answers come
-- (an upsert), so a busy day stays a handful of rows per room. Read by !usage and by the
-- optional daily caps (usage.persona_daily_tokens, usage.user_daily_tokens).
CREATE TABLE llm_usage (
  day TEXT NOT NULL,                          -- UTC date, YYYY-MM-DD
  persona_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  backend TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, persona_id, room_id, user_id, backend, model)
) WITHOUT ROWID;

-- The caps and !usage for one user read by user and day.
CREATE INDEX llm_usage_by_user ON llm_usage (user_id, day);
