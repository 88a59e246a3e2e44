/**
 * Ends the backoff of retried sends as soon as the homeserver answers again. A send waiting
 * out its backoff (up to 30 s between attempts) would otherwise reach a homeserver that came
 * back just after its last attempt only up to 30 s later. While any send waits, one probe (a
 * cheap request with no side effects) runs every `probeEveryMs`; the first that succeeds after
 * a send began waiting ends that wait, and the send tries again at once.
 *
 * The retry schedule itself is unchanged: a send that fails again goes on with its next delay,
 * and one that never gets through is dropped after the same number of attempts.
 */

export interface RecoveryWatchOptions {
  /** Resolves when the homeserver answers; rejects while it cannot be reached. */
  probe: () => Promise<void>;
  /** Time between probes while something waits. */
  probeEveryMs: number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

interface Waiter {
  /** Probes started before this one began waiting say nothing about it. */
  sinceProbe: number;
  wake: () => void;
}

export class RecoveryWatch {
  private readonly waiters = new Set<Waiter>();
  private probesStarted = 0;
  private probing = false;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly opts: RecoveryWatchOptions) {
    this.setTimer = opts.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  /** Sends waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Waits `ms`, or less: until a probe started after this call succeeds. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        sinceProbe: this.probesStarted,
        wake: () => {
          this.clearTimer(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = this.setTimer(waiter.wake, ms);
      this.waiters.add(waiter);
      this.scheduleProbe();
    });
  }

  private scheduleProbe(): void {
    if (this.probing || this.waiters.size === 0) return;
    this.probing = true;
    this.setTimer(() => void this.runProbe(), this.opts.probeEveryMs);
  }

  private async runProbe(): Promise<void> {
    const probeNumber = ++this.probesStarted;
    let reachable = false;
    if (this.waiters.size > 0) {
      try {
        await this.opts.probe();
        reachable = true;
      } catch {
        // Still down: the waits go on.
      }
    }
    this.probing = false;
    if (reachable) {
      for (const waiter of [...this.waiters]) if (waiter.sinceProbe < probeNumber) waiter.wake();
    }
    this.scheduleProbe();
  }
}
