import { chmodSync, existsSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';

/** `logging.file` in the config. */
export interface LogFileConfig {
  /** File path; `%DATE%` in it becomes the date (a new file each day). */
  path: string;
  /** Rotate when a file reaches this size (`10m`, `1g`); null: only by date. */
  max_size: string | null;
  /** Keep this many files, or days with `d` (`14d`); older ones are deleted. */
  max_files: string;
}

/** Only the bridge's user may read its logs: they name rooms, people and what they wrote. */
const FILE_MODE = 0o600;

/**
 * The log file: winston's daily-rotate transport (by date and size, old files deleted after
 * `max_files`), which can be reopened (SIGHUP, after an external logrotate moved the file) and
 * rotated on demand (`logs rotate`: the current file is renamed with the time, a new one
 * started).
 */
export class LogFile {
  private transport: DailyRotateFile;
  /** The file being written, as the transport reports it once it opens one. */
  private current: string | null = null;

  constructor(
    private readonly logger: winston.Logger,
    private readonly config: LogFileConfig,
    /** Only when the logger's own format should not apply (the logger's format comes first anyway). */
    private readonly format?: winston.Logform.Format,
  ) {
    this.transport = this.open();
  }

  /** The file being written now. */
  get currentFile(): string | null {
    return this.current;
  }

  private open(): DailyRotateFile {
    const transport = new DailyRotateFile({
      dirname: dirname(this.config.path),
      filename: basename(this.config.path),
      ...(this.config.max_size ? { maxSize: this.config.max_size } : {}),
      maxFiles: this.config.max_files,
      auditFile: join(dirname(this.config.path), '.log-audit.json'),
      ...(this.format ? { format: this.format } : {}),
      // New files are created private; mode only applies on creation, so 'new' tightens one
      // an older version (or an admin's touch) left readable.
      options: { flags: 'a', mode: FILE_MODE },
      utc: true,
    });
    transport.on('new', (file: string) => {
      this.current = file;
      tighten(file);
    });
    this.logger.add(transport);
    return transport;
  }

  /** Closes the file and opens it again (new inode if it was moved away). */
  async reopen(): Promise<void> {
    const old = this.transport;
    this.logger.remove(old);
    await new Promise<void>((resolve) => {
      old.once('finish', () => resolve());
      old.close?.();
    });
    this.transport = this.open();
  }

  /** Starts a new file now: the current one is kept as `<file>.<UTC time>`. Returns its new name. */
  async rotate(now = new Date()): Promise<string | null> {
    // The transport names its first file on the next tick after opening.
    if (!this.current) await new Promise((resolve) => process.nextTick(resolve));
    const file = this.current;
    const old = this.transport;
    this.logger.remove(old);
    await new Promise<void>((resolve) => {
      old.once('finish', () => resolve());
      old.close?.();
    });
    let rotated: string | null = null;
    if (file && existsSync(file)) {
      rotated = `${file}.${now.toISOString().replace(/[:.]/g, '-')}`;
      renameSync(file, rotated);
    }
    this.transport = this.open();
    return rotated;
  }

  async close(): Promise<void> {
    this.logger.remove(this.transport);
    await new Promise<void>((resolve) => {
      this.transport.once('finish', () => resolve());
      this.transport.close?.();
    });
  }
}

function tighten(file: string): void {
  try {
    chmodSync(file, FILE_MODE);
  } catch {
    // Not created yet (the stream opens it on its first write, with FILE_MODE).
  }
}
