import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { getLogger } from '../logging.js';
import { DEFAULT_CACHE_MIB } from './pageCache.js';
import { describeError } from '../util/describeError.js';

export type Db = BetterSqlite3.Database;

const log = getLogger('Database');

/** migrations/ at the package root, whether we run from src/ (tests) or dist/ (built). */
export const DEFAULT_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Reads `NNN-name.sql` files, ordered by number; a gap or a duplicate number is a packaging bug. */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const match = /^(\d+)-([\w.-]+)\.sql$/.exec(file);
      if (!match) throw new MigrationError(`migration file name '${file}' must look like 001-name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`migrations must be numbered 1..N without gaps; found ${m.version} at position ${i + 1}`);
  });
  return migrations;
}

export function currentSchemaVersion(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/**
 * Applies pending migrations one version at a time, each in its own transaction together
 * with the version bump, so a crash leaves the database at a clean version boundary.
 * Refuses a database written by newer code rather than guessing at its shape.
 */
export function migrate(db: Db, migrations: Migration[] = loadMigrations()): { from: number; to: number } {
  const from = currentSchemaVersion(db);
  const latest = migrations.length;
  if (from > latest) {
    throw new MigrationError(
      `database schema version ${from} is newer than this release supports (${latest}); ` +
        'upgrade matrix-appservice-personas or restore a backup made for this version',
    );
  }
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('DELETE FROM schema_version').run();
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
    })();
    log.info(`applied migration ${String(m.version).padStart(3, '0')}-${m.name}`);
  }
  return { from, to: Math.max(from, latest) };
}



export interface DatabaseOptions {
  /** SQLite's page cache in MiB (default DEFAULT_CACHE_MIB). */
  cacheMib?: number;
}

/** The database cannot be opened or written at start; the message names the file. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

/**
 * Pages the write-ahead log takes before SQLite copies them back into the database (a
 * checkpoint, with its fsyncs). At SQLite's default of 1,000 pages (4 MiB) a checkpoint ran
 * every few incoming transactions under ingest, each copying again the same hot pages (the
 * de-duplication and pending tables' indexes, the newest messages); ~32 MiB between checkpoints
 * copies each hot page once for many transactions. Durability is unchanged: a commit is in the
 * log (synchronous = NORMAL), and the log is read back at the next open after a crash.
 */
export const WAL_CHECKPOINT_PAGES = 8000;

/**
 * Opens (creating if needed) the store: WAL for concurrent readers, foreign keys enforced.
 * A new database is created readable by the bridge's user only (0600, in a 0700 folder when
 * the folder is new): it holds every conversation. SQLite gives its -wal and -shm files the
 * database file's permissions. Failures name the path (a read-only file, a full disk, a
 * missing permission) so the admin knows where to look.
 */
export function openDatabase(path: string, migrations?: Migration[], options: DatabaseOptions = {}): Db {
  let db: Db | null = null;
  try {
    if (path !== ':memory:') {
      const file = resolve(path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
    }
    db = new BetterSqlite3(path);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    db.pragma('busy_timeout = 5000');
    db.pragma(`cache_size = -${Math.round((options.cacheMib ?? DEFAULT_CACHE_MIB) * 1024)}`);
    migrate(db, migrations);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof MigrationError) throw err;
    const code = (err as { code?: string }).code;
    throw new DatabaseOpenError(`cannot open the database ${resolve(path)}${code ? ` (${code})` : ''}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * A real write (the header's user_version, unused by us), for /health: a full disk or a
 * read-only file fails here, where a SELECT would still succeed.
 */
export function probeWrite(db: Db): string {
  const version = Number(db.pragma('user_version', { simple: true }) ?? 0);
  db.pragma(`user_version = ${(version + 1) % 1_000_000}`);
  return 'ok';
}
