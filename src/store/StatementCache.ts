import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from './Database.js';

export type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/** Prepares each SQL text once (preparing per call costs time and native memory). */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  get(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
