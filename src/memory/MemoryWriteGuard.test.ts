import { MEMORY_WRITE_FAILED_NOTICE, MESSAGES_REFUSED_NOTICE } from '../reply/messages.js';
import { MemoryWriteGuard } from './MemoryWriteGuard.js';
import { jest } from '@jest/globals';

/** A database write that fails like better-sqlite3 on a full disk while `full` is set. */
function fakeDb() {
  const db = {
    full: true,
    rows: [] as string[],
    insert(row: string): boolean {
      if (db.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      db.rows.push(row);
      return true;
    },
  };
  return db;
}

describe('MemoryWriteGuard', () => {
  test('SQLITE_FULL: one notice per room per episode, every failure counted, nothing thrown', async () => {
    const db = fakeDb();
    const notices: string[] = [];
    const codes: string[] = [];
    const guard = new MemoryWriteGuard({ notify: async (roomId, text) => void notices.push(`${roomId} ${text}`), onWriteFailed: (c) => void codes.push(c) });
    await expect(guard.write('!a', 'remember', () => db.insert('1'))).resolves.toBeUndefined();
    await guard.write('!a', 'remember', () => db.insert('2'));
    await guard.write('!b', 'remember', () => db.insert('3'));
    expect(notices).toEqual([`!a ${MEMORY_WRITE_FAILED_NOTICE}`, `!b ${MEMORY_WRITE_FAILED_NOTICE}`]);
    expect(codes).toEqual(['SQLITE_FULL', 'SQLITE_FULL', 'SQLITE_FULL']);

    // Space again: the write goes through and the episode is over everywhere.
    db.full = false;
    await expect(guard.write('!b', 'remember', () => db.insert('4'))).resolves.toBe(true);
    expect(db.rows).toEqual(['4']);
    db.full = true;
    await guard.write('!a', 'remember', () => db.insert('5'));
    expect(notices).toHaveLength(3);
  });

  test('an awaited write (GroupCommit): its rejection is a failed write like a thrown one', async () => {
    const db = fakeDb();
    const notices: string[] = [];
    const guard = new MemoryWriteGuard({ notify: async (roomId, text) => void notices.push(`${roomId} ${text}`) });
    await expect(guard.write('!a', 'remember', async () => db.insert('1'))).resolves.toBeUndefined();
    expect(notices).toEqual([`!a ${MEMORY_WRITE_FAILED_NOTICE}`]);
    db.full = false;
    await expect(guard.write('!a', 'remember', async () => db.insert('2'))).resolves.toBe(true);
    expect(guard.inFault).toBe(false);
  });

  test('an error without a code counts as "error"; a notice that cannot be sent is not thrown', async () => {
    const codes: string[] = [];
    const guard = new MemoryWriteGuard({
      notify: async () => {
        throw new Error('M_FORBIDDEN');
      },
      onWriteFailed: (c) => void codes.push(c),
    });
    await expect(
      guard.write('!a', 'remember', () => {
        throw new Error('disk I/O error');
      }),
    ).resolves.toBeUndefined();
    expect(codes).toEqual(['error']);
  });
});

describe('MemoryWriteGuard: refused transactions and recovery', () => {
  afterEach(() => jest.useRealTimers());

  test('refused messages: one notice per room (shared with memory writes), rooms de-duplicated', async () => {
    const notices: string[] = [];
    const guard = new MemoryWriteGuard({ notify: async (roomId, text) => void notices.push(`${roomId} ${text}`) });
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    await guard.refused(['!a', '!a', '!b'], full);
    await guard.refused(['!a'], full);
    await guard.write('!b', 'remember', () => {
      throw full;
    });
    expect(notices).toEqual([`!a ${MESSAGES_REFUSED_NOTICE}`, `!b ${MESSAGES_REFUSED_NOTICE}`]);
    expect(guard.inFault).toBe(true);
    guard.succeeded();
    expect(guard.inFault).toBe(false);
    await guard.refused(['!a'], full);
    expect(notices).toHaveLength(3);
    guard.stop();
  });

  test('while failing, the probe is retried; when it passes the episode ends and onRecovered runs once', async () => {
    jest.useFakeTimers();
    let full = true;
    let probes = 0;
    const recovered: number[] = [];
    const guard = new MemoryWriteGuard({
      notify: async () => undefined,
      probe: () => {
        probes++;
        if (full) throw new Error('disk full');
      },
      onRecovered: () => void recovered.push(probes),
      recheckMs: 1000,
    });
    await guard.refused(['!a'], new Error('database or disk is full'));
    await jest.advanceTimersByTimeAsync(3000);
    expect(probes).toBe(3);
    expect(guard.inFault).toBe(true);
    full = false;
    await jest.advanceTimersByTimeAsync(1000);
    expect(guard.inFault).toBe(false);
    expect(recovered).toEqual([4]);
    // No more probing once recovered.
    await jest.advanceTimersByTimeAsync(5000);
    expect(probes).toBe(4);
  });

  test('a failing onRecovered (the homeserver ping) is logged, not thrown', async () => {
    const guard = new MemoryWriteGuard({
      notify: async () => undefined,
      onRecovered: async () => {
        throw new Error('M_CONNECTION_FAILED');
      },
    });
    await guard.refused(['!a'], new Error('full'));
    expect(() => guard.succeeded()).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    guard.stop();
  });
});
