import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';

/** Messages stored between two batches; also the size of one batch's transaction. */
export const INDEX_BATCH = 128;

/**
 * Fills the full-text index (memory_fts) from the queue the message triggers keep
 * (memory_fts_pending, migrations/009): in batches, because FTS5 costs about as much per
 * transaction as per message. `noteWrite` after each message stored indexes a batch once
 * enough have queued; `flush` indexes everything queued, before a search (so it sees every
 * message) and at start (what a crash or an upgrade left).
 */
export class MessageIndex {
  private readonly statements: StatementCache;
  private writes = 0;

  constructor(private readonly db: Db) {
    this.statements = new StatementCache(db);
  }

  /** Call after storing a message; indexes a batch every {@link INDEX_BATCH} calls. */
  noteWrite(): void {
    if (++this.writes < INDEX_BATCH) return;
    this.writes = 0;
    this.flush();
  }

  /** Indexes every queued message, a batch per transaction; returns how many. */
  flush(): number {
    const insert = this.statements.get(
      `INSERT INTO memory_fts (rowid, room, body)
       SELECT m.id, hex(m.room_id), m.body FROM memory_fts_pending p JOIN memory_messages m ON m.id = p.id ORDER BY p.id LIMIT ?`,
    );
    const dequeue = this.statements.get('DELETE FROM memory_fts_pending WHERE id IN (SELECT id FROM memory_fts_pending ORDER BY id LIMIT ?)');
    const batch = this.db.transaction(() => {
      const done = insert.run(INDEX_BATCH * 8).changes;
      dequeue.run(INDEX_BATCH * 8);
      return done;
    });
    let total = 0;
    for (;;) {
      const done = batch();
      total += done;
      if (done < INDEX_BATCH * 8) return total;
    }
  }

  /** Messages waiting to be indexed. */
  pending(): number {
    return (this.statements.get('SELECT COUNT(*) AS n FROM memory_fts_pending').get() as { n: number }).n;
  }
}
