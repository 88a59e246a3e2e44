import { checkDatabaseWritable, databaseHealthCheck, MIN_FREE_BYTES } from './databaseHealth.js';

describe('database health', () => {
  test('a full disk is named even when the write probe still passes (WAL reuse)', () => {
    const check = databaseHealthCheck({ path: '/data/personas.db', probeWrite: () => 'ok', freeBytes: () => 12 * 1024 });
    expect(check.name).toBe('database');
    expect(check.check()).toEqual({ name: 'database', status: 'fail', detail: 'disk full: 12 KiB free on /data (the database /data/personas.db needs room to write)' });
  });

  test('a failing write names the file and SQLite code', () => {
    const probeWrite = () => {
      throw Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' });
    };
    expect(() => checkDatabaseWritable({ path: '/data/personas.db', probeWrite, freeBytes: () => MIN_FREE_BYTES })).toThrow(
      'cannot write the database /data/personas.db (SQLITE_READONLY): attempt to write a readonly database',
    );
  });

  test('room and a working write: healthy; an in-memory database has no disk to check', () => {
    expect(checkDatabaseWritable({ path: '/data/personas.db', probeWrite: () => 'ok', freeBytes: () => 10 * MIN_FREE_BYTES })).toBe('ok');
    expect(
      checkDatabaseWritable({
        path: ':memory:',
        probeWrite: () => 'ok',
        freeBytes: () => {
          throw new Error('not asked');
        },
      }),
    ).toBe('ok');
  });
});
