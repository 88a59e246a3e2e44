/**
 * The bridge's answer timeline as its /metrics reports it (personas_answer_stage_seconds, see
 * src/metrics/AnswerTimeline.ts): scraped before and after a run, the difference gives each
 * stage's count, exact mean (sum / count) and percentiles interpolated within the histogram's
 * buckets (as Prometheus' histogram_quantile does).
 */

const METRIC = 'personas_answer_stage_seconds';

/** One stage's histogram: cumulative counts by upper bound (seconds), its sum and count. */
interface StageHistogram {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

export type StageScrape = Map<string, StageHistogram>;

export interface StageRow {
  stage: string;
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** Parses the stage histograms out of a Prometheus text exposition. */
export function parseStages(text: string): StageScrape {
  const out: StageScrape = new Map();
  const get = (stage: string): StageHistogram => {
    let h = out.get(stage);
    if (!h) out.set(stage, (h = { buckets: new Map(), sum: 0, count: 0 }));
    return h;
  };
  const line = new RegExp(`^${METRIC}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const [, kind, labels, value] of text.matchAll(line)) {
    const stage = /stage="([^"]*)"/.exec(labels!)?.[1];
    if (!stage) continue;
    const h = get(stage);
    if (kind === 'sum') h.sum = Number(value);
    else if (kind === 'count') h.count = Number(value);
    else {
      const le = /le="([^"]*)"/.exec(labels!)?.[1];
      if (le !== undefined) h.buckets.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(value));
    }
  }
  return out;
}

/** `after` minus `before`: what the run in between added. */
export function diffStages(before: StageScrape, after: StageScrape): StageScrape {
  const out: StageScrape = new Map();
  for (const [stage, a] of after) {
    const b = before.get(stage);
    const buckets = new Map([...a.buckets].map(([le, n]) => [le, n - (b?.buckets.get(le) ?? 0)]));
    out.set(stage, { buckets, sum: a.sum - (b?.sum ?? 0), count: a.count - (b?.count ?? 0) });
  }
  return out;
}

/** The q-quantile (0..1) of a histogram, linear within its bucket (ms). */
export function quantileMs(h: StageHistogram, q: number): number {
  if (h.count === 0) return Number.NaN;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of [...h.buckets].sort((x, y) => x[0] - y[0])) {
    if (cumulative >= rank) {
      if (!Number.isFinite(le)) return lower * 1000;
      const inBucket = cumulative - below;
      return (lower + (le - lower) * (inBucket > 0 ? (rank - below) / inBucket : 0)) * 1000;
    }
    lower = le;
    below = cumulative;
  }
  return lower * 1000;
}

/** Rows in the order the stages are passed (`order`, then any others), `total` last. */
export function stageRows(scrape: StageScrape, order: readonly string[]): StageRow[] {
  const names = [...scrape.keys()].filter((s) => s !== 'total' && (scrape.get(s)?.count ?? 0) > 0);
  const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
  names.sort((a, b) => rank(a) - rank(b));
  if (scrape.has('total')) names.push('total');
  return names.map((stage) => {
    const h = scrape.get(stage)!;
    return { stage, count: h.count, meanMs: (h.sum / (h.count || 1)) * 1000, p50Ms: quantileMs(h, 0.5), p99Ms: quantileMs(h, 0.99) };
  });
}

/** The order a message passes the stages (src/metrics/AnswerTimeline.ts; the pipeline steps as declared in src/app/compose.ts). */
export const STAGE_ORDER = [
  'auth',
  'parse',
  'pending',
  'queue',
  'dedupe',
  'metrics',
  'Decrypt',
  'membership',
  'room-settings',
  'bot-commands',
  'PersonaMembership',
  'EncryptionDisabled',
  'memory-recorder',
  'reaction-controls',
  'dispatcher',
  'answer_queue',
  'members',
  'remember',
  'usage',
  'history',
  'recall',
  'turns',
  'prompt',
  'request',
];

/** Scrapes the bridge's stage histograms (null when metrics are off or unreachable). */
export async function scrapeStages(bridgeUrl: string): Promise<StageScrape | null> {
  try {
    const res = await fetch(`${bridgeUrl}/metrics`);
    return res.ok ? parseStages(await res.text()) : null;
  } catch {
    return null;
  }
}
