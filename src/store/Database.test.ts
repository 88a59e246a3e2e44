import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentSchemaVersion, loadMigrations, migrate, MigrationError, openDatabase, probeWrite, WAL_CHECKPOINT_PAGES } from './Database.js';
import { ProcessedEventStore } from './ProcessedEventStore.js';

const m = (version: number, sql: string) => ({ version, name: `m${version}`, sql });

describe('migrations', () => {
  test('the shipped migrations apply in order to a fresh database', () => {
    const db = openDatabase(':memory:');
    expect(currentSchemaVersion(db)).toBe(loadMigrations().length);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  test('steps one version at a time and resumes where it stopped', () => {
    const db = openDatabase(':memory:', [m(1, 'CREATE TABLE a (x INTEGER)')]);
    expect(migrate(db, [m(1, 'CREATE TABLE a (x INTEGER)'), m(2, 'CREATE TABLE b (y INTEGER)')])).toEqual({ from: 1, to: 2 });
    expect(currentSchemaVersion(db)).toBe(2);
  });

  test('a failing step rolls back entirely and keeps the previous version', () => {
    const db = openDatabase(':memory:', [m(1, 'CREATE TABLE a (x INTEGER)')]);
    expect(() => migrate(db, [m(1, ''), m(2, 'CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1);')])).toThrow(/nowhere/);
    expect(currentSchemaVersion(db)).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'c'").get()).toBeUndefined();
  });

  test('refuses a database newer than the code', () => {
    const db = openDatabase(':memory:', [m(1, 'SELECT 1'), m(2, 'SELECT 1')]);
    expect(() => migrate(db, [m(1, 'SELECT 1')])).toThrow(MigrationError);
    expect(() => migrate(db, [m(1, 'SELECT 1')])).toThrow(/version 2 is newer than this release supports \(1\)/);
  });

  test('migration files must be numbered without gaps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    writeFileSync(join(dir, '001-a.sql'), 'SELECT 1');
    writeFileSync(join(dir, '003-c.sql'), 'SELECT 1');
    expect(() => loadMigrations(dir)).toThrow(/without gaps/);
  });

  test('a file database uses WAL', () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'db-')), 'sub', 'p.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  test('the write-ahead log is checkpointed every WAL_CHECKPOINT_PAGES pages, not every 1,000', () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'db-')), 'p.db'));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(WAL_CHECKPOINT_PAGES);
    db.close();
  });
});

describe('ProcessedEventStore', () => {
  test('an event is new once, and survives reopening', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dedupe-')), 'p.db');
    let db = openDatabase(path);
    expect(new ProcessedEventStore(db).markProcessed('$a', '!r')).toBe(true);
    expect(new ProcessedEventStore(db).markProcessed('$a', '!r')).toBe(false);
    db.close();
    db = openDatabase(path);
    const store = new ProcessedEventStore(db);
    expect(store.markProcessed('$a', '!r')).toBe(false);
    expect(store.markProcessed('$b', '!r')).toBe(true);
  });

  test('pruning forgets only old ids', () => {
    const store = new ProcessedEventStore(openDatabase(':memory:'));
    store.markProcessed('$old', '!r', 1000);
    store.markProcessed('$new', '!r', 5000);
    expect(store.pruneOlderThan(2000)).toBe(1);
    expect(store.markProcessed('$old', '!r')).toBe(true);
    expect(store.markProcessed('$new', '!r')).toBe(false);
  });
});

describe('openDatabase: files and failures', () => {
  test('a new database is 0600 in a 0700 folder; the write probe writes', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'db-perms-')), 'data');
    const path = join(dir, 'personas.db');
    const db = openDatabase(path);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(probeWrite(db)).toBe('ok');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
  });

  test('a database that cannot be opened is named in the error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-bad-'));
    const path = join(dir, 'not-a-db');
    writeFileSync(path, 'this is not sqlite, but long enough to have a header of sorts ........................................');
    expect(() => openDatabase(path)).toThrow(new RegExp(`cannot open the database ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  test('a read-only database fails the write probe (what /health reports as 503)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-ro-'));
    const path = join(dir, 'personas.db');
    openDatabase(path).close();
    const ro = new BetterSqlite3(path, { readonly: true });
    expect(() => probeWrite(ro)).toThrow(/readonly/);
    ro.close();
  });
});

describe('openDatabase: page cache', () => {
  test('SQLite keeps 4 MiB of pages by default (not the 16 MB better-sqlite3 builds it with), or database.cache_mb', () => {
    expect(openDatabase(':memory:').pragma('cache_size', { simple: true })).toBe(-4096);
    expect(openDatabase(':memory:', undefined, { cacheMib: 16 }).pragma('cache_size', { simple: true })).toBe(-16384);
  });
});
