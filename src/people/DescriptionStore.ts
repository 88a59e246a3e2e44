import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';

/** What one person told the personas about themselves (`!me`). */
export interface Description {
  userId: string;
  /** null: everywhere; else only in this room (where it is used instead). */
  roomId: string | null;
  text: string;
  updatedAt: number;
}

interface Row {
  user_id: string;
  room_id: string;
  text: string;
  updated_at: number;
}

const toDescription = (r: Row): Description => ({ userId: r.user_id, roomId: r.room_id || null, text: r.text, updatedAt: r.updated_at });

/** Longest description, in characters (it goes into every prompt where its person speaks). */
export const MAX_DESCRIPTION_LENGTH = 500;

/** People's own descriptions (migrations/014): one for everywhere and one per room at most. */
export class DescriptionStore {
  private readonly statements: StatementCache;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string) {
    return this.statements.get(sql);
  }

  set(userId: string, roomId: string | null, text: string, now = Date.now()): void {
    this.stmt(
      `INSERT INTO person_descriptions (user_id, room_id, text, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, room_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
    ).run(userId, roomId ?? '', text, now);
  }

  /** False when there was none. */
  clear(userId: string, roomId: string | null): boolean {
    return this.stmt('DELETE FROM person_descriptions WHERE user_id = ? AND room_id = ?').run(userId, roomId ?? '').changes === 1;
  }

  /** Everywhere's first, then per room. */
  all(userId: string): Description[] {
    return (this.stmt('SELECT * FROM person_descriptions WHERE user_id = ? ORDER BY room_id').all(userId) as Row[]).map(toDescription);
  }

  /** The description each of these people has in this room (the room's, else everywhere's), in their order. */
  forPrompt(roomId: string, userIds: string[]): Array<{ userId: string; text: string }> {
    const out: Array<{ userId: string; text: string }> = [];
    for (const userId of userIds) {
      const row = this.stmt(
        `SELECT text FROM person_descriptions WHERE user_id = ? AND room_id IN ('', ?) ORDER BY room_id = '' LIMIT 1`,
      ).get(userId, roomId) as { text: string } | undefined;
      if (row) out.push({ userId, text: row.text });
    }
    return out;
  }

  /** Everything of one person (forget me); how many were removed. */
  forgetUser(userId: string): number {
    return this.stmt('DELETE FROM person_descriptions WHERE user_id = ?').run(userId).changes;
  }
}
