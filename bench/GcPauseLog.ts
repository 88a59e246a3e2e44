import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * This process's garbage-collection pauses, as Node reports them (performance 'gc' entries,
 * on the performance.now() clock). A pause of the benchmark process between a request
 * leaving and its answer being timestamped inflates the measured latency; the log tells
 * which samples that happened to.
 */
export class GcPauseLog {
  private readonly pauses: Array<{ start: number; end: number }> = [];
  private readonly observer = new PerformanceObserver((list) => this.add(list.getEntries()));

  start(): this {
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): void {
    this.add(this.observer.takeRecords());
    this.observer.disconnect();
  }

  private add(entries: PerformanceEntry[]): void {
    for (const e of entries) this.pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  }

  /** True when a pause overlapped [from, to]. Call after stop(), or entries may still be pending. */
  overlaps(from: number, to: number): boolean {
    return this.pauses.some((p) => p.start < to && p.end > from);
  }

  get count(): number {
    return this.pauses.length;
  }
}
