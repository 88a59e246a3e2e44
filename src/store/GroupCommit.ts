import type { Db } from './Database.js';

/** Writes per SQLite transaction at most: a 10,000-event burst commits in several, each write-ahead log append bounded. */
const MAX_BATCH = 1000;

interface QueuedWrite {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: the small writes every incoming event makes (its de-duplication mark, the
 * message remembered, its pending row removed) queued together are committed in one SQLite
 * transaction instead of one each. An appservice transaction's events run concurrently (one
 * per room) through the same steps, so they reach each write together: one commit per step
 * instead of 100; the commits were ~half of the bridge's CPU under ingest (see BENCHMARKS.md).
 *
 * The commit is a microtask, not a later turn of the event loop: a transaction's events are
 * then handled as far as before by the time the next transaction is read. With setImmediate
 * each write cost an event a turn of the loop, during which the next transaction was
 * accepted; a room's queue grew by one event per turn and drained one per three, and the
 * backlog (and memory) grew for as long as the homeserver kept sending.
 *
 * Each write's promise settles only once its transaction is committed, so whoever awaits it
 * still goes on only after the write is durable, and writes commit in the order queued.
 *
 * `later` is for writes nobody needs committed before going on (the message remembered, the
 * pending row removed: the pending row written when the transaction was received keeps them
 * safe across a crash). They wait for the next turn of the event loop, after the work in
 * hand, so an answer's model request leaves before them and one commit takes all the writes
 * of a transaction of events, unless a `run` commits them earlier (in order, with its own).
 * When any write of a batch throws (a full disk, a constraint), the batch is rolled back and
 * every write runs again on its own, as without batching: each gets its own outcome. Writes
 * must therefore only touch the database (or be harmless to repeat).
 */
export class GroupCommit {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private scheduledLater = false;

  constructor(
    private readonly db: Db,
    private readonly schedule: (flush: () => void) => void = queueMicrotask,
    private readonly scheduleLater: (flush: () => void) => void = (flush) => void setImmediate(flush),
  ) {}

  /** Queues the write for the next commit, right after the work in hand (a microtask); resolves with its result once committed. */
  run<T>(write: () => T): Promise<T> {
    const committed = this.enqueue(write);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
    return committed;
  }

  /** Queues a write nobody waits for before going on: committed on the next turn of the event loop at the latest. */
  later<T>(write: () => T): Promise<T> {
    const committed = this.enqueue(write);
    if (!this.scheduledLater) {
      this.scheduledLater = true;
      this.scheduleLater(() => {
        this.scheduledLater = false;
        this.flush();
      });
    }
    return committed;
  }

  private enqueue<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject }));
  }

  /** Commits everything queued now (also at shutdown, before the database closes). */
  flush(): void {
    this.scheduled = false;
    if (this.queue.length > 0 && !this.db.open) {
      // Closed (shutdown): nothing can be committed any more; the next start resumes what is pending.
      for (const w of this.queue.splice(0)) w.reject(new Error('the database is closed'));
      return;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.commit(batch);
    }
  }

  private commit(batch: QueuedWrite[]): void {
    if (batch.length > 1 && !this.db.inTransaction) {
      let results: unknown[] | undefined;
      try {
        results = this.db.transaction(() => batch.map((w) => w.write()))();
      } catch {
        // Rolled back as a whole: below, each write alone decides its own outcome.
      }
      if (results) {
        const committed = results;
        batch.forEach((w, i) => w.resolve(committed[i]));
        return;
      }
    }
    for (const w of batch) {
      try {
        w.resolve(w.write());
      } catch (err) {
        w.reject(err);
      }
    }
  }
}
