import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';
import { escapeRegExp } from '../util/escapeRegExp.js';
import type { MemoryScope } from './MemoryStore.js';

/** One thing memory keeps that concerns a person (`!memories`). */
export type MemoryItem =
  | { kind: 'me'; roomId: string | null; text: string }
  | { kind: 'note'; id: number; roomId: string; personaId: string | null; author: string; text: string; createdAt: number }
  | { kind: 'summary'; id: number; roomId: string; personaId: string; threadRoot: string | null; text: string; createdAt: number };

/** What "forget me" removed, and the chapters to rewrite. */
export interface ForgetReport {
  messages: number;
  rooms: number;
  /** Rooms where nobody else wrote: everything remembered there went (the personas' answers too). */
  ownRooms: number;
  notes: number;
  descriptions: number;
  feedback: number;
  /** Chapters blanked, to be rewritten without the person. */
  chapters: number;
  scopes: MemoryScope[];
}

/** The person's other records, kept by their own stores. */
export interface PersonRecords {
  descriptions: { all(userId: string): Array<{ roomId: string | null; text: string }>; clear(userId: string, roomId: string | null): boolean; forgetUser(userId: string): number };
  feedback: { forgetUser(userId: string): number };
  disclosures: { forgetUser(userId: string): number };
}

interface ChapterRow {
  id: number;
  persona_id: string;
  room_id: string;
  thread_root: string;
  summary: string;
  created_at: number;
  leave_out: string;
}

/** Names shorter than this are too common to look for in text (the Matrix ID always is). */
const MIN_NAME_LENGTH = 3;

/**
 * What the personas' memory keeps about one person, across every persona and room, and
 * forgetting it: their `!me`, the notes they asked for or that name them, the chapter
 * summaries that name them, and their messages. A forgotten chapter is blanked at once and
 * marked stale: the Summarizer rewrites it from the messages left, told to leave the person
 * out (`leave_out`). Matrix itself keeps the rooms' history; only the bridge's memory changes.
 */
export class PersonMemory {
  private readonly statements: StatementCache;

