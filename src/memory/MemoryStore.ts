import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from '../store/Database.js';

/** A message as remembered (see migrations/003-memory.sql). */
export interface StoredMessage {
  id: number;
  roomId: string;
  eventId: string;
  sender: string;
  displayName: string | null;
  msgtype: string;
  body: string;
  ts: number;
  /** The thread root, or null on the main timeline. */
  threadRoot: string | null;
  fromPersona: boolean;
  /** A media message's attachment (src/media MediaRef as JSON); absent or null for text. */
  media?: string | null;
}

export type NewMessage = Omit<StoredMessage, 'id'>;

export interface Chapter {
  id: number;
  firstMessageId: number;
  lastMessageId: number;
  messageCount: number;
  summary: string;
  createdAt: number;
}

/** A chapter a redaction made stale: `stale` is the value to hand back when rewriting it. */
export interface StaleChapter extends Chapter {
  stale: number;
  /** People who asked to be forgotten (user IDs and names): the rewrite leaves them out (PersonMemory). */
  leaveOut: string[];
}

/** What a persona remembers of one conversation: a room's main timeline, or one thread. */
export interface MemoryScope {
  personaId: string;
  roomId: string;
  /** null: the main timeline. */
  threadRoot: string | null;
}

export interface MessageRow {
  id: number;
  room_id: string;
  event_id: string;
  sender: string;
  display_name: string | null;
  msgtype: string;
  body: string;
  ts: number;
  thread_root: string;
  from_persona: number;
  media?: string | null;
}

interface ChapterRow {
  id: number;
  first_message_id: number;
  last_message_id: number;
  message_count: number;
  summary: string;
  created_at: number;
  stale: number;
  leave_out?: string;
}

export const toMessage = (r: MessageRow): StoredMessage => ({
  id: r.id,
  roomId: r.room_id,
  eventId: r.event_id,
  sender: r.sender,
  displayName: r.display_name,
  msgtype: r.msgtype,
  body: r.body,
  ts: r.ts,
  threadRoot: r.thread_root || null,
  fromPersona: r.from_persona === 1,
  ...(r.media ? { media: r.media } : {}),
});

const toChapter = (r: ChapterRow): Chapter => ({
  id: r.id,
  firstMessageId: r.first_message_id,
  lastMessageId: r.last_message_id,
  messageCount: r.message_count,
  summary: r.summary,
  createdAt: r.created_at,
});

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/**
 * Conversation memory in SQLite: messages of rooms with personas (shared by the personas of
 * a room), chapter summaries and `!forget` horizons (per persona). Every read a reply needs
 * is an index range scan, so it stays fast with millions of stored messages.
 */
export class MemoryStore {
  private readonly statements = new Map<string, Statement>();

  /** `index`: told of every message stored, so the full-text index is filled in batches (MessageIndex). */
  constructor(
    private readonly db: Db,
    private readonly index?: { noteWrite(): void },
  ) {}

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Stores a message; false when its event_id is already stored (e.g. the echo of our own reply). */
  record(message: NewMessage): boolean {
    // The media column only for media messages: text (nearly all) is written as before it existed.
    const res = this.stmt(
      message.media
        ? `INSERT OR IGNORE INTO memory_messages (room_id, event_id, sender, display_name, msgtype, body, ts, thread_root, from_persona, media)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
        : `INSERT OR IGNORE INTO memory_messages (room_id, event_id, sender, display_name, msgtype, body, ts, thread_root, from_persona)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      message.roomId,
      message.eventId,
      message.sender,
      message.displayName,
      message.msgtype,
      message.body,
      message.ts,
      message.threadRoot ?? '',
      message.fromPersona ? 1 : 0,
      ...(message.media ? [message.media] : []),
    );
    if (res.changes !== 1) return false;
    this.index?.noteWrite();
    return true;
  }

  /** Applies an edit (m.replace); only the original sender's edits count. */
  applyEdit(eventId: string, sender: string, newBody: string): boolean {
    if (this.stmt('UPDATE memory_messages SET body = ? WHERE event_id = ? AND sender = ?').run(newBody, eventId, sender).changes !== 1) return false;
    this.index?.noteWrite();
    return true;
  }

  /**
   * A redacted message is forgotten by everyone, and every chapter that covered it becomes
   * stale (out of prompts and `!summary` until the Summarizer rewrites it without it).
   */
  redact(eventId: string): boolean {
    return this.db.transaction(() => {
      const row = this.stmt('SELECT id, room_id, thread_root FROM memory_messages WHERE event_id = ?').get(eventId) as
        | { id: number; room_id: string; thread_root: string }
        | undefined;
      if (!row) return false;
      this.stmt('DELETE FROM memory_messages WHERE id = ?').run(row.id);
      this.stmt(
        `UPDATE memory_summaries SET stale = stale + 1
         WHERE room_id = ? AND thread_root = ? AND first_message_id <= ? AND last_message_id >= ?`,
      ).run(row.room_id, row.thread_root, row.id, row.id);
      return true;
    })();
  }

