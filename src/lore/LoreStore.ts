import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';
import type { CharacterBook } from './book.js';

/** Where a book is attached: a persona (by user ID) or a room (by room ID). */
export interface LoreTarget {
  kind: 'persona' | 'room';
  id: string;
}

export interface StoredBook {
  id: number;
  name: string;
  format: string;
  entries: number;
  importedBy: string;
  importedAt: number;
  attachedTo: LoreTarget[];
}

interface BookRow {
  id: number;
  name: string;
  book: string;
  format: string;
  imported_by: string;
  imported_at: number;
}

/** Parsed books kept, by id (answers read them often; an import replaces the entry). */
const PARSED_CACHE = 200;

/**
 * Standalone lorebooks and where they are attached (migrations/013). Books are stored as read
 * (unknown fields kept) so an export gives them back; the engine (lore/activate.ts) reads them
 * defensively.
 */
export class LoreStore {
  private readonly statements: StatementCache;
  private readonly parsed = new Map<number, { importedAt: number; book: CharacterBook }>();

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string) {
    return this.statements.get(sql);
  }

  /** Stores a book under its name; a book of that name is replaced (its attachments stay). */
  save(name: string, book: CharacterBook, format: string, by: string, now = Date.now()): { id: number; replaced: boolean } {
    return this.db.transaction(() => {
      const existing = this.stmt('SELECT id FROM lorebooks WHERE name = ?').get(name) as { id: number } | undefined;
      const json = JSON.stringify(book);
      if (existing) {
        this.stmt('UPDATE lorebooks SET name = ?, book = ?, format = ?, imported_by = ?, imported_at = ? WHERE id = ?').run(name, json, format, by, now, existing.id);
        this.parsed.delete(existing.id);
        return { id: existing.id, replaced: true };
      }
      const res = this.stmt('INSERT INTO lorebooks (name, book, format, imported_by, imported_at) VALUES (?, ?, ?, ?, ?)').run(name, json, format, by, now);
      return { id: Number(res.lastInsertRowid), replaced: false };
    })();
  }

  /** The book of this name (any case). */
  byName(name: string): StoredBook | undefined {
    const row = this.stmt('SELECT * FROM lorebooks WHERE name = ?').get(name) as BookRow | undefined;
    return row && this.describe(row);
  }

  list(): StoredBook[] {
    return (this.stmt('SELECT * FROM lorebooks ORDER BY name').all() as BookRow[]).map((r) => this.describe(r));
  }

  /** False when it was attached there already. */
  attach(bookId: number, target: LoreTarget, by: string, now = Date.now()): boolean {
    return (
      // Attachments are listed and applied in the order made: two made in the same millisecond
      // must not tie (the tie fell back to the key's order), so each is dated after the last.
      this.stmt(
        `INSERT OR IGNORE INTO lorebook_attachments (book_id, target_kind, target, attached_by, attached_at)
         VALUES (?, ?, ?, ?, MAX(?, (SELECT COALESCE(MAX(attached_at), 0) + 1 FROM lorebook_attachments)))`,
      ).run(bookId, target.kind, target.id, by, now).changes === 1
    );
  }

  /** Detaches the book from one target, or from every target; how many were removed. */
  detach(bookId: number, target?: LoreTarget): number {
    if (!target) return this.stmt('DELETE FROM lorebook_attachments WHERE book_id = ?').run(bookId).changes;
    return this.stmt('DELETE FROM lorebook_attachments WHERE book_id = ? AND target_kind = ? AND target = ?').run(bookId, target.kind, target.id).changes;
  }

  delete(bookId: number): boolean {
    this.parsed.delete(bookId);
    return this.stmt('DELETE FROM lorebooks WHERE id = ?').run(bookId).changes === 1;
  }

  /** The books attached to the persona, then those attached to the room, each once, in the order attached. */
  booksFor(personaId: string, roomId: string): CharacterBook[] {
    const rows = this.stmt(
      `SELECT b.id, b.imported_at, b.book FROM lorebook_attachments a JOIN lorebooks b ON b.id = a.book_id
       WHERE (a.target_kind = 'persona' AND a.target = ?) OR (a.target_kind = 'room' AND a.target = ?)
       ORDER BY a.target_kind = 'room', a.attached_at, b.id`,
    ).all(personaId, roomId) as Array<{ id: number; imported_at: number; book: string }>;
    const seen = new Set<number>();
    const books: CharacterBook[] = [];
    for (const row of rows) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      const book = this.parse(row.id, row.imported_at, row.book);
      if (book) books.push(book);
    }
    return books;
  }

  /** The books attached to the persona itself (for `!persona export`). */
  personaBooks(personaId: string): CharacterBook[] {
    return this.booksFor(personaId, '');
  }

  /** A despawned persona's attachments go with it. */
  forgetPersona(personaId: string): void {
    this.stmt(`DELETE FROM lorebook_attachments WHERE target_kind = 'persona' AND target = ?`).run(personaId);
  }

  private describe(row: BookRow): StoredBook {
    const attached = this.stmt('SELECT target_kind, target FROM lorebook_attachments WHERE book_id = ? ORDER BY attached_at').all(row.id) as Array<{
      target_kind: 'persona' | 'room';
      target: string;
    }>;
    return {
      id: row.id,
      name: row.name,
      format: row.format,
      entries: this.parse(row.id, row.imported_at, row.book)?.entries.length ?? 0,
      importedBy: row.imported_by,
      importedAt: row.imported_at,
      attachedTo: attached.map((a) => ({ kind: a.target_kind, id: a.target })),
    };
  }

  private parse(id: number, importedAt: number, json: string): CharacterBook | undefined {
    const hit = this.parsed.get(id);
    if (hit && hit.importedAt === importedAt) return hit.book;
    let book: CharacterBook | undefined;
    try {
      const value: unknown = JSON.parse(json);
      book = typeof value === 'object' && value !== null && Array.isArray((value as CharacterBook).entries) ? (value as CharacterBook) : undefined;
    } catch {
      book = undefined;
    }
    if (book) {
      this.parsed.set(id, { importedAt, book });
      if (this.parsed.size > PARSED_CACHE) this.parsed.delete(this.parsed.keys().next().value!);
    }
    return book;
  }
}
