import { getLogger } from '../logging.js';
import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('MessageIndex');

/** Messages indexed per transaction at most (a backlog after an upgrade or a crash takes several). */
export const INDEX_BATCH = 1024;

/**
 * How long after a message is stored its indexing may wait. Each indexing transaction adds a
 * new FTS5 segment that the index later merges, and costs a commit: indexing once per incoming
 * transaction (every turn of the event loop) was ~14% of the bridge's CPU under ingest. A
 * quarter second takes the messages of many transactions in one; no answer waits for it
 * (recall reads the index as it is, the newest messages reach the prompt as recent history,
 * and an explicit search indexes everything queued first).
 */
export const INDEX_DELAY_MS = 250;

const afterDelay = (run: () => void): void => void setTimeout(run, INDEX_DELAY_MS).unref();

/**
 * Fills the full-text index (memory_fts) from the queue the message triggers keep
 * (memory_fts_pending, migrations/009), in batches: FTS5 costs about as much per transaction
 * as per message. `noteWrite` after each message stored asks for the queue to be indexed
 * soon (INDEX_DELAY_MS): every message stored meanwhile, over many transactions of events, is
 * indexed together, and never on the way to an answer's model request. `flush` indexes everything queued at once: before an explicit search
 * (so it sees every message) and at start (what a crash or an upgrade left).
 */
export class MessageIndex {
  private readonly statements: StatementCache;
  private scheduled = false;

  constructor(
    private readonly db: Db,
    /** When the queue is indexed after a write (tests run it by hand). */
    private readonly schedule: (run: () => void) => void = afterDelay,
  ) {
    this.statements = new StatementCache(db);
  }

  /** Call after storing a message: the queue is indexed soon, off the caller's path. */
  noteWrite(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      // Closed meanwhile (shutdown): the next start indexes what is left.
      if (!this.db.open) return;
      try {
        this.flush();
      } catch (err) {
        // A full disk: the messages stay queued, and the next write or search tries again.
        log.warn(`indexing stored messages for search failed; will retry: ${describeError(err)}`);
      }
    });
  }

  /** Indexes every queued message, a batch per transaction; returns how many. */
  flush(): number {
    const insert = this.statements.get(
      `INSERT INTO memory_fts (rowid, room, body)
       SELECT m.id, hex(m.room_id), m.body FROM memory_fts_pending p JOIN memory_messages m ON m.id = p.id ORDER BY p.id LIMIT ?`,
    );
    const dequeue = this.statements.get('DELETE FROM memory_fts_pending WHERE id IN (SELECT id FROM memory_fts_pending ORDER BY id LIMIT ?)');
    const batch = this.db.transaction(() => {
      const done = insert.run(INDEX_BATCH).changes;
      dequeue.run(INDEX_BATCH);
      return done;
    });
    let total = 0;
    for (;;) {
      const done = batch();
      total += done;
      if (done < INDEX_BATCH) return total;
    }
  }

  /** Messages waiting to be indexed. */
  pending(): number {
    return (this.statements.get('SELECT COUNT(*) AS n FROM memory_fts_pending').get() as { n: number }).n;
  }
}
