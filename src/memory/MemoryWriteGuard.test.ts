import { MEMORY_WRITE_FAILED_NOTICE } from '../reply/messages.js';
import { MemoryWriteGuard } from './MemoryWriteGuard.js';

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
