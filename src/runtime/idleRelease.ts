/**
 * When to give memory back to the system: the decision, kept pure (the timer, the event-loop
 * readings and the collection itself are in IdleMemoryRelease.ts).
 *
 * Why at all: V8 (Node 24) keeps the pages its heap no longer needs in a pool of its own for
 * reuse and returns them only at a "last resort" collection or at exit, so after a burst (10,000
 * rooms made known, a backlog of transactions) the process stays at its peak: in the benchmark
 * ~45 MiB of the idle RSS was such pages (BENCHMARKS.md, issue #18). Once the bridge has grown
 * and then gone quiet, one such collection returns them; it costs a pause of 50–200 ms, so it
 * runs only when nothing is going on and only after real growth, not periodically.
 */

export interface IdleReleasePolicy {
  /** How long the process must have done (almost) nothing before a release. */
  quietMs: number;
  /** How much the RSS must have grown since the last release (or the start) to be worth one. */
  growthBytes: number;
  /** Event-loop utilisation (0..1) at or above which an interval counts as busy. */
  busyUtilization: number;
}

export const IDLE_RELEASE_DEFAULTS: IdleReleasePolicy & { checkEveryMs: number } = {
  quietMs: 3000,
  growthBytes: 16 * 2 ** 20,
  busyUtilization: 0.05,
  /** How often the process's activity and RSS are sampled. */
  checkEveryMs: 1000,
};

/** One reading, taken every checkEveryMs. */
export interface ActivitySample {
  now: number;
  /** Event-loop utilisation since the previous sample (0..1). */
  utilization: number;
  /** Work the bridge knows it has in progress (answers, queued events, summaries). */
  working: boolean;
  rssBytes: number;
}

/**
 * Follows the samples and says when a release is due: quiet for `quietMs` and grown by
 * `growthBytes` since the RSS the last release left (the RSS at start before the first one).
 */
export class IdleReleaseDecider {
  private lastBusyAt: number;
  private baselineRss: number;

  constructor(
    private readonly policy: IdleReleasePolicy,
    start: { now: number; rssBytes: number },
  ) {
    this.lastBusyAt = start.now;
    this.baselineRss = start.rssBytes;
  }

  /** True when a release should run now. */
  observe(sample: ActivitySample): boolean {
    if (sample.working || sample.utilization >= this.policy.busyUtilization) {
      this.lastBusyAt = sample.now;
      return false;
    }
    // Less than before (V8 or malloc gave some back themselves): measure growth from there.
    if (sample.rssBytes < this.baselineRss) this.baselineRss = sample.rssBytes;
    return sample.now - this.lastBusyAt >= this.policy.quietMs && sample.rssBytes - this.baselineRss >= this.policy.growthBytes;
  }

  /** After a release: its result is the new baseline, and the release itself was not activity. */
  released(at: { now: number; rssBytes: number }): void {
    this.baselineRss = at.rssBytes;
    this.lastBusyAt = at.now;
  }
}
