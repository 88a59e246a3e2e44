/**
 * Which rooms were told that an event could not be read, per reason (migrations/004): the
 * store behind UndecryptableNotices' one notice per room and reason.
 */
import type { Db } from '../store/Database.js';
import type { UndecryptableReason } from './messages.js';

/** Which rooms were already told, per reason (migrations/004). */
export interface NoticeLedger {
  /** Records the room as told; true only for the first caller. Atomic. */
  claim(roomId: string, reason: UndecryptableReason, sender: string): boolean;
  /** Forgets a claim whose notice could not be sent, so a later event tries again. */
  release(roomId: string, reason: UndecryptableReason): void;
}

export class SqliteNoticeLedger implements NoticeLedger {
  private readonly insert;
  private readonly remove;

  constructor(db: Db) {
    this.insert = db.prepare('INSERT OR IGNORE INTO undecryptable_notices (room_id, reason, sender, notified_at) VALUES (?, ?, ?, ?)');
    this.remove = db.prepare('DELETE FROM undecryptable_notices WHERE room_id = ? AND reason = ?');
  }

  claim(roomId: string, reason: UndecryptableReason, sender: string): boolean {
    return this.insert.run(roomId, reason, sender, Date.now()).changes === 1;
  }

  release(roomId: string, reason: UndecryptableReason): void {
    this.remove.run(roomId, reason);
  }
}
