import { getLogger } from '../logging.js';
import { MEMORY_WRITE_FAILED_NOTICE } from '../reply/messages.js';
import { FaultEpisodes } from '../util/FaultEpisodes.js';

const log = getLogger('MemoryWriteGuard');

export interface MemoryWriteGuardDeps {
  /** Tells the room (a persona there, else the bot); failures to send are logged here. */
  notify(roomId: string, text: string): Promise<void>;
  /** Every failed write (metrics). */
  onWriteFailed?: (code: string) => void;
}

/**
 * Memory writes that must not silence the bridge: a full disk or read-only database
 * (SQLITE_FULL, SQLITE_READONLY, any write error) is logged with its cause and told to
 * each room once per episode, and the answer goes on without the write. The episode ends
 * at the first write that succeeds again; the next fault is told anew.
 */
export class MemoryWriteGuard {
  private readonly episodes = new FaultEpisodes();
  private failing = false;

  constructor(private readonly deps: MemoryWriteGuardDeps) {}

  /** Runs `write`; on failure reports it and returns undefined instead of throwing. */
  async write<T>(roomId: string, what: string, write: () => T): Promise<T | undefined> {
    let result: T;
    try {
      result = write();
    } catch (err) {
      await this.failed(roomId, what, err);
      return undefined;
    }
    if (this.failing) {
      this.failing = false;
      this.episodes.recoveredAll();
      log.info('memory writes succeed again');
    }
    return result;
  }

  private async failed(roomId: string, what: string, err: unknown): Promise<void> {
    const code = errorCode(err);
    this.failing = true;
    this.deps.onWriteFailed?.(code);
    const error = err instanceof Error ? err : new Error(String(err));
    log.error(`could not ${what} in ${roomId} (${code}): ${error.message}`, { roomId, code, stack: error.stack });
    if (!this.episodes.fault(roomId)) return;
    try {
      await this.deps.notify(roomId, MEMORY_WRITE_FAILED_NOTICE);
    } catch (sendErr) {
      log.error(`could not tell ${roomId} that memory writes fail: ${String(sendErr)}`);
    }
  }
}

/** SQLITE_FULL, SQLITE_READONLY, ... as better-sqlite3 reports it; 'error' otherwise. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code ? code : 'error';
}
