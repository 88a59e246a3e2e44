import { setTimeout as sleep } from 'node:timers/promises';
import type { BridgeUnderTest } from './BridgeProcess.js';
import { runBurst, type BurstResult } from './burst.js';
import { runDispatch, type DispatchResult, type InstantLlm } from './dispatch.js';
import { FakeHomeserver } from './FakeHomeserver.js';
import { loadAllRooms, runIngest, type IngestResult, type LoadRoomsResult } from './ingest.js';
import type { BenchOptions } from './options.js';
import { planNeedles } from './needles.js';
import { runPromptAssembly, type PromptScenarioResult } from './prompt.js';
import { runRecall, type RecallResult } from './recall.js';
import { seedDatabase, type SeedResult } from './seed.js';
import { bridgeSetup, type BridgeSetup } from './setup.js';
import { RecordedWatcher } from './transactions.js';
import { World } from './world.js';

export const BENCH_DOMAIN = 'bench.local';

export interface MemoryResult {
  /** What the bridge reported it runs with (node flags, V8 heap limit, MALLOC_ARENA_MAX). */
  runtime: string | null;
  /** Right after start: personas loaded, no room known yet. */
  startRss: number;
  /** Idle with every room of the world known (members loaded). */
  idleRss: number;
  /** Idle again after the ingest run. */
  afterIngestRss: number | null;
  /** V8 heap used and committed when idle with every room known, from the bridge's /metrics. */
  idleHeap: { used: number; total: number } | null;
  /** The highest RSS over the whole run (VmHWM), read before the bridge stopped. */
  peakRss: number;
  loadRooms: LoadRoomsResult;
}

/** How a bridge process is started: the default start, or a variant to compare it with. */
export interface BridgeVariant {
  label: string;
  nodeArgs: string[];
  env: Record<string, string>;
  /** Another build of the bridge than the one under test (BENCH_COMPARE). */
  mainJs?: string;
}

/** The bridge as an admin starts it: `node dist/main.js`, which applies its runtime defaults. */
export const DEFAULT_START: BridgeVariant = { label: 'default start', nodeArgs: [], env: {} };

/** The same with Node's own heap sizing, as the bridge started before the runtime defaults. */
export const NODE_DEFAULTS: BridgeVariant = { label: "Node's defaults", nodeArgs: [], env: { PERSONAS_RUNTIME_TUNING: 'off' } };

/** One bridge process's figures. */
export interface BridgeRun {
  variant: BridgeVariant;
  memory: MemoryResult;
  ingest?: IngestResult;
  dispatch?: DispatchResult;
  burst?: BurstResult;
}

export interface SuiteResults {
  world: World;
  seed: SeedResult;
  /** The default start's figures (also in runs[0]). */
  memory?: MemoryResult;
  ingest?: IngestResult;
  dispatch?: DispatchResult;
  burst?: BurstResult;
  prompt?: PromptScenarioResult[];
  recall?: RecallResult;
  /** Every bridge process measured, the default start first, side by side in the report. */
  runs: BridgeRun[];
  /** What the bridge asked the fake homeserver, by route. */
  homeserverCalls: Record<string, number>;
}

export interface SuiteDeps {
  options: BenchOptions;
  /** A fresh folder for the database, config and logs. */
  dir: string;
  /** The fake model (FakeOpenAI from tests/fakes). */
  llm: InstantLlm & { baseUrl: string };
  /**
   * Starts the bridge under test: its own process in the benchmark, in-process in the smoke
   * test. The variant says how (extra node flags, environment).
   */
  startBridge(setup: BridgeSetup, variant: BridgeVariant): Promise<BridgeUnderTest>;
  /** False when startBridge cannot apply a variant (in-process): only the default start runs. */
  nodeArgsApply: boolean;
  log(line: string): void;
}

/**
 * The benchmarks that run against a fake homeserver: seeds the database, starts the bridge,
 * makes every room known, then measures memory, ingest and dispatch on that one bridge, and
 * prompt assembly on its database once it has stopped.
 */