  /** The sender of the room's newest message from a person (not a persona), or null. */
  lastPersonIn(roomId: string): string | null {
    const row = this.stmt('SELECT sender FROM memory_messages WHERE room_id = ? AND from_persona = 0 ORDER BY id DESC LIMIT 1').get(roomId) as { sender: string } | undefined;
    return row?.sender ?? null;
  }

  byEventId(eventId: string): StoredMessage | undefined {
    const row = this.stmt('SELECT * FROM memory_messages WHERE event_id = ?').get(eventId) as MessageRow | undefined;
    return row && toMessage(row);
  }

  /**
   * The newest `limit` messages of the scope (up to `throughId`) that the persona has neither
   * forgotten nor summarised and was present for (sent since it joined the room), oldest first.
   * For a thread, its root message comes first when visible.
   */
  recent(scope: MemoryScope, limit: number, throughId: number = Number.MAX_SAFE_INTEGER): StoredMessage[] {
    const floor = this.summarisedThrough(scope);
    const rows = this.stmt(
      // Only what the persona was present for: nothing from before it joined (the rule
      // MessageSearch applies to recall).
      `SELECT * FROM memory_messages WHERE room_id = ? AND thread_root = ? AND id > ? AND id <= ?
         AND ts >= COALESCE((SELECT joined_at FROM persona_rooms WHERE user_id = ? AND room_id = ?), 0)
       ORDER BY id DESC LIMIT ?`,
    ).all(scope.roomId, scope.threadRoot ?? '', floor, throughId, scope.personaId, scope.roomId, limit) as MessageRow[];
    const messages = rows.reverse().map(toMessage);
    if (scope.threadRoot && messages.length < limit) {
      const root = this.byEventId(scope.threadRoot);
      if (root && root.roomId === scope.roomId && root.id > this.horizon(scope)) messages.unshift(root);
    }
    return messages;
  }

  /** How many messages of the scope are neither forgotten nor summarised yet. */
  countUnsummarised(scope: MemoryScope): number {
    const row = this.stmt('SELECT COUNT(*) AS n FROM memory_messages WHERE room_id = ? AND thread_root = ? AND id > ?').get(
      scope.roomId,
      scope.threadRoot ?? '',
      this.summarisedThrough(scope),
    ) as { n: number };
    return row.n;
  }

  /**
   * How many messages of the scope are neither forgotten nor summarised, and their size in
   * UTF-8 bytes (about 3.3 per token for English, see llm/tokens.ts).
   */
  unsummarisedSize(scope: MemoryScope): { count: number; bytes: number } {
    return this.stmt(
      `SELECT COUNT(*) AS count, COALESCE(SUM(length(CAST(body AS BLOB))), 0) AS bytes
       FROM memory_messages WHERE room_id = ? AND thread_root = ? AND id > ?`,
    ).get(scope.roomId, scope.threadRoot ?? '', this.summarisedThrough(scope)) as { count: number; bytes: number };
  }

  /** The oldest `limit` unsummarised messages of the scope, oldest first. */
  oldestUnsummarised(scope: MemoryScope, limit: number): StoredMessage[] {
    const rows = this.stmt('SELECT * FROM memory_messages WHERE room_id = ? AND thread_root = ? AND id > ? ORDER BY id ASC LIMIT ?').all(
      scope.roomId,
      scope.threadRoot ?? '',
      this.summarisedThrough(scope),
      limit,
    ) as MessageRow[];
    return rows.map(toMessage);
  }

  /** The newest `limit` chapters of the scope, oldest first; stale ones (see redact) are left out. */
  chapters(scope: MemoryScope, limit: number): Chapter[] {
    const rows = this.stmt(
      `SELECT * FROM memory_summaries WHERE persona_id = ? AND room_id = ? AND thread_root = ? AND stale = 0
       ORDER BY last_message_id DESC LIMIT ?`,
    ).all(scope.personaId, scope.roomId, scope.threadRoot ?? '', limit) as ChapterRow[];
    return rows.reverse().map(toChapter);
  }

  /** The scope's chapters a redaction made stale, oldest first. */
  staleChapters(scope: MemoryScope): StaleChapter[] {
    const rows = this.stmt(
      `SELECT * FROM memory_summaries WHERE persona_id = ? AND room_id = ? AND thread_root = ? AND stale > 0
       ORDER BY last_message_id ASC`,
    ).all(scope.personaId, scope.roomId, scope.threadRoot ?? '') as ChapterRow[];
    return rows.map((r) => ({ ...toChapter(r), stale: r.stale, leaveOut: parseNames(r.leave_out) }));
  }

  /** The newest non-stale chapter of the scope that ends before message `beforeId` (context for a rewrite). */
  chapterBefore(scope: MemoryScope, beforeId: number): Chapter | undefined {
    const row = this.stmt(
      `SELECT * FROM memory_summaries WHERE persona_id = ? AND room_id = ? AND thread_root = ? AND stale = 0 AND last_message_id < ?
       ORDER BY last_message_id DESC LIMIT 1`,
    ).get(scope.personaId, scope.roomId, scope.threadRoot ?? '', beforeId) as ChapterRow | undefined;
    return row && toChapter(row);
  }

