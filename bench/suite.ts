import { setTimeout as sleep } from 'node:timers/promises';
import type { BridgeUnderTest } from './BridgeProcess.js';
import { runDispatch, type DispatchResult, type InstantLlm } from './dispatch.js';
import { FakeHomeserver } from './FakeHomeserver.js';
import { loadAllRooms, runIngest, type IngestResult, type LoadRoomsResult } from './ingest.js';
import type { BenchOptions } from './options.js';
import { runPromptAssembly, type PromptScenarioResult } from './prompt.js';
import { seedDatabase, type SeedResult } from './seed.js';
import { bridgeSetup, type BridgeSetup } from './setup.js';
import { RecordedWatcher } from './transactions.js';
import { World } from './world.js';

export const BENCH_DOMAIN = 'bench.local';

export interface MemoryResult {
  /** Right after start: personas loaded, no room known yet. */
  startRss: number;
  /** Idle with every room of the world known (members loaded). */
  idleRss: number;
  /** Idle again after the ingest run. */
  afterIngestRss: number | null;
  /** V8 heap used and committed when idle with every room known, from the bridge's /metrics. */
  idleHeap: { used: number; total: number } | null;
  loadRooms: LoadRoomsResult;
}

export interface SuiteResults {
  world: World;
  seed: SeedResult;
  memory?: MemoryResult;
  ingest?: IngestResult;
  dispatch?: DispatchResult;
  prompt?: PromptScenarioResult[];
  /** Memory (and ingest) again with node flags that favour a small heap. */
  memoryOptimised?: { nodeArgs: string[]; memory: MemoryResult; ingest?: IngestResult | undefined };
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
   * test. `nodeArgs` are extra node flags for the process.
   */
  startBridge(setup: BridgeSetup, nodeArgs: string[]): Promise<BridgeUnderTest>;
  /** False when startBridge cannot apply node flags (in-process): the variant run is skipped. */
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
    const seed = seedDatabase(setup.config.database.path, world);
    log(`  seeded in ${seed.seconds.toFixed(1)} s (${seed.chapters} chapters)`);
    const results: SuiteResults = { world, seed, homeserverCalls: {} };

    const needsBridge = ['memory', 'ingest', 'dispatch'].some((b) => options.only.has(b as 'memory'));
    if (needsBridge) {
      log('starting the bridge...');
      const run = await measureBridge(deps, world, homeserver, await deps.startBridge(setup, []), setup, {
        ingest: options.only.has('ingest'),
        dispatch: options.only.has('dispatch'),
      });
      Object.assign(results, run);
      if (options.only.has('memory') && deps.nodeArgsApply) {
        log(`the same with node ${OPTIMIZE_FOR_SIZE.join(' ')}...`);
        const variant = await measureBridge(deps, world, homeserver, await deps.startBridge(setup, OPTIMIZE_FOR_SIZE), setup, {
          ingest: options.only.has('ingest'),
          dispatch: false,
        });
        results.memoryOptimised = { nodeArgs: OPTIMIZE_FOR_SIZE, memory: variant.memory, ingest: variant.ingest };
      }
    }
    if (options.only.has('prompt')) {
      log(`prompt assembly: ${options.prompt.iterations} per scenario...`);
      results.prompt = runPromptAssembly(setup.config.database.path, world, setup.config, options.prompt);
    }
    results.homeserverCalls = Object.fromEntries([...homeserver.calls].sort(([a], [b]) => a.localeCompare(b)));
    return results;
  } finally {
    await homeserver.stop();
  }
}

/** V8 flag trading some speed for a smaller heap; measured as an operator option. */
const OPTIMIZE_FOR_SIZE = ['--optimize-for-size'];

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
  what: { ingest: boolean; dispatch: boolean },
): Promise<{ memory: MemoryResult; ingest?: IngestResult; dispatch?: DispatchResult }> {
  const { options, log } = deps;
  const watcher = new RecordedWatcher(setup.config.database.path);
  try {
    await sleep(options.settleSeconds * 1000);
    const startRss = bridge.rssBytes();
    log(`  making ${world.rooms.length} rooms known...`);
    const loadRooms = await loadAllRooms(bridge, world, watcher);
    log(`  ${loadRooms.rooms} rooms in ${loadRooms.seconds.toFixed(1)} s`);
    await sleep(options.settleSeconds * 1000);
    const out: { memory: MemoryResult; ingest?: IngestResult; dispatch?: DispatchResult } = {
      memory: { startRss, idleRss: bridge.rssBytes(), afterIngestRss: null, loadRooms, idleHeap: await heapFromMetrics(bridge.url) },
    };
    log(`  RSS ${(out.memory.idleRss / 2 ** 20).toFixed(0)} MiB idle`);
    if (what.ingest) {
      log(`  ingest: ${options.ingest.transactions} transactions of 100 events...`);
      collectOwnGarbage();
      out.ingest = await runIngest(bridge, world, watcher, options.ingest);
      log(`  ${Math.round(out.ingest.eventsPerSecond)} events/s`);
      await sleep(options.settleSeconds * 1000);
      out.memory.afterIngestRss = bridge.rssBytes();
    }
    if (what.dispatch) {
      log(`  dispatch: ${options.dispatch.samples} DMs...`);
      collectOwnGarbage();
      const d = await runDispatch(bridge, world, homeserver, deps.llm, options.dispatch);
      out.dispatch = d;
      log(`  p50 ${d.totalWithoutOwnGc.p50.toFixed(2)} ms, p99 ${d.totalWithoutOwnGc.p99.toFixed(2)} ms (all samples: ${d.total.p99.toFixed(2)} ms)`);
    }
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
