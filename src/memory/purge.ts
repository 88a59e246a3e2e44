import type { Db } from '../store/Database.js';

/** What a purge would delete or did delete. */
export interface PurgeCount {
  messages: number;
  summaries: number;
}

/**
 * Deleting memory on an admin's request (`purge memory`). Messages are shared by a room's
 * personas; summaries and forget horizons are each persona's own.
 */
export class MemoryPurge {
  constructor(private readonly db: Db) {}

  private count(where: string, ...params: unknown[]): PurgeCount {
    const messages = this.db.prepare(`SELECT COUNT(*) AS n FROM memory_messages WHERE ${where}`).get(...params) as { n: number };
    const summaries = this.db.prepare(`SELECT COUNT(*) AS n FROM memory_summaries WHERE ${where}`).get(...params) as { n: number };
    return { messages: messages.n, summaries: summaries.n };
  }

  countRoom(roomId: string): PurgeCount {
    return this.count('room_id = ?', roomId);
  }

  countAll(): PurgeCount {
    return this.count('1');
  }

  /** A persona's summaries, and the messages of rooms where it is the only persona. */
  countPersona(userId: string): PurgeCount {
    const rooms = this.soleRooms(userId);
    const messages = rooms.reduce((n, r) => n + this.countRoom(r).messages, 0);
    const summaries = (this.db.prepare('SELECT COUNT(*) AS n FROM memory_summaries WHERE persona_id = ?').get(userId) as { n: number }).n;
    return { messages, summaries };
  }

  purgeRoom(roomId: string): PurgeCount {
    const counted = this.countRoom(roomId);
    this.db.transaction(() => {
      for (const table of ['memory_messages', 'memory_summaries', 'memory_horizons']) this.db.prepare(`DELETE FROM ${table} WHERE room_id = ?`).run(roomId);
    })();
    return counted;
  }

  purgePersona(userId: string): PurgeCount {
    const counted = this.countPersona(userId);
    this.db.transaction(() => {
      for (const roomId of this.soleRooms(userId)) this.db.prepare('DELETE FROM memory_messages WHERE room_id = ?').run(roomId);
      this.db.prepare('DELETE FROM memory_summaries WHERE persona_id = ?').run(userId);
      this.db.prepare('DELETE FROM memory_horizons WHERE persona_id = ?').run(userId);
    })();
    return counted;
  }

  purgeAll(): PurgeCount {
    const counted = this.countAll();
    this.db.transaction(() => {
      for (const table of ['memory_messages', 'memory_summaries', 'memory_horizons']) this.db.prepare(`DELETE FROM ${table}`).run();
    })();
    return counted;
  }

  /** Rooms of the persona that no other persona is recorded in. */
  private soleRooms(userId: string): string[] {
    const rows = this.db
      .prepare(
        `SELECT room_id FROM persona_rooms WHERE user_id = ?
         AND room_id NOT IN (SELECT room_id FROM persona_rooms WHERE user_id != ?)`,
      )
      .all(userId, userId) as { room_id: string }[];
    return rows.map((r) => r.room_id);
  }
}

/** Rooms with personas in them, for `rooms`: the personas, and the last message memory has. */
export interface RoomOverview {
  roomId: string;
  personas: string[];
  lastActivity: number | null;
  messages: number;
}

export function roomOverview(db: Db): RoomOverview[] {
  const rows = db
    .prepare(
      `SELECT pr.room_id AS roomId, group_concat(p.name, '\u0001') AS names,
              (SELECT MAX(ts) FROM memory_messages m WHERE m.room_id = pr.room_id) AS last,
              (SELECT COUNT(*) FROM memory_messages m WHERE m.room_id = pr.room_id) AS messages
       FROM persona_rooms pr JOIN personas p ON p.user_id = pr.user_id
       WHERE p.status = 'active'
       GROUP BY pr.room_id ORDER BY last DESC NULLS LAST, pr.room_id`,
    )
    .all() as { roomId: string; names: string; last: number | null; messages: number }[];
  return rows.map((r) => ({ roomId: r.roomId, personas: r.names.split('\u0001').sort(), lastActivity: r.last, messages: r.messages }));
}
