import type { RoomEvent } from '../matrix/events.js';
import type { Db } from '../store/Database.js';
import { editFromEvent, messageFromEvent, newMessageFromEvent } from './messageFromEvent.js';

/**
 * Backfill: memory gets the messages it missed (the bridge was down, or a persona joined a
 * room with history) from the homeserver's /messages, for the time the room's personas have
 * been in it. Idempotent: an event already stored is skipped (event_id is unique).
 *
 * Memory orders a room by row id (arrival order), so messages filled in before newer ones
 * would come out of order; after inserting, the room's rows are renumbered by timestamp
 * within the room's own set of ids (other rooms' ids are untouched), and its summaries' ranges
 * and forget horizons are moved with the rows they referred to.
 */

/** One page of /messages, newest first (`dir=b`), and the token for the page before it. */
export interface HistoryPage {
  events: RoomEvent[];
  end: string | null;
}

export interface RoomHistory {
  page(roomId: string, from: string | null, limit: number): Promise<HistoryPage>;
}

export const BACKFILL_PAGE_SIZE = 100;
/** Per room and run: far more than a prompt or a summary pass can use. */
export const MAX_BACKFILL_EVENTS = 10_000;

/** The room's events since `since` (ms), oldest first, walking back page by page. */
export async function fetchHistorySince(history: RoomHistory, roomId: string, since: number, max = MAX_BACKFILL_EVENTS): Promise<RoomEvent[]> {
  const events: RoomEvent[] = [];
  let from: string | null = null;
  for (;;) {
    const page = await history.page(roomId, from, BACKFILL_PAGE_SIZE);
    let reachedStart = false;
    for (const event of page.events) {
      if (event.origin_server_ts < since) {
        reachedStart = true;
        break;
      }
      events.push(event);
    }
    if (reachedStart || !page.end || page.events.length === 0 || events.length >= max) break;
    from = page.end;
  }
  return events.slice(0, max).reverse();
}

export interface BackfillResult {
  inserted: number;
  edited: number;
  renumbered: boolean;
}

/**
 * Stores the events (oldest first) that memory does not have yet, applies their edits, and
 * puts the room back in timestamp order. One transaction: all or nothing.
 */
export interface BackfillFilter {
  isPersona(userId: string): boolean;
  /** The recorder's rules (no commands, no notices of ours, nothing of the bot's): false skips it. */
  keep(event: RoomEvent, message: { msgtype: string; body: string }): boolean;
  displayName?(userId: string): string | null;
}

export function storeBackfill(db: Db, roomId: string, events: RoomEvent[], filter: BackfillFilter): BackfillResult {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO memory_messages (room_id, event_id, sender, display_name, msgtype, body, ts, thread_root, from_persona)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const edit = db.prepare('UPDATE memory_messages SET body = ? WHERE event_id = ? AND sender = ? AND room_id = ?');
  return db.transaction((): BackfillResult => {
    const result: BackfillResult = { inserted: 0, edited: 0, renumbered: false };
    for (const event of events) {
      if (event.room_id !== roomId) continue;
      const parsed = messageFromEvent(event);
      if (parsed) {
        if (!filter.keep(event, parsed)) continue;
        const m = newMessageFromEvent(event, parsed, filter.displayName?.(event.sender) ?? null, filter.isPersona(event.sender));
        const res = insert.run(m.roomId, m.eventId, m.sender, m.displayName, m.msgtype, m.body, m.ts, m.threadRoot ?? '', m.fromPersona ? 1 : 0);
        result.inserted += res.changes;
        continue;
      }
      const change = editFromEvent(event);
      if (change) result.edited += edit.run(change.newBody, change.targetEventId, event.sender, roomId).changes;
    }
    if (result.inserted > 0) result.renumbered = renumberByTime(db, roomId);
    return result;
  })();
}

/** True when the room has a `!forget` horizon: its forgotten history must not come back. */
export function hasForgetHorizon(db: Db, roomId: string): boolean {
  return db.prepare('SELECT 1 FROM memory_horizons WHERE room_id = ? LIMIT 1').get(roomId) !== undefined;
}

/**
 * Gives the room's rows ids in timestamp order (ties: old id order), reusing the room's own
 * ids. Returns false when they were in order already.
 */
function renumberByTime(db: Db, roomId: string): boolean {
  const ids = (db.prepare('SELECT id FROM memory_messages WHERE room_id = ? ORDER BY id').all(roomId) as { id: number }[]).map((r) => r.id);
  const inTimeOrder = (db.prepare('SELECT id FROM memory_messages WHERE room_id = ? ORDER BY ts, id').all(roomId) as { id: number }[]).map((r) => r.id);
  const mapping = new Map<number, number>();
  inTimeOrder.forEach((oldId, i) => {
    if (ids[i] !== oldId) mapping.set(oldId, ids[i]!);
  });
  if (mapping.size === 0) return false;
  const move = db.prepare('UPDATE memory_messages SET id = ? WHERE id = ?');
  // Through negative ids, so no step collides with a row not yet moved.
  for (const oldId of mapping.keys()) move.run(-oldId, oldId);
  for (const [oldId, newId] of mapping) move.run(newId, -oldId);
  const moved = (id: number): number => mapping.get(id) ?? id;

  const chapters = db.prepare('SELECT id, first_message_id, last_message_id FROM memory_summaries WHERE room_id = ?').all(roomId) as {
    id: number;
    first_message_id: number;
    last_message_id: number;
  }[];
  const setChapter = db.prepare('UPDATE memory_summaries SET first_message_id = ?, last_message_id = ? WHERE id = ?');
  for (const c of chapters) {
    const first = moved(c.first_message_id);
    const last = moved(c.last_message_id);
    setChapter.run(Math.min(first, last), Math.max(first, last), c.id);
  }
  return true;
}
