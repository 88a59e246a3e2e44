-- The full-text index (006-recall) is filled in batches instead of one message at a time.
--
-- Indexing a message in its own transaction made SQLite FTS5 write a new index segment per
-- message, about doubling the cost of storing one (BENCHMARKS.md, "Recall"). Now the message's
-- transaction only queues its id in memory_fts_pending (a small B-tree insert); MessageIndex
-- indexes the queue in batches (every 128 messages stored, and before every search), so a
-- search always sees every message. Edits and redactions stay immediate: an indexed message's
-- old text leaves the index in the transaction that changes or deletes it (a queued one is
-- simply indexed with its latest text, or dropped from the queue).
CREATE TABLE memory_fts_pending (
  id INTEGER PRIMARY KEY -- memory_messages.id, not yet in memory_fts
);

DROP TRIGGER memory_fts_insert;
DROP TRIGGER memory_fts_delete;
DROP TRIGGER memory_fts_update;

CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory_messages BEGIN
  INSERT OR IGNORE INTO memory_fts_pending (id) VALUES (new.id);
END;

CREATE TRIGGER memory_fts_update AFTER UPDATE OF room_id, body ON memory_messages
WHEN NOT EXISTS (SELECT 1 FROM memory_fts_pending WHERE id = old.id) BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, room, body) VALUES ('delete', old.id, hex(old.room_id), old.body);
  INSERT INTO memory_fts_pending (id) VALUES (new.id);
END;

CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory_messages BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, room, body)
    SELECT 'delete', old.id, hex(old.room_id), old.body
    WHERE NOT EXISTS (SELECT 1 FROM memory_fts_pending WHERE id = old.id);
  DELETE FROM memory_fts_pending WHERE id = old.id;
END;
