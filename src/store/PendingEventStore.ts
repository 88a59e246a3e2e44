import type { RoomEvent } from '../matrix/events.js';
import type { Db } from './Database.js';

export interface PendingEvent {
  event: RoomEvent;
  receivedAt: number;
}

/**
 * Messages whose handling is not finished (see migrations/008): recorded before the
 * transaction carrying them is acknowledged, removed when they are answered or need no
 * answer. Rows left after a crash or a stop are resumed at the next start.
 */
export class PendingEventStore {
  private readonly insert;
  private readonly remove;
  private readonly all;
  private readonly countAll;

  constructor(db: Db) {
    this.insert = db.prepare('INSERT OR IGNORE INTO pending_events (event_id, room_id, event_json, received_at) VALUES (?, ?, ?, ?)');
    this.remove = db.prepare('DELETE FROM pending_events WHERE event_id = ?');
    this.all = db.prepare('SELECT event_json, received_at FROM pending_events ORDER BY received_at, event_id');
    this.countAll = db.prepare('SELECT COUNT(*) AS n FROM pending_events');
  }

  /** Records events atomically (all or none): throws when the database cannot be written. */
  addAll(events: readonly RoomEvent[], now: number = Date.now()): void {
    if (events.length === 0) return;
    this.insert.database.transaction(() => {
      for (const event of events) this.add(event, now);
    })();
  }

  /** Records one event (in the caller's transaction, see ReceivedMessages). */
  add(event: RoomEvent, now: number = Date.now()): void {
    this.insert.run(event.event_id, event.room_id, JSON.stringify(event), now);
  }

  done(eventId: string): void {
    this.remove.run(eventId);
  }

  /** Oldest first; rows that no longer parse are dropped (they could never be handled). */
  list(): PendingEvent[] {
    const rows = this.all.all() as { event_json: string; received_at: number }[];
    const out: PendingEvent[] = [];
    for (const row of rows) {
      try {
        out.push({ event: JSON.parse(row.event_json) as RoomEvent, receivedAt: row.received_at });
      } catch {
        // Written by us from a parsed body, so this is corruption: nothing to resume.
      }
    }
    return out;
  }

  get count(): number {
    return (this.countAll.get() as { n: number }).n;
  }
}
