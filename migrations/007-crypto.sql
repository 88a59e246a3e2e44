-- End-to-end encryption (encryption.enabled): each of our users' one device, and the
-- encryption settings of rooms we know to be encrypted. Keys and sessions themselves live in
-- the crypto store (encryption.store_path), not here.
CREATE TABLE crypto_devices (
  user_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  created_at INTEGER NOT NULL -- ms since epoch
) WITHOUT ROWID;

CREATE TABLE encrypted_rooms (
  room_id TEXT PRIMARY KEY,
  settings TEXT NOT NULL -- the m.room.encryption content, JSON
) WITHOUT ROWID;
