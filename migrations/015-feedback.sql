-- Feedback on personas' answers (issue 27): 👍 (up), 👎 (down) and ⭐ (star) reactions, one row
-- per reaction event; redacting the reaction deletes its row (withdrawn). Answers starred by an
-- admin (or, with feedback.star_examples: anyone, by anyone) become style examples in that
-- persona's prompt.
CREATE TABLE answer_feedback (
  reaction_event_id TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  answer_event_id TEXT NOT NULL,   -- the persona's answer reacted to
  persona_id TEXT NOT NULL,
  sender TEXT NOT NULL,            -- who reacted
  kind TEXT NOT NULL CHECK (kind IN ('up', 'down', 'star')),
  by_admin INTEGER NOT NULL DEFAULT 0, -- the sender was a bridge admin when reacting
  created_at INTEGER NOT NULL,     -- ms since epoch
  UNIQUE (answer_event_id, sender, kind)
) WITHOUT ROWID;
CREATE INDEX answer_feedback_persona ON answer_feedback (persona_id, kind, created_at);
CREATE INDEX answer_feedback_sender ON answer_feedback (sender);

-- Why an answer got a 👎: a reply to it by someone who gave it one, kept for admins
-- (`!feedback <Name>`).
CREATE TABLE feedback_reasons (
  event_id TEXT PRIMARY KEY,       -- the reply
  room_id TEXT NOT NULL,
  answer_event_id TEXT NOT NULL,
  persona_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX feedback_reasons_persona ON feedback_reasons (persona_id, created_at);
CREATE INDEX feedback_reasons_sender ON feedback_reasons (sender);
