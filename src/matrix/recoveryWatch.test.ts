import { RecoveryWatch } from './recoveryWatch.js';

/** Timers that fire only when the test advances time. */
class ManualTimers {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== handle);
  };
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const down = (): Promise<void> => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

function setup(probe: () => Promise<void>) {
  const timers = new ManualTimers();
  let probes = 0;
  const watch = new RecoveryWatch({
    probe: () => {
      probes++;
      return probe();
    },
    probeEveryMs: 1_000,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
  });
  /** Starts a wait and reports when it ended (ms on the manual clock), or null while it lasts. */
  const waitFor = (ms: number) => {
    const result = { endedAt: null as number | null };
    void watch.wait(ms).then(() => (result.endedAt = timers.t));
    return result;
  };
  return { timers, watch, waitFor, probes: () => probes };
}

describe('RecoveryWatch', () => {
  test('while the homeserver stays down a wait lasts its full time, probed once a second', async () => {
    const { timers, waitFor, probes, watch } = setup(down);
    const wait = waitFor(10_000);
    await timers.advance(9_999);
    expect(wait.endedAt).toBeNull();
    await timers.advance(1);
    expect(wait.endedAt).toBe(10_000);
    expect(probes()).toBe(9);
    expect(watch.waiting).toBe(0);
  });

  test('the first probe that gets an answer ends the wait', async () => {
    let up = false;
    const { timers, waitFor } = setup(() => (up ? Promise.resolve() : down()));
    const wait = waitFor(30_000);
    await timers.advance(3_000);
    expect(wait.endedAt).toBeNull();
    up = true;
    await timers.advance(1_000);
    expect(wait.endedAt).toBe(4_000);
  });

  test('sends waiting at once share one probe', async () => {
    const { timers, waitFor, probes } = setup(down);
    const waits = [waitFor(5_000), waitFor(8_000), waitFor(20_000)];
    await timers.advance(1_000);
    expect(probes()).toBe(1);
    await timers.advance(4_000);
    expect(probes()).toBe(5);
    expect(waits.map((w) => w.endedAt)).toEqual([5_000, null, null]);
  });

  test('a probe already under way when a send starts waiting does not end that wait', async () => {
    const answers: Array<() => void> = [];
    const { timers, waitFor } = setup(() => new Promise<void>((resolve) => answers.push(resolve)));
    const first = waitFor(30_000);
    await timers.advance(1_000);
    expect(answers).toHaveLength(1);
    // This send failed after that probe was sent: its answer may predate the failure.
    const second = waitFor(30_000);
    answers[0]!();
    await settle();
    expect(first.endedAt).toBe(1_000);
    expect(second.endedAt).toBeNull();
    await timers.advance(1_000);
    answers[1]!();
    await settle();
    expect(second.endedAt).toBe(2_000);
  });

  test('nothing is probed while no send waits', async () => {
    const { timers, waitFor, probes } = setup(down);
    waitFor(2_000);
    await timers.advance(60_000);
    expect(probes()).toBe(1);
  });
});
