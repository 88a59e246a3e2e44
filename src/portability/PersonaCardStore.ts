import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from '../store/Database.js';
import type { CardExtras } from './PersonaDraft.js';

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

export interface PersonaCard {
  firstMessage: string | null;
  card: CardExtras;
}

function parseCard(json: string): CardExtras {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as CardExtras) : {};
  } catch {
    return {};
  }
}

/**
 * The card-only parts of personas (migrations/005): first message and the extras an export
 * gives back, and which DMs have been greeted. Rows go with the persona (ON DELETE CASCADE).
 */
export class PersonaCardStore {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  get(userId: string): PersonaCard {
    const row = this.stmt('SELECT first_message, card FROM persona_cards WHERE user_id = ?').get(userId) as
      | { first_message: string | null; card: string }
      | undefined;
    return row ? { firstMessage: row.first_message, card: parseCard(row.card) } : { firstMessage: null, card: {} };
  }

  set(userId: string, value: PersonaCard): void {
    this.stmt(
      `INSERT INTO persona_cards (user_id, first_message, card) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET first_message = excluded.first_message, card = excluded.card`,
    ).run(userId, value.firstMessage, JSON.stringify(value.card));
  }

  /** Records the greeting of a room; false when the room was greeted already (send nothing). */
  claimGreeting(userId: string, roomId: string, now: number): boolean {
    return this.stmt('INSERT OR IGNORE INTO persona_greetings (user_id, room_id, greeted_at) VALUES (?, ?, ?)').run(userId, roomId, now).changes === 1;
  }

  /** Forgets a persona's greetings (despawn, or a purge of its memory). */
  forgetGreetings(userId: string): void {
    this.stmt('DELETE FROM persona_greetings WHERE user_id = ?').run(userId);
  }
}
