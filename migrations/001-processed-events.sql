-- Events we have handled, so a transaction Synapse replays (same txnId after a timeout or
-- a restart of ours) or an event delivered twice is acted on at most once.
-- matrix-appservice-bridge only remembers the last txnId, in memory.
CREATE TABLE processed_events (
  event_id TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  processed_at INTEGER NOT NULL -- ms since epoch; old rows are pruned
) WITHOUT ROWID;
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);
