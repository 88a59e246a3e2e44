-- Rooms where one of our users has already said it cannot read encrypted messages, per reason,
-- so the notice is sent once per room (not once per message) and a restart does not repeat it.
CREATE TABLE undecryptable_notices (
  room_id TEXT NOT NULL,
  reason TEXT NOT NULL,          -- 'encryption_disabled' | 'cannot_decrypt'
  sender TEXT NOT NULL,          -- which of our users said it
  notified_at INTEGER NOT NULL,  -- ms since epoch
  PRIMARY KEY (room_id, reason)
) WITHOUT ROWID;
