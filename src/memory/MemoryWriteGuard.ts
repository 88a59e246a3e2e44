import { getLogger } from '../logging.js';
import { MEMORY_WRITE_FAILED_NOTICE, MESSAGES_REFUSED_NOTICE } from '../reply/messages.js';
import { FaultEpisodes } from '../util/FaultEpisodes.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('MemoryWriteGuard');

/** How often a failing database is tried again to notice that space is back. */
const RECHECK_MS = 5_000;

export interface MemoryWriteGuardDeps {
  /** Tells the room (a persona there, else the bot); failures to send are logged here. */
  notify(roomId: string, text: string): Promise<void>;
  /** Every failed write (metrics). */
  onWriteFailed?: (code: string) => void;
  /**
   * A small real write (Database.probeWrite): while writes fail it is tried every `recheckMs`,
   * so the end of the fault is noticed even when nothing else writes (every transaction is
   * refused meanwhile).
   */
  probe?: () => unknown;
  /** Writes succeed again (e.g. ask the homeserver to redeliver what it kept). */
  onRecovered?: () => Promise<void> | void;
  recheckMs?: number;
}

/**
 * Database writes that must not silence the bridge: a full disk or read-only database
 * (SQLITE_FULL, SQLITE_READONLY, any write error) is logged with its cause and told to
 * each room once per episode. A memory write in an answer is skipped (the answer goes on); a
 * transaction that cannot be recorded is refused and stays with the homeserver, which
 * redelivers it. The episode ends at the first write that succeeds again (or the probe); the
 * next fault is told anew.
 */
export class MemoryWriteGuard {
  private readonly episodes = new FaultEpisodes();
  private failing = false;
  private recheckTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: MemoryWriteGuardDeps) {}

  /** Runs `write` (or awaits it: a GroupCommit); on failure reports it and returns undefined instead of throwing. */
  async write<T>(roomId: string, what: string, write: () => T | Promise<T>): Promise<T | undefined> {
    let result: T;
    try {
      result = await write();
    } catch (err) {
      await this.failed([roomId], what, err, MEMORY_WRITE_FAILED_NOTICE);
      return undefined;
    }
    this.succeeded();
    return result;
  }

  /**
   * Messages of these rooms could not be recorded, so their transaction was refused: the
   * homeserver keeps and redelivers them; each room hears once that answers wait for space.
   */
  async refused(roomIds: readonly string[], err: unknown): Promise<void> {
    await this.failed([...new Set(roomIds)], 'record incoming messages', err, MESSAGES_REFUSED_NOTICE);
  }

  /** A write outside `write()` succeeded: a fault episode, if any, is over. */
  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.stopRecheck();
    this.episodes.recoveredAll();
    log.info('database writes succeed again');
    Promise.resolve()
      .then(() => this.deps.onRecovered?.())
      .catch((err: unknown) => log.warn(`after database writes recovered (the homeserver still redelivers on its own): ${describeError(err)}`));
  }

  /** True while writes fail (until one succeeds again). */
  get inFault(): boolean {
    return this.failing;
  }

  stop(): void {
    this.stopRecheck();
  }

  private async failed(roomIds: readonly string[], what: string, err: unknown, notice: string): Promise<void> {
    const code = errorCode(err);
    this.failing = true;
    this.startRecheck();
    this.deps.onWriteFailed?.(code);
    const error = err instanceof Error ? err : new Error(describeError(err));
    const where = roomIds.length > 0 ? ` in ${roomIds.join(', ')}` : '';
    log.error(`could not ${what}${where} (${code}): ${error.message}`, { roomIds, code, stack: error.stack });
    await Promise.all(
      roomIds
        .filter((roomId) => this.episodes.fault(roomId))
        .map(async (roomId) => {
          try {
            await this.deps.notify(roomId, notice);
          } catch (sendErr) {
            log.error(`could not tell ${roomId} that database writes fail: ${(sendErr as Error).message ?? String(sendErr)}`);
          }
        }),
    );
  }

  private startRecheck(): void {
    const probe = this.deps.probe;
    if (!probe || this.recheckTimer) return;
    this.recheckTimer = setInterval(() => {
      try {
        probe();
      } catch {
        return; // still failing
      }
      this.succeeded();
    }, this.deps.recheckMs ?? RECHECK_MS);
    this.recheckTimer.unref();
  }

  private stopRecheck(): void {
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = null;
  }
}

/** SQLITE_FULL, SQLITE_READONLY, ... as better-sqlite3 reports it; 'error' otherwise. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code ? code : 'error';
}
