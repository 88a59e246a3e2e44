/** A distribution of durations (ms), summarised the way the report shows it. */
export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Nearest-rank percentile of sorted samples: the smallest sample with at least p% of the
 * samples at or below it, so p99 of 100 samples is the 99th, never an interpolation between
 * two real values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((n, v) => n + v, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length ? mean : Number.NaN,
  };
}

/** `1.23 ms`, with more decimals for sub-millisecond values. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value < 1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : 'n/a';
}

/** 12,345 */
export function int(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