export async function runBridgeBenchmarks(deps: SuiteDeps): Promise<SuiteResults> {
  const { options, log } = deps;
  const world = new World({ homeserver: { url: 'http://unused', domain: BENCH_DOMAIN }, appservice: personaNamespace() }, options.world);
  const homeserver = await FakeHomeserver.start(world);
  try {
    const setup = await bridgeSetup({ dir: deps.dir, homeserverUrl: homeserver.url, domain: BENCH_DOMAIN, llmBaseUrl: deps.llm.baseUrl });
    if (setup.config.appservice.persona_prefix !== personaNamespace().persona_prefix) throw new Error('persona prefix mismatch');
    log(`seeding ${world.personas.length} personas, ${world.rooms.length} rooms, ${options.world.messages} messages...`);
    const { needles, plantings } = planNeedles(world.recallRooms, options.recall.needles, options.recall.deepest);
    const seed = seedDatabase(setup.config.database.path, world, 1, plantings);
    log(`  seeded in ${seed.seconds.toFixed(1)} s (${seed.chapters} chapters)`);
    const results: SuiteResults = { world, seed, homeserverCalls: {}, runs: [] };

    const needsBridge = ['memory', 'ingest', 'dispatch', 'burst'].some((b) => options.only.has(b as 'memory'));
    if (needsBridge) {
      const what = { ingest: options.only.has('ingest'), dispatch: options.only.has('dispatch'), burst: options.only.has('burst') };
      // Side by side in one run (the machine's load changes from minute to minute): the
      // default start, then Node's own heap sizing, each in a fresh process.
      const variants = options.only.has('memory') && deps.nodeArgsApply ? [DEFAULT_START, NODE_DEFAULTS] : [DEFAULT_START];
      if (options.compareMainJs && deps.nodeArgsApply) variants.push({ label: `compared: ${options.compareMainJs}`, nodeArgs: [], env: {}, mainJs: options.compareMainJs });
      for (const variant of variants) {
        log(`starting the bridge (${variant.label})...`);
        const run = await measureBridge(deps, world, homeserver, await deps.startBridge(setup, variant), setup, what);
        results.runs.push({ variant, ...run });
      }
      const [first] = results.runs;
      if (first) {
        results.memory = first.memory;
        if (first.ingest) results.ingest = first.ingest;
        if (first.dispatch) results.dispatch = first.dispatch;
        if (first.burst) results.burst = first.burst;
      }
    }
    if (options.only.has('prompt')) {
      log(`prompt assembly: ${options.prompt.iterations} per scenario...`);
      results.prompt = runPromptAssembly(setup.config.database.path, world, setup.config, options.prompt);
    }
    if (options.only.has('recall')) {
      log(`recall: ${needles.length} needles, each question ${options.recall.repeats} times...`);
      results.recall = runRecall(setup.config.database.path, world, setup.config, needles, options.recall);
      log(`  recall ${(results.recall.recall * 100).toFixed(0)}%, p99 ${results.recall.time.p99.toFixed(2)} ms`);
    }
    results.homeserverCalls = Object.fromEntries([...homeserver.calls].sort(([a], [b]) => a.localeCompare(b)));
    return results;
  } finally {
    await homeserver.stop();
  }
}

/**
 * One bridge process, already started: memory at start, every room made known, memory idle,
 * then ingest (and memory after it) and dispatch as asked. Stops the bridge.
 */
