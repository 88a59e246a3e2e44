-- Long-term memory (issue: recall from the whole history, notes, search).

-- Full-text index of memory_messages, for retrieving relevant older messages into a prompt
-- and for !search / !recall. External content: the text lives once, in memory_messages; the
-- index holds only terms. Kept in step by the triggers below, inside the transaction that
-- writes the message, so an edit's new text replaces the old one and a redacted (deleted)
-- message can never be found.
--
-- `room` holds one token per message, hex(room_id), so a query is scoped to a room by an FTS
-- AND (an index seek) rather than by filtering every match in every room afterwards. The
-- index reads its content through a view that adds that column (for 'rebuild' and checks).
-- Porter stemming on top of unicode61 (diacritics folded): "sisters"/"sister", "called"/"call"
-- match. detail=column keeps no word positions (no phrase queries needed) and columnsize=0
-- no per-row lengths (ranking is ours, not bm25): both make the index smaller and writes
-- cheaper.
CREATE VIEW memory_fts_content AS SELECT id, hex(room_id) AS room, body FROM memory_messages;

CREATE VIRTUAL TABLE memory_fts USING fts5(
  room,
  body,
  content = 'memory_fts_content',
  content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2',
  detail = column,
  columnsize = 0
);

CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory_messages BEGIN
  INSERT INTO memory_fts (rowid, room, body) VALUES (new.id, hex(new.room_id), new.body);
END;

CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory_messages BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, room, body) VALUES ('delete', old.id, hex(old.room_id), old.body);
END;

CREATE TRIGGER memory_fts_update AFTER UPDATE OF room_id, body ON memory_messages BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, room, body) VALUES ('delete', old.id, hex(old.room_id), old.body);
  INSERT INTO memory_fts (rowid, room, body) VALUES (new.id, hex(new.room_id), new.body);
END;

-- Messages stored before this migration.
INSERT INTO memory_fts (memory_fts) VALUES ('rebuild');

-- Notes (`!remember`): facts people asked the personas of a room to keep. Always in the
-- prompt, whatever the age of the conversation; removed only by `!forget note <id>` (or by
-- `!forget` of the persona they belong to).
CREATE TABLE memory_notes (
  id INTEGER PRIMARY KEY,
  room_id TEXT NOT NULL,
  persona_id TEXT NOT NULL DEFAULT '', -- '' : every persona of the room; else that persona only (a DM)
  body TEXT NOT NULL,
  author TEXT NOT NULL,                -- who asked for it (MXID)
  event_id TEXT,                       -- the !remember message, for a link
  created_at INTEGER NOT NULL          -- ms since epoch
);
CREATE INDEX memory_notes_room ON memory_notes (room_id, persona_id);
