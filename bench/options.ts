import type { WorldSize } from './world.js';

export type BenchName = 'ingest' | 'dispatch' | 'burst' | 'prompt' | 'recall' | 'memory' | 'spawn' | 'live';
export const ALL_BENCHES: readonly BenchName[] = ['memory', 'ingest', 'dispatch', 'burst', 'prompt', 'recall', 'spawn', 'live'];

export interface BenchOptions {
  quick: boolean;
  world: WorldSize;
  ingest: { transactions: number; warmupTransactions: number };
  dispatch: { samples: number; warmup: number };
  prompt: { iterations: number; warmup: number };
  /** The needle benchmark: facts planted in the recall rooms at depths up to `deepest`; each question asked `repeats` times for the timings. */
  recall: { needles: number; deepest: number; repeats: number };
  spawn: { samples: number; warmup: number };
  /** Live replies on a real Synapse: instant answers beside the floor, then answers streamed at 40 tokens/s. */
  live: { samples: number; warmup: number; streams: number; streamWords: number; chunkDelayMs: number };
  /** Transactions of many events each, after dispatch: the heap caps must leave room for them. */
  burst: { transactions: number; eventsPerTransaction: number };
  /** Seconds the bridge is left alone before its idle RSS is read. */
  settleSeconds: number;
  /** Which benchmarks to run (memory, ingest, dispatch and burst share one bridge process). */
  only: Set<BenchName>;
  /** Keep the temporary folder (databases, bridge logs). */
  keep: boolean;
  /**
   * Another build of the bridge (its dist/main.js) measured after the default start on the same
   * world in the same run (BENCH_COMPARE): before/after figures of a change side by side, on a
   * machine whose load changes from minute to minute.
   */
  compareMainJs?: string;
}

const FULL: Omit<BenchOptions, 'only' | 'keep'> = {
  quick: false,
  world: {
    personas: 1000,
    rooms: 10_000,
    ingestRooms: 100,
    dmRooms: 100,
    personasPerGroup: 5,
    messages: 1_000_000,
    busyRoomMessages: 2000,
    recallRooms: 4,
    recallRoomMessages: 101_000,
  },
  ingest: { transactions: 1000, warmupTransactions: 20 },
  dispatch: { samples: 1000, warmup: 50 },
  prompt: { iterations: 2000, warmup: 200 },
  recall: { needles: 100, deepest: 100_000, repeats: 10 },
  spawn: { samples: 20, warmup: 1 },
  live: { samples: 30, warmup: 3, streams: 2, streamWords: 800, chunkDelayMs: 25 },
  burst: { transactions: 3, eventsPerTransaction: 10_000 },
  // Idle means idle: longer than the bridge's own quiet period before it releases memory (3 s,
  // src/runtime/idleRelease.ts) and V8's memory reducer (8 s), with room for a loaded machine.
  settleSeconds: 10,
};

/** Small enough to run in well under a minute: for checking the benchmark itself works. */
const QUICK: Omit<BenchOptions, 'only' | 'keep'> = {
  quick: true,
  world: { personas: 50, rooms: 300, ingestRooms: 20, dmRooms: 10, personasPerGroup: 5, messages: 20_000, busyRoomMessages: 500, recallRooms: 2, recallRoomMessages: 2000 },
  ingest: { transactions: 20, warmupTransactions: 2 },
  dispatch: { samples: 20, warmup: 5 },
  prompt: { iterations: 100, warmup: 10 },
  recall: { needles: 20, deepest: 1500, repeats: 2 },
  spawn: { samples: 3, warmup: 1 },
  live: { samples: 5, warmup: 1, streams: 1, streamWords: 80, chunkDelayMs: 25 },
  burst: { transactions: 1, eventsPerTransaction: 1000 },
  settleSeconds: 1,
};

/**
 * From the environment: BENCH_QUICK=1 for the small run, BENCH_ONLY=ingest,prompt to pick
 * benchmarks (BENCH_ONLY=live alone replaces just the "Live replies" section of BENCHMARKS.md),
 * BENCH_KEEP=1 to keep the temporary folder, BENCH_INGEST_TRANSACTIONS=N for a
 * shorter (or longer) ingest run, e.g. while profiling, BENCH_COMPARE=OTHER/dist/main.js to measure
 * another build of the bridge after this one, side by side.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const base = env.BENCH_QUICK === '1' ? QUICK : FULL;
  const requested = (env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of requested) {
    if (!(ALL_BENCHES as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: unknown benchmark '${name}' (known: ${ALL_BENCHES.join(', ')})`);
  }
  const options = structuredClone(base);
  if (env.BENCH_INGEST_TRANSACTIONS) {
    const n = Number(env.BENCH_INGEST_TRANSACTIONS);
    if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_INGEST_TRANSACTIONS must be a positive integer, not '${env.BENCH_INGEST_TRANSACTIONS}'`);
    options.ingest.transactions = n;
  }
  return {
    ...options,
    only: new Set((requested.length ? requested : ALL_BENCHES) as BenchName[]),
    keep: env.BENCH_KEEP === '1',
    ...(env.BENCH_COMPARE ? { compareMainJs: env.BENCH_COMPARE } : {}),
  };
}
