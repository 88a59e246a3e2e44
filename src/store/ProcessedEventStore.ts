import type { Db } from './Database.js';

/** Persisted de-duplication of events by event_id (see migrations/001). */
export class ProcessedEventStore {
  private readonly insert;
  private readonly prune;
  private readonly seen;

  constructor(db: Db) {
    this.seen = db.prepare('SELECT 1 FROM processed_events WHERE event_id = ?');
    this.insert = db.prepare('INSERT OR IGNORE INTO processed_events (event_id, room_id, processed_at) VALUES (?, ?, ?)');
    this.prune = db.prepare('DELETE FROM processed_events WHERE processed_at < ?');
  }

  /** Records the event; true when it is new, false when it was seen before. Atomic. */
  markProcessed(eventId: string, roomId: string, now: number = Date.now()): boolean {
    return this.insert.run(eventId, roomId, now).changes === 1;
  }

  has(eventId: string): boolean {
    return this.seen.get(eventId) !== undefined;
  }

  /** Forgets ids older than the cutoff: Synapse does not replay transactions that old. */
  pruneOlderThan(cutoffMs: number): number {
    return this.prune.run(cutoffMs).changes;
  }
}
