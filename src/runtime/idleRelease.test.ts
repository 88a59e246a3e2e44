import { IdleReleaseDecider } from './idleRelease.js';

const MiB = 2 ** 20;
const policy = { quietMs: 3000, growthBytes: 16 * MiB, busyUtilization: 0.05 };
const quiet = { utilization: 0.01, working: false };

function decider(): IdleReleaseDecider {
  return new IdleReleaseDecider(policy, { now: 0, rssBytes: 100 * MiB });
}

describe('IdleReleaseDecider', () => {
  test('releases once the process grew and then stayed quiet for the quiet period', () => {
    const d = decider();
    expect(d.observe({ ...quiet, now: 1000, utilization: 0.9, rssBytes: 180 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 2000, rssBytes: 180 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 3000, rssBytes: 180 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 4000, rssBytes: 180 * MiB })).toBe(true);
  });

  test('never without growth: an idle process is not collected over and over', () => {
    const d = decider();
    for (let now = 1000; now <= 60_000; now += 1000) expect(d.observe({ ...quiet, now, rssBytes: 110 * MiB })).toBe(false);
  });

  test('work in progress or a busy event loop restarts the quiet period', () => {
    const d = decider();
    expect(d.observe({ ...quiet, now: 4000, working: true, rssBytes: 180 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 6000, rssBytes: 180 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 6500, utilization: 0.05, rssBytes: 180 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 9000, rssBytes: 180 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 9500, rssBytes: 180 * MiB })).toBe(true);
  });

  test('after a release, growth is counted from what it left', () => {
    const d = decider();
    expect(d.observe({ ...quiet, now: 5000, rssBytes: 180 * MiB })).toBe(true);
    d.released({ now: 5200, rssBytes: 135 * MiB });
    expect(d.observe({ ...quiet, now: 9000, rssBytes: 140 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 10_000, rssBytes: 151 * MiB })).toBe(true);
  });

  test('a release that freed nothing is not repeated', () => {
    const d = decider();
    expect(d.observe({ ...quiet, now: 5000, rssBytes: 180 * MiB })).toBe(true);
    d.released({ now: 5200, rssBytes: 179 * MiB });
    for (let now = 6000; now <= 30_000; now += 1000) expect(d.observe({ ...quiet, now, rssBytes: 180 * MiB })).toBe(false);
  });

  test('memory given back on its own lowers the baseline', () => {
    const d = decider();
    expect(d.observe({ ...quiet, now: 5000, rssBytes: 90 * MiB })).toBe(false);
    expect(d.observe({ ...quiet, now: 6000, rssBytes: 107 * MiB })).toBe(true);
  });
});
