import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fail, pass } from './CheckResult.js';
import type { HealthCheck } from './HealthCheck.js';
import { describeError } from '../util/describeError.js';

/**
 * Below this much free space the disk counts as full. A write probe alone can pass on a full
 * disk: SQLite in WAL mode reuses the space of an already allocated -wal file, so small writes
 * go through until a checkpoint or a larger write needs a new block, and then every write
 * fails at once.
 */
export const MIN_FREE_BYTES = 1024 * 1024;

export interface DatabaseWritableOptions {
  /** The database file (`database.path`); ':memory:' skips the free-space check. */
  path: string;
  /** A real small write (Database.probeWrite). */
  probeWrite(): string;
  /** Tests: a fake filesystem. */
  freeBytes?: (dir: string) => number;
}

const freeBytesOf = (dir: string): number => {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
};

/**
 * Throws, naming the disk or the database file, unless the database's folder has room and a
 * real write goes through. For /health and for noticing the end of a disk-full episode.
 */
export function checkDatabaseWritable(opts: DatabaseWritableOptions): string {
  const file = opts.path === ':memory:' ? null : resolve(opts.path);
  if (file) {
    const dir = dirname(file);
    const free = (opts.freeBytes ?? freeBytesOf)(dir);
    if (free < MIN_FREE_BYTES) throw new Error(`disk full: ${formatBytes(free)} free on ${dir} (the database ${file} needs room to write)`);
  }
  try {
    return opts.probeWrite();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new Error(`cannot write the database ${file ?? opts.path}${typeof code === 'string' ? ` (${code})` : ''}: ${describeError(err)}`, {
      cause: err,
    });
  }
}

/** /health's database entry. */
export function databaseHealthCheck(opts: DatabaseWritableOptions): HealthCheck {
  const name = 'database';
  return {
    name,
    check: () => {
      try {
        return pass(name, checkDatabaseWritable(opts));
      } catch (err) {
        return fail(name, describeError(err));
      }
    },
  };
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.floor(n / 1024)} KiB`;
}