async function measureBridge(
  deps: SuiteDeps,
  world: World,
  homeserver: FakeHomeserver,
  bridge: BridgeUnderTest,
  setup: BridgeSetup,
  what: { ingest: boolean; dispatch: boolean; burst: boolean },
): Promise<Omit<BridgeRun, 'variant'>> {
  const { options, log } = deps;
  const watcher = new RecordedWatcher(setup.config.database.path);
  try {
    const runtime = bridge.runtimeLine();
    if (runtime) log(`  ${runtime}`);
    await sleep(options.settleSeconds * 1000);
    const startRss = bridge.rssBytes();
    log(`  making ${world.rooms.length} rooms known...`);
    const loadRooms = await loadAllRooms(bridge, world, watcher);
    log(`  ${loadRooms.rooms} rooms in ${loadRooms.seconds.toFixed(1)} s`);
    await sleep(options.settleSeconds * 1000);
    const out: Omit<BridgeRun, 'variant'> = {
      memory: { runtime, startRss, idleRss: bridge.rssBytes(), afterIngestRss: null, loadRooms, idleHeap: await heapFromMetrics(bridge.url), peakRss: 0 },
    };
    log(`  RSS ${(out.memory.idleRss / 2 ** 20).toFixed(0)} MiB idle`);
    if (what.ingest) {
      log(`  ingest: ${options.ingest.transactions} transactions of 100 events...`);
      collectOwnGarbage();
      out.ingest = await runIngest(bridge, world, watcher, options.ingest);
      log(`  ${Math.round(out.ingest.eventsPerSecond)} events/s`);
      await sleep(options.settleSeconds * 1000);
      out.memory.afterIngestRss = bridge.rssBytes();
      log(`  RSS ${(out.memory.afterIngestRss / 2 ** 20).toFixed(0)} MiB after ingest`);
    }
    if (what.dispatch) {
      log(`  dispatch: ${options.dispatch.samples} DMs...`);
      collectOwnGarbage();
      const d = await runDispatch(bridge, world, homeserver, deps.llm, options.dispatch);
      out.dispatch = d;
      log(`  p50 ${d.totalWithoutOwnGc.p50.toFixed(2)} ms, p99 ${d.totalWithoutOwnGc.p99.toFixed(2)} ms (all samples: ${d.total.p99.toFixed(2)} ms)`);
    }
    if (what.burst) {
      const b = options.burst;
      log(`  burst: ${b.transactions} transactions of ${b.eventsPerTransaction} events...`);
      out.burst = await runBurst(bridge, world, watcher, b);
      if (out.burst.crash) {
        log(`  the bridge died in the burst (${out.burst.crash.how}):\n${out.burst.crash.logTail}`);
      } else {
        await sleep(options.settleSeconds * 1000);
        out.burst.afterRss = bridge.rssBytes();
        log(`  handled in ${out.burst.seconds!.toFixed(1)} s; peak RSS ${(out.burst.peakRss / 2 ** 20).toFixed(0)} MiB`);
      }
    }
    out.memory.peakRss = bridge.peakRssBytes();
    return out;
  } finally {
    watcher.close();
    await bridge.stop();
  }
}

/**
 * The bridge's V8 heap as its Prometheus endpoint reports it (prom-client's default process
 * metrics), or null when metrics are off. Not collected first, so it includes garbage.
 */
async function heapFromMetrics(bridgeUrl: string): Promise<{ used: number; total: number } | null> {
  try {
    const res = await fetch(`${bridgeUrl}/metrics`);
    if (!res.ok) return null;
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    const used = value('nodejs_heap_size_used_bytes');
    const total = value('nodejs_heap_size_total_bytes');
    return Number.isFinite(used) && Number.isFinite(total) ? { used, total } : null;
  } catch {
    return null;
  }
}

/**
 * A full GC of this (the benchmark's) process before a timed run, when node runs with
 * --expose-gc (npm run bench does): seeding leaves hundreds of MB of garbage, and this
 * process's GC pauses during a run would be counted as the bridge's latency.
 */
function collectOwnGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The bench's namespace: what bridgeSetup configures by default. */
function personaNamespace(): { bind: string; port: number; bot_localpart: string; bot_displayname: string; persona_prefix: string } {
  return { bind: '127.0.0.1', port: 0, bot_localpart: 'personas', bot_displayname: 'Personas', persona_prefix: 'persona_' };
}
