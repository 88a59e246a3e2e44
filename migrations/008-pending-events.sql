-- Messages received but not yet fully handled (answered, or decided not to answer). Written
-- before the homeserver's transaction is acknowledged, removed once the answer (or its failure
-- notice) is sent; what is left after a crash is resumed at the next start (issue 11).
CREATE TABLE pending_events (
  event_id TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  event_json TEXT NOT NULL,      -- the event as the homeserver pushed it
  received_at INTEGER NOT NULL   -- ms since epoch
) WITHOUT ROWID;
CREATE INDEX pending_events_received ON pending_events (received_at);
