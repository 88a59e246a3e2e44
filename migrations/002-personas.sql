-- Personas: LLM-backed virtual users in our exclusive namespace (issue: persona lifecycle).

-- One row per persona we created or are creating. `status` is what keeps the store and the
-- homeserver in step across failures:
--   provisioning  the row was written before touching the homeserver; the user may or may not
--                 be registered yet, its profile or first room may be missing. Not live: it
--                 answers nobody. Running the same spawn again (or the next start, for seed
--                 files) completes it; despawn removes it.
--   active        registered, profile set: live, listed, answering.
--   despawning    leaving rooms / deactivating is under way or failed part-way; not live.
--                 Running despawn again finishes it.
CREATE TABLE personas (
  user_id TEXT PRIMARY KEY,                     -- @<persona_prefix><name lowercased>:<domain>; fixed for life
  name TEXT NOT NULL COLLATE NOCASE UNIQUE,     -- displayname; unique case-insensitively
  prompt TEXT NOT NULL,                         -- system prompt
  traits TEXT NOT NULL DEFAULT '{}',            -- JSON object (free map, e.g. Big Five scores)
  model TEXT,                                   -- NULL: llm.model
  temperature REAL,                             -- NULL: llm.temperature
  avatar_url TEXT,                              -- mxc:// URI or NULL
  created_at INTEGER NOT NULL,                  -- ms since epoch
  creator TEXT NOT NULL,                        -- admin MXID, or file:<name>.yaml for seed personas
  status TEXT NOT NULL DEFAULT 'provisioning' CHECK (status IN ('provisioning', 'active', 'despawning')),
  -- For seed personas: digest of the file's definition last applied, so an unchanged file does
  -- not overwrite what admins changed with !persona set, and an edited one does.
  source_digest TEXT
) WITHOUT ROWID;

-- Rooms a persona is joined to, kept from its membership events and our own joins. Used for
-- the room count, for despawn, and to load a room's members through a persona when the bot
-- is not in the room.
CREATE TABLE persona_rooms (
  user_id TEXT NOT NULL REFERENCES personas (user_id) ON DELETE CASCADE,
  room_id TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, room_id)
) WITHOUT ROWID;
CREATE INDEX persona_rooms_room ON persona_rooms (room_id);

-- The global profile we last wrote on the homeserver for each persona, so profiles are only
-- written when they differ (every write fans out a member event into every joined room).
CREATE TABLE persona_profiles (
  user_id TEXT PRIMARY KEY REFERENCES personas (user_id) ON DELETE CASCADE,
  displayname TEXT,
  avatar_url TEXT,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- MXIDs we deactivated. Matrix never lets a deactivated user ID be registered again (the
-- homeserver answers "in use", which would otherwise look like success), so a later spawn of
-- the same name is refused with this record as the reason.
CREATE TABLE deactivated_personas (
  user_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  deactivated_at INTEGER NOT NULL,
  deactivated_by TEXT NOT NULL
) WITHOUT ROWID;

-- Avatars we uploaded from http(s) URLs or files, so restarts and repeated spawns do not
-- re-upload the same image. `source` is the URL, or `sha256:<hex>` of a file's bytes.
CREATE TABLE avatar_uploads (
  source TEXT PRIMARY KEY,
  mxc TEXT NOT NULL,
  uploaded_at INTEGER NOT NULL
) WITHOUT ROWID;
