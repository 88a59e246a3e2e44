-- What a persona imported from a character card has beyond the personas table (issue 17).

-- The greeting sent when someone opens a DM with the persona, and the card's other fields
-- (creator notes, tags, lorebook, alternate greetings, other tools' extensions) kept as JSON so
-- that `!persona export` gives them back. One row per persona that has either.
CREATE TABLE persona_cards (
  user_id TEXT PRIMARY KEY REFERENCES personas (user_id) ON DELETE CASCADE,
  first_message TEXT,              -- `{{user}}` is filled in with the DM partner's name when sent
  card TEXT NOT NULL DEFAULT '{}'  -- JSON: CardExtras (src/portability/PersonaDraft.ts)
) WITHOUT ROWID;

-- DMs a persona has greeted with its first message, so it greets each room once, also
-- across restarts and when Synapse replays the join.
CREATE TABLE persona_greetings (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  greeted_at INTEGER NOT NULL,     -- ms since epoch
  PRIMARY KEY (user_id, room_id)
) WITHOUT ROWID;
