import { ManualClock, settlePromises } from '../../tests/support/manualClock.js';
import { RecoveryWatch } from './recoveryWatch.js';

const down = (): Promise<void> => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

function setup(probe: () => Promise<void>) {
  const timers = new ManualClock();
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
    await settlePromises();
    expect(first.endedAt).toBe(1_000);
    expect(second.endedAt).toBeNull();
    await timers.advance(1_000);
    answers[1]!();
    await settlePromises();
    expect(second.endedAt).toBe(2_000);
  });

  test('nothing is probed while no send waits', async () => {
    const { timers, waitFor, probes } = setup(down);
    waitFor(2_000);
    await timers.advance(60_000);
    expect(probes()).toBe(1);
  });
});
