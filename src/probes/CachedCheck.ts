/**
 * Runs a check at most once per `ttlMs`, sharing the result (success or failure) with every
 * caller in between and the in-flight attempt with concurrent callers: load balancers and
 * Docker poll /health every few seconds, and each poll must not become a request to Synapse.
 */
export class CachedCheck<T = string> {
  private last: { at: number; result: Promise<T> } | null = null;
  private readonly now: () => number;

  constructor(
    private readonly run: () => Promise<T>,
    private readonly ttlMs: number,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  check(): Promise<T> {
    const now = this.now();
    if (this.last && now - this.last.at < this.ttlMs) return this.last.result;
    const result = this.run();
    // Handled here so a failure nobody awaits is not an unhandled rejection; callers still see it.
    result.catch(() => undefined);
    this.last = { at: now, result };
    return result;
  }
}
