-- Tools (issue 26).

-- The tools a persona may call: a JSON array of `server/tool` or `server/*`; NULL: none.
ALTER TABLE personas ADD COLUMN tools TEXT;

-- A tool loop's progress per answer, written as it goes, so an answer resumed after a crash
-- (its message is still pending) goes on from there instead of running tools again: each round
-- the model asked for calls, and each call's state. `started` is written before a call runs and
-- `done` (with the result the model saw) after; a call found `started` at resume is never run
-- again (the model is told it was interrupted). Deleted after two days (the answer is long done).
CREATE TABLE tool_rounds (
  persona_id TEXT NOT NULL,
  event_id TEXT NOT NULL,          -- the message being answered
  round INTEGER NOT NULL,          -- 1, 2, ...
  text TEXT NOT NULL,              -- what the model wrote with its calls
  calls TEXT NOT NULL,             -- JSON [{id, name, arguments}] as the model sent them
  created_at INTEGER NOT NULL,
  PRIMARY KEY (persona_id, event_id, round)
) WITHOUT ROWID;

CREATE TABLE tool_calls (
  persona_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  tool TEXT NOT NULL,              -- server/tool ('' when the model named no known tool)
  arguments TEXT NOT NULL,         -- as the model sent them (debug; shown nowhere)
  state TEXT NOT NULL CHECK (state IN ('started', 'done')),
  result TEXT,                     -- the (cut) result the model saw, when done
  is_error INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (persona_id, event_id, round, call_id)
) WITHOUT ROWID;

-- What tools an answer used, compactly, kept with the answer (its first message) so the next
-- prompt knows what was done. Forgotten with the message.
CREATE TABLE answer_tools (
  event_id TEXT PRIMARY KEY,       -- the persona's answer (memory_messages.event_id)
  note TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER answer_tools_forget AFTER DELETE ON memory_messages
BEGIN
  DELETE FROM answer_tools WHERE event_id = OLD.event_id;
END;
