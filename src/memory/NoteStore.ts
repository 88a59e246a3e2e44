import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';

/** A note (`!remember`), see migrations/004-recall.sql. */
export interface Note {
  id: number;
  roomId: string;
  /** null: for every persona of the room. */
  personaId: string | null;
  body: string;
  author: string;
  eventId: string | null;
  createdAt: number;
}

interface NoteRow {
  id: number;
  room_id: string;
  persona_id: string;
  body: string;
  author: string;
  event_id: string | null;
  created_at: number;
}

const toNote = (r: NoteRow): Note => ({
  id: r.id,
  roomId: r.room_id,
  personaId: r.persona_id || null,
  body: r.body,
  author: r.author,
  eventId: r.event_id,
  createdAt: r.created_at,
});

/** Most notes one persona keeps in one room; `!remember` refuses more. */
export const MAX_NOTES_PER_ROOM = 50;
/** Longest note, in characters. */
export const MAX_NOTE_LENGTH = 500;

/**
 * Notes people asked the personas of a room to keep (`!remember`): for every persona of the
 * room, or (in a DM) for that persona. Unlike messages they never age out of the prompt.
 * (`!forget` and despawning drop a persona's notes: see MemoryStore.)
 */
export class NoteStore {
  private readonly statements: StatementCache;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string) {
    return this.statements.get(sql);
  }

  add(note: Omit<Note, 'id' | 'createdAt'>, now = Date.now()): Note {
    const res = this.stmt(
      'INSERT INTO memory_notes (room_id, persona_id, body, author, event_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(note.roomId, note.personaId ?? '', note.body, note.author, note.eventId, now);
    return { ...note, id: Number(res.lastInsertRowid), createdAt: now };
  }

  /** The notes a persona has in a room (the room's and its own), oldest first. */
  forPersona(roomId: string, personaId: string): Note[] {
    const rows = this.stmt(
      `SELECT * FROM memory_notes WHERE room_id = ? AND persona_id IN ('', ?) ORDER BY id`,
    ).all(roomId, personaId) as NoteRow[];
    return rows.map(toNote);
  }

  /** The note made by this `!remember` message, if any (several personas addressed at once share one). */
  byEvent(roomId: string, eventId: string): Note | undefined {
    const row = this.stmt('SELECT * FROM memory_notes WHERE room_id = ? AND event_id = ?').get(roomId, eventId) as NoteRow | undefined;
    return row && toNote(row);
  }

  /** Removes a note the persona has in the room; false when there is none with that id. */
  remove(roomId: string, personaId: string, id: number): boolean {
    return this.stmt(`DELETE FROM memory_notes WHERE id = ? AND room_id = ? AND persona_id IN ('', ?)`).run(id, roomId, personaId).changes === 1;
  }
}
