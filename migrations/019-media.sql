-- Images, files and voice (issue 25). A media message keeps what it points at (the mxc URI,
-- and in encrypted rooms the attachment's key, as the room's members' clients keep it), so
-- its pixels can be fetched again for a later prompt; its transcript, text or description
-- goes into `body` once read, where prompts, summaries and search find it.
ALTER TABLE memory_messages ADD COLUMN media TEXT;

-- Images as the vision model is sent them (downscaled, re-encoded, metadata stripped): only
-- the most recent few per room are kept (media.images_in_prompt), older ones live on as the
-- description in their message's body.
CREATE TABLE media_images (
  event_id TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  mime TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  data BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX media_images_room ON media_images (room_id, created_at);

-- A message forgotten (redacted, purged, !forget with deletion) takes its image with it.
CREATE TRIGGER media_images_forget AFTER DELETE ON memory_messages
BEGIN
  DELETE FROM media_images WHERE event_id = OLD.event_id;
END;
