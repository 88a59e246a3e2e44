import type { RoomEvent } from '../matrix/events.js';
import type { Db } from './Database.js';
import type { PendingEventStore } from './PendingEventStore.js';
import type { ProcessedEventStore } from './ProcessedEventStore.js';

/**
 * Fresh marks kept at most (messages received and not yet through de-duplication). Only a
 * backlog this deep loses one: that message then waits for the next start (it stays pending).
 */
const MAX_FRESH = 100_000;

/**
 * The one write a message costs before anyone may answer it: when its transaction arrives,
 * before the homeserver hears "received", each message not seen before is marked processed
 * (de-duplication) and recorded as pending (answered after a crash), both in one SQLite
 * transaction. Everything else about the message (remembering it, indexing it, settling it)
 * can follow after the model is asked. The de-duplication step then lets these messages
 * through on the fresh mark kept here, without a write of its own.
 */
export class ReceivedMessages {
  private readonly fresh = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly processed: Pick<ProcessedEventStore, 'markProcessed'>,
    private readonly pending: Pick<PendingEventStore, 'add'>,
  ) {}

  /**
   * Records the messages of one transaction atomically (all or none; throws when the database
   * cannot be written) and returns those not seen before (a redelivered transaction's are not).
   */
  receive(events: readonly RoomEvent[], now: number = Date.now()): RoomEvent[] {
    if (events.length === 0) return [];
    const fresh = this.db.transaction(() =>
      events.filter((event) => {
        if (!this.processed.markProcessed(event.event_id, event.room_id, now)) return false;
        this.pending.add(event, now);
        return true;
      }),
    )();
    for (const event of fresh) this.fresh.add(event.event_id);
    while (this.fresh.size > MAX_FRESH) this.fresh.delete(this.fresh.values().next().value as string);
    return fresh;
  }

  /**
   * A message an earlier process received and left pending, resumed now: it goes through
   * de-duplication once more, on the mark it already has (kept, so a redelivery of it by the
   * homeserver is still a duplicate).
   */
  resume(eventId: string): void {
    this.fresh.add(eventId);
  }

  /** True, once, for a message receive() found new: de-duplication needs no write of its own for it. */
  takeFresh(eventId: string): boolean {
    return this.fresh.delete(eventId);
  }
}