  /** The scope's stored messages with ids first..last, oldest first. */
  messagesInRange(scope: MemoryScope, firstId: number, lastId: number): StoredMessage[] {
    const rows = this.stmt('SELECT * FROM memory_messages WHERE room_id = ? AND thread_root = ? AND id >= ? AND id <= ? ORDER BY id ASC').all(
      scope.roomId,
      scope.threadRoot ?? '',
      firstId,
      lastId,
    ) as MessageRow[];
    return rows.map(toMessage);
  }

  /**
   * Replaces a stale chapter's summary and clears the flag; refused (false) when the chapter is
   * gone (`!forget`) or another redaction made it stale again meanwhile (`stale` changed).
   */
  rewriteChapter(id: number, stale: number, summary: string, messageCount: number): boolean {
    return (
      this.stmt('UPDATE memory_summaries SET summary = ?, message_count = ?, stale = 0 WHERE id = ? AND stale = ?').run(summary, messageCount, id, stale)
        .changes === 1
    );
  }

  /** Deletes a stale chapter none of whose messages are left (unless it changed meanwhile). */
  deleteStaleChapter(id: number, stale: number): boolean {
    return this.stmt('DELETE FROM memory_summaries WHERE id = ? AND stale = ?').run(id, stale).changes === 1;
  }

  /**
   * Stores a chapter covering messages first..last of the scope. Refused (false) when it no
   * longer follows on from what is stored: `!forget` ran, or another chapter got there first.
   */
  addChapter(scope: MemoryScope, chapter: Omit<Chapter, 'id' | 'createdAt'>, now = Date.now()): boolean {
    const db = this.db;
    return db.transaction(() => {
      if (chapter.firstMessageId <= this.summarisedThrough(scope)) return false;
      this.stmt(
        `INSERT INTO memory_summaries (persona_id, room_id, thread_root, first_message_id, last_message_id, message_count, summary, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        scope.personaId,
        scope.roomId,
        scope.threadRoot ?? '',
        chapter.firstMessageId,
        chapter.lastMessageId,
        chapter.messageCount,
        chapter.summary,
        now,
      );
      return true;
    })();
  }

  /**
   * Makes the persona forget the room (every thread): its summaries and its own notes go,
   * and messages up to now become invisible to it. With `deleteMessages` (no other persona
   * shares the room) the messages themselves and the room's notes are deleted too.
   */
  forget(personaId: string, roomId: string, options: { deleteMessages: boolean }): void {
    const db = this.db;
    db.transaction(() => {
      // The global maximum id is past every message of the room and costs one index seek.
      const { maxId } = this.stmt('SELECT COALESCE(MAX(id), 0) AS maxId FROM memory_messages').get() as { maxId: number };
      this.stmt(
        `INSERT INTO memory_horizons (persona_id, room_id, forgotten_through) VALUES (?, ?, ?)
         ON CONFLICT (persona_id, room_id) DO UPDATE SET forgotten_through = excluded.forgotten_through`,
      ).run(personaId, roomId, maxId);
      this.stmt('DELETE FROM memory_summaries WHERE persona_id = ? AND room_id = ?').run(personaId, roomId);
      this.stmt('DELETE FROM memory_notes WHERE room_id = ? AND persona_id = ?').run(roomId, personaId);
      if (options.deleteMessages) {
        this.stmt('DELETE FROM memory_messages WHERE room_id = ?').run(roomId);
        this.stmt(`DELETE FROM memory_notes WHERE room_id = ? AND persona_id = ''`).run(roomId);
      }
    })();
  }

  /** Everything kept for one persona (summaries, horizons, its own notes): for when it is despawned. */
  forgetPersona(personaId: string): void {
    this.db.transaction(() => {
      this.stmt('DELETE FROM memory_notes WHERE persona_id = ?').run(personaId);
      this.stmt('DELETE FROM memory_summaries WHERE persona_id = ?').run(personaId);
      this.stmt('DELETE FROM memory_horizons WHERE persona_id = ?').run(personaId);
    })();
  }

  private horizon(scope: MemoryScope): number {
    const row = this.stmt('SELECT forgotten_through FROM memory_horizons WHERE persona_id = ? AND room_id = ?').get(
      scope.personaId,
      scope.roomId,
    ) as { forgotten_through: number } | undefined;
    return row?.forgotten_through ?? 0;
  }

  /** The id up to which the scope is covered by chapters or forgotten. */
  private summarisedThrough(scope: MemoryScope): number {
    const row = this.stmt(
      'SELECT MAX(last_message_id) AS last FROM memory_summaries WHERE persona_id = ? AND room_id = ? AND thread_root = ?',
    ).get(scope.personaId, scope.roomId, scope.threadRoot ?? '') as { last: number | null };
    return Math.max(row.last ?? 0, this.horizon(scope));
  }
}

/** The `leave_out` JSON list; anything unreadable is no name. */
function parseNames(json: string | undefined): string[] {
  if (!json) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
