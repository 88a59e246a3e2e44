import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { IDLE_RELEASE_DEFAULTS, IdleReleaseDecider, type IdleReleasePolicy } from './idleRelease.js';

/** V8's gc extension with the options it takes (`--expose-gc`). */
type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export interface ReleaseResult {
  rssBefore: number;
  rssAfter: number;
  ms: number;
}

export interface IdleMemoryReleaseOptions {
  /** Work the bridge has in progress; no release while true. */
  working: () => boolean;
  onRelease?: (result: ReleaseResult) => void;
  policy?: Partial<IdleReleasePolicy & { checkEveryMs: number }>;
}

/**
 * V8's full "last resort" collection, the one that also returns the heap's pooled pages to the
 * system, or null when this Node does not offer it. Taken from a throwaway context so that the
 * bridge's own global scope gets no `gc` (the flag is set only while the context is made).
 */
export function lastResortGc(): (() => void) | null {
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
    } catch {
      gc = undefined;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  if (typeof gc !== 'function') return null;
  const collect = gc as GcFunction;
  return () => collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * Samples the process every second (event-loop utilisation, the bridge's own work, RSS) and,
 * once it has grown and then gone quiet (idleRelease.ts decides), runs one last-resort
 * collection. The timer never keeps the process alive.
 */
export class IdleMemoryRelease {
  private timer: NodeJS.Timeout | null = null;
  private lastElu: EventLoopUtilization | null = null;
  private decider: IdleReleaseDecider | null = null;
  private readonly policy: IdleReleasePolicy & { checkEveryMs: number };

  constructor(
    private readonly collect: () => void,
    private readonly options: IdleMemoryReleaseOptions,
  ) {
    this.policy = { ...IDLE_RELEASE_DEFAULTS, ...options.policy };
  }

  start(): void {
    if (this.timer) return;
    this.decider = new IdleReleaseDecider(this.policy, { now: performance.now(), rssBytes: process.memoryUsage.rss() });
    this.lastElu = performance.eventLoopUtilization();
    this.timer = setInterval(() => this.check(), this.policy.checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const elu = performance.eventLoopUtilization();
    const utilization = this.lastElu ? performance.eventLoopUtilization(elu, this.lastElu).utilization : 1;
    this.lastElu = elu;
    const sample = { now: performance.now(), utilization, working: this.options.working(), rssBytes: process.memoryUsage.rss() };
    if (!this.decider?.observe(sample)) return;
    const started = performance.now();
    this.collect();
    const rssAfter = process.memoryUsage.rss();
    const now = performance.now();
    this.decider.released({ now, rssBytes: rssAfter });
    // The collection's own time is not activity to be measured next time.
    this.lastElu = performance.eventLoopUtilization();
    this.options.onRelease?.({ rssBefore: sample.rssBytes, rssAfter, ms: now - started });
  }
}
