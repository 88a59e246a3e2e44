/**
 * A clock for unit tests whose timers fire only when the test advances time, with the promise
 * callbacks they start settled before `advance` returns. Its methods are bound, so they can be
 * passed on as plain functions (`setTimeout: clock.setTimeout`).
 */
export class ManualClock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== handle);
  };

  /** Moves time on by `ms`, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await settlePromises();
    }
    this.t = end;
    await settlePromises();
  }
}

/** Lets the promise callbacks queued so far (and the few they queue in turn) run. */
export async function settlePromises(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
