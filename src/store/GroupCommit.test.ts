import Database from 'better-sqlite3';
import { GroupCommit } from './GroupCommit.js';

function setUp() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))');
  const insert = db.prepare('INSERT OR IGNORE INTO t (id, n) VALUES (?, ?)');
  const rows = () => (db.prepare('SELECT id, n FROM t ORDER BY rowid').all() as { id: string; n: number }[]).map((r) => `${r.id}=${r.n}`);
  let pending: (() => void) | null = null;
  let pendingLater: (() => void) | null = null;
  const commits = new GroupCommit(
    db,
    (flush) => {
      pending = flush;
    },
    (flush) => {
      pendingLater = flush;
    },
  );
  /** The next turn of the event loop: what `later` scheduled. */
  const turn = () => {
    const flush = pendingLater;
    pendingLater = null;
    flush?.();
  };
  const tick = () => {
    const flush = pending;
    pending = null;
    flush?.();
  };
  // Counts the transactions GroupCommit opens.
  let transactions = 0;
  const realTransaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const wrapped = realTransaction(fn);
    return ((...args: unknown[]) => {
      transactions++;
      return wrapped(...args);
    }) as ReturnType<typeof realTransaction>;
  }) as typeof db.transaction;
  return { db, insert, rows, commits, tick, turn, transactions: () => transactions };
}

describe('GroupCommit', () => {
  test('writes queued together are committed in one transaction, in order, and each promise resolves with its own result only once committed', async () => {
    const { insert, rows, commits, tick, transactions } = setUp();
    const results = ['a', 'b', 'a', 'c'].map((id, i) => commits.run(() => insert.run(id, i).changes));
    let settled = false;
    void Promise.all(results).then(() => (settled = true));
    await Promise.resolve();
    expect(rows()).toEqual([]);
    expect(settled).toBe(false);
    tick();
    await expect(Promise.all(results)).resolves.toEqual([1, 1, 0, 1]);
    expect(rows()).toEqual(['a=0', 'b=1', 'c=3']);
    expect(transactions()).toBe(1);
  });

  test('a failing write is rejected on its own; the others of its batch are committed', async () => {
    const { db, insert, rows, commits, tick } = setUp();
    const ok1 = commits.run(() => insert.run('a', 1).changes);
    const bad = commits.run(() => db.prepare('INSERT INTO t (id, n) VALUES (?, ?)').run('b', -1).changes);
    const ok2 = commits.run(() => insert.run('c', 2).changes);
    tick();
    await expect(ok1).resolves.toBe(1);
    await expect(bad).rejects.toThrow(/CHECK constraint/);
    await expect(ok2).resolves.toBe(1);
    expect(rows()).toEqual(['a=1', 'c=2']);
  });

  test('flush commits what is queued at once (shutdown); later writes schedule a new commit', async () => {
    const { insert, rows, commits, tick } = setUp();
    const first = commits.run(() => insert.run('a', 1).changes);
    commits.flush();
    await expect(first).resolves.toBe(1);
    expect(rows()).toEqual(['a=1']);
    tick(); // the scheduled flush finds nothing left
    const second = commits.run(() => insert.run('b', 2).changes);
    tick();
    await expect(second).resolves.toBe(1);
    expect(rows()).toEqual(['a=1', 'b=2']);
  });

  test('a batch larger than the cap is committed in several transactions, all of it', async () => {
    const { insert, rows, commits, tick, transactions } = setUp();
    const all = Array.from({ length: 2500 }, (_, i) => commits.run(() => insert.run(`e${i}`, i).changes));
    tick();
    await Promise.all(all);
    expect(rows()).toHaveLength(2500);
    expect(transactions()).toBe(3);
  });

  test('with the default schedule, writes queued together commit together, before the event loop turns (no backlog builds up)', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY)');
    const insert = db.prepare('INSERT INTO t (id) VALUES (?)');
    const commits = new GroupCommit(db);
    const inTransaction: boolean[] = [];
    const write = (id: string) => () => {
      inTransaction.push(db.inTransaction);
      return insert.run(id).changes;
    };
    let turned = false;
    setImmediate(() => (turned = true));
    // Three "events" that each await once before writing, as pipeline steps do.
    await Promise.all(['a', 'b', 'c'].map(async (id) => {
      await Promise.resolve();
      return commits.run(write(id));
    }));
    expect(turned).toBe(false);
    expect(inTransaction).toEqual([true, true, true]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 3 });
  });

  test('later: committed on the next turn of the event loop, not before; nothing waits for it meanwhile', async () => {
    const { insert, rows, commits, tick, turn, transactions } = setUp();
    const a = commits.later(() => insert.run('a', 1).changes);
    const b = commits.later(() => insert.run('b', 2).changes);
    tick(); // no microtask commit was asked for
    await Promise.resolve();
    expect(rows()).toEqual([]);
    turn();
    await expect(Promise.all([a, b])).resolves.toEqual([1, 1]);
    expect(rows()).toEqual(['a=1', 'b=2']);
    expect(transactions()).toBe(1);
  });

  test('later writes go with an earlier commit that run asks for, in the order queued', async () => {
    const { insert, rows, commits, tick, turn } = setUp();
    const deferred = commits.later(() => insert.run('a', 1).changes);
    const awaited = commits.run(() => insert.run('b', 2).changes);
    tick();
    await expect(Promise.all([deferred, awaited])).resolves.toEqual([1, 1]);
    expect(rows()).toEqual(['a=1', 'b=2']);
    turn(); // finds nothing left
    expect(rows()).toEqual(['a=1', 'b=2']);
  });

  test('writes queued after the database closed are refused, not thrown at the event loop', async () => {
    const { db, insert, commits, turn } = setUp();
    const late = commits.later(() => insert.run('a', 1).changes);
    db.close();
    turn();
    await expect(late).rejects.toThrow(/closed/);
  });

  test('by default later commits on the next turn of the event loop', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY)');
    const commits = new GroupCommit(db);
    const committed = commits.later(() => db.prepare('INSERT INTO t (id) VALUES (?)').run('a').changes);
    await Promise.resolve();
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    await expect(committed).resolves.toBe(1);
  });
});