  constructor(
    private readonly db: Db,
    private readonly records: PersonRecords,
  ) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string) {
    return this.statements.get(sql);
  }

  /** How memory may name the person: the Matrix ID, its localpart and the display names their messages had. */
  names(userId: string, extra: string[] = []): string[] {
    const stored = (this.stmt('SELECT DISTINCT display_name FROM memory_messages WHERE sender = ? AND display_name IS NOT NULL').all(userId) as Array<{ display_name: string }>).map(
      (r) => r.display_name,
    );
    const localpart = userId.replace(/^@/, '').split(':')[0] ?? '';
    const names = [userId, localpart, ...stored, ...extra].map((n) => n.trim()).filter((n) => n.length >= MIN_NAME_LENGTH);
    return [...new Set(names)];
  }

  /**
   * Everything concerning the person, in a fixed order (their `!me` for everywhere, then per
   * room; notes by age; summaries by age), so a number shown by `!memories` names the same
   * item when `!forget <n>` comes.
   */
  items(userId: string, names = this.names(userId)): MemoryItem[] {
    const mentions = mentionTest(names);
    const me: MemoryItem[] = this.records.descriptions.all(userId).map((d) => ({ kind: 'me', roomId: d.roomId, text: d.text }));
    const notes = (this.stmt('SELECT * FROM memory_notes ORDER BY id').all() as Array<{ id: number; room_id: string; persona_id: string; body: string; author: string; created_at: number }>)
      .filter((n) => n.author === userId || mentions(n.body))
      .map((n): MemoryItem => ({ kind: 'note', id: n.id, roomId: n.room_id, personaId: n.persona_id || null, author: n.author, text: n.body, createdAt: n.created_at }));
    const summaries = this.chaptersMentioning(names).map(
      (c): MemoryItem => ({ kind: 'summary', id: c.id, roomId: c.room_id, personaId: c.persona_id, threadRoot: c.thread_root || null, text: c.summary, createdAt: c.created_at }),
    );
    return [...me, ...notes, ...summaries];
  }

  /** Their messages in memory, and in how many rooms. */
  messageCount(userId: string): { messages: number; rooms: number } {
    return this.stmt('SELECT COUNT(*) AS messages, COUNT(DISTINCT room_id) AS rooms FROM memory_messages WHERE sender = ?').get(userId) as { messages: number; rooms: number };
  }

  /** Removes one item; a summary is blanked for rewriting. The scope to rewrite, if any. */
  forgetItem(userId: string, item: MemoryItem, names = this.names(userId)): MemoryScope | null {
    if (item.kind === 'me') {
      this.records.descriptions.clear(userId, item.roomId);
      return null;
    }
    if (item.kind === 'note') {
      this.stmt('DELETE FROM memory_notes WHERE id = ?').run(item.id);
      return null;
    }
    const row = this.stmt('SELECT * FROM memory_summaries WHERE id = ?').get(item.id) as ChapterRow | undefined;
    if (!row) return null;
    this.blank(row, userId, names);
    return { personaId: row.persona_id, roomId: row.room_id, threadRoot: row.thread_root || null };
  }

  /** Everything about the person, across every persona and room (see ForgetReport). */
  forgetPerson(userId: string, names = this.names(userId)): ForgetReport {
    return this.db.transaction(() => {
      const scopes = new Map<string, MemoryScope>();
      const blanked = new Set<number>();
      const blank = (row: ChapterRow) => {
        this.blank(row, userId, names);
        blanked.add(row.id);
        scopes.set(`${row.persona_id}|${row.room_id}|${row.thread_root}`, { personaId: row.persona_id, roomId: row.room_id, threadRoot: row.thread_root || null });
      };
      const rooms = this.stmt('SELECT room_id, COUNT(*) AS n FROM memory_messages WHERE sender = ? GROUP BY room_id').all(userId) as Array<{ room_id: string; n: number }>;
      let ownRooms = 0;
      let notes = 0;
      for (const { room_id: roomId } of rooms) {
        const others = this.stmt('SELECT 1 FROM memory_messages WHERE room_id = ? AND from_persona = 0 AND sender != ? LIMIT 1').get(roomId, userId);
        if (!others) {
          // Only they and personas wrote here: all of it is about them.
          ownRooms++;
          this.stmt('DELETE FROM memory_messages WHERE room_id = ?').run(roomId);
          this.stmt('DELETE FROM memory_summaries WHERE room_id = ?').run(roomId);
          notes += this.stmt('DELETE FROM memory_notes WHERE room_id = ?').run(roomId).changes;
          continue;
        }
        const covering = this.stmt(
          `SELECT * FROM memory_summaries s WHERE s.room_id = ? AND EXISTS (
             SELECT 1 FROM memory_messages m WHERE m.room_id = s.room_id AND m.thread_root = s.thread_root
               AND m.id BETWEEN s.first_message_id AND s.last_message_id AND m.sender = ?)`,
        ).all(roomId, userId) as ChapterRow[];
        covering.forEach(blank);
      }
      this.stmt('DELETE FROM memory_messages WHERE sender = ?').run(userId);
      this.chaptersMentioning(names).forEach(blank);
      const mentions = mentionTest(names);
      const noteRows = this.stmt('SELECT id, body, author FROM memory_notes').all() as Array<{ id: number; body: string; author: string }>;
      for (const n of noteRows) if (n.author === userId || mentions(n.body)) notes += this.stmt('DELETE FROM memory_notes WHERE id = ?').run(n.id).changes;
      const descriptions = this.records.descriptions.forgetUser(userId);
      const feedback = this.records.feedback.forgetUser(userId);
      this.records.disclosures.forgetUser(userId);
      const messages = rooms.reduce((n, r) => n + r.n, 0);
      return { messages, rooms: rooms.length, ownRooms, notes, descriptions, feedback, chapters: blanked.size, scopes: [...scopes.values()] };
    })();
  }

  /** The chapter's text goes now; the Summarizer rewrites it from what is left, leaving these names out. */
  private blank(row: ChapterRow, userId: string, names: string[]): void {
    const leaveOut = new Set<string>(parseList(row.leave_out));
    for (const n of [userId, ...names]) leaveOut.add(n);
    this.stmt(`UPDATE memory_summaries SET summary = '', stale = stale + 1, leave_out = ? WHERE id = ?`).run(JSON.stringify([...leaveOut]), row.id);
  }

  /** Chapters (not being rewritten) whose text names the person. */
  private chaptersMentioning(names: string[]): ChapterRow[] {
    if (names.length === 0) return [];
    const mentions = mentionTest(names);
    // LIKE narrows in SQL (ASCII case-insensitive); the word test decides.
    const rows = this.stmt(`SELECT * FROM memory_summaries WHERE stale = 0 AND (${names.map(() => 'summary LIKE ?').join(' OR ')}) ORDER BY id`).all(
      ...names.map((n) => `%${n.replace(/[%_\\]/g, '')}%`),
    ) as ChapterRow[];
    return rows.filter((r) => mentions(r.summary));
  }
}

/** True when the text names one of these, as a whole word, in any case. */
function mentionTest(names: string[]): (text: string) => boolean {
  if (names.length === 0) return () => false;
  const pattern = new RegExp(`(^|[^\\p{L}\\p{N}_])(${names.map(escapeRegExp).join('|')})(?=$|[^\\p{L}\\p{N}_])`, 'iu');
  return (text) => pattern.test(text);
}

function parseList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
