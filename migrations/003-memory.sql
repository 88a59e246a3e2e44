-- Conversation memory (issue: persona replies).

-- Every m.room.message in a room where a persona is joined, stored once per room and read by
-- every persona there. `id` is the arrival order (the per-room queue delivers in order) and
-- is what summaries and forget horizons refer to.
CREATE TABLE memory_messages (
  id INTEGER PRIMARY KEY,
  room_id TEXT NOT NULL,
  event_id TEXT NOT NULL UNIQUE,  -- a persona's reply is recorded when sent, its echo is then ignored
  sender TEXT NOT NULL,
  display_name TEXT,              -- as it was when the message was sent
  msgtype TEXT NOT NULL,          -- m.text, m.emote, m.notice, m.image...
  body TEXT NOT NULL,             -- reply fallback stripped; the latest edit applied
  ts INTEGER NOT NULL,            -- origin_server_ts (ms)
  thread_root TEXT NOT NULL DEFAULT '', -- m.thread root event id; '' on the main timeline
  from_persona INTEGER NOT NULL DEFAULT 0 -- 1 when sent by one of our personas
);
-- The context fetch ("newest N of this room's timeline or thread after id X") and the
-- unsummarised count are range scans on this index, whatever the table's size.
CREATE INDEX memory_messages_timeline ON memory_messages (room_id, thread_root, id);

-- Chapter summaries: each summarises one persona's view of a contiguous range of a room's
-- timeline (or of one thread), oldest history first. A prompt uses the newest chapters that
-- fit, followed by the messages after the last chapter.
CREATE TABLE memory_summaries (
  id INTEGER PRIMARY KEY,
  persona_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  thread_root TEXT NOT NULL DEFAULT '',
  first_message_id INTEGER NOT NULL,
  last_message_id INTEGER NOT NULL,
  message_count INTEGER NOT NULL,
  summary TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  CHECK (first_message_id <= last_message_id)
);
CREATE INDEX memory_summaries_scope ON memory_summaries (persona_id, room_id, thread_root, last_message_id);

-- `!forget`: a persona ignores a room's messages up to and including this id (messages stay
-- for the other personas in the room; the summaries of the persona are deleted).
CREATE TABLE memory_horizons (
  persona_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  forgotten_through INTEGER NOT NULL,
  PRIMARY KEY (persona_id, room_id)
) WITHOUT ROWID;
