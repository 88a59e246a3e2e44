import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';

/** Which people have been told that a persona is an AI character (migrations/016). */
export class DisclosureStore {
  private readonly statements: StatementCache;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string) {
    return this.statements.get(sql);
  }

  told(personaId: string, userId: string): boolean {
    return this.stmt('SELECT 1 FROM persona_disclosures WHERE user_id = ? AND persona_id = ?').get(userId, personaId) !== undefined;
  }

  markTold(personaId: string, userId: string, now = Date.now()): void {
    this.stmt('INSERT OR IGNORE INTO persona_disclosures (user_id, persona_id, disclosed_at) VALUES (?, ?, ?)').run(userId, personaId, now);
  }

  /** Forget me: told again next time. */
  forgetUser(userId: string): number {
    return this.stmt('DELETE FROM persona_disclosures WHERE user_id = ?').run(userId).changes;
  }
}
