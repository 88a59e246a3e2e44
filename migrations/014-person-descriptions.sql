-- How people describe themselves to the personas (`!me`, issue 27). A persona's prompt shows
-- "About <name>: <text>" for the person it answers and the others who wrote the last few
-- messages, never to anyone else. room_id '' is the description for everywhere; a row with a
-- room ID is used in that room instead.
CREATE TABLE person_descriptions (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL,
  updated_at INTEGER NOT NULL,  -- ms since epoch
  PRIMARY KEY (user_id, room_id)
) WITHOUT ROWID;
