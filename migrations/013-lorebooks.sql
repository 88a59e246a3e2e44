-- Standalone lorebooks (issue 27): imported with `!lore import` (lorebook_v3, SillyTavern World
-- Info, a card's character_book) and attached to personas or rooms with `!lore attach`. A
-- persona's answers use its card's own book, the books attached to it and those attached to
-- the room it answers in.
CREATE TABLE lorebooks (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL COLLATE NOCASE UNIQUE,
  book TEXT NOT NULL,              -- JSON: the book as read (src/lore/book.ts), unknown fields kept
  format TEXT NOT NULL,            -- what it was read from, e.g. 'SillyTavern World Info'
  imported_by TEXT NOT NULL,       -- MXID of the admin (or console:<user>)
  imported_at INTEGER NOT NULL     -- ms since epoch; a new import of the same name replaces the book
);

CREATE TABLE lorebook_attachments (
  book_id INTEGER NOT NULL REFERENCES lorebooks (id) ON DELETE CASCADE,
  target_kind TEXT NOT NULL CHECK (target_kind IN ('persona', 'room')),
  target TEXT NOT NULL,            -- the persona's user ID, or the room ID
  attached_by TEXT NOT NULL,
  attached_at INTEGER NOT NULL,
  PRIMARY KEY (book_id, target_kind, target)
) WITHOUT ROWID;
CREATE INDEX lorebook_attachments_target ON lorebook_attachments (target_kind, target);
