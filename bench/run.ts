/**
 * `npm run bench`: builds, then runs every benchmark and writes BENCHMARKS.md (quick mode:
 * BENCH_QUICK=1, written to the temporary folder instead). See bench/options.ts for the
 * environment switches.
 *
 * The benchmarks run from their TypeScript sources (tools/register-ts.mjs), with the fake model
 * and the Synapse harness from tests/; the bridge under test is the production build,
 * dist/main.js, in its own process. None of this is part of the build that ships.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeOpenAI } from '../tests/fakes/FakeOpenAI.js';
import * as synapseHarness from '../tests/harness/synapse.js';
import { earlierStages } from './before.js';
import { BridgeProcess } from './BridgeProcess.js';
import { describeMachine, loadAverage, measureJitter } from './machine.js';
import { optionsFromEnv } from './options.js';
import { renderReport, summaryLines, type BenchReport } from './report.js';
import { renderLive, runLive, spliceSection } from './live.js';
import { runSpawn } from './spawn.js';
import { runBridgeBenchmarks } from './suite.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const options = optionsFromEnv();
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const dir = mkdtempSync(join(tmpdir(), 'personas-bench-'));
  const mainJs = join(ROOT, 'dist', 'main.js');
  const log = (line: string): void => console.log(line);
  // For profiling the bridge under load, e.g. BENCH_BRIDGE_NODE_ARGS="--cpu-prof" (profiles land in its folder; add BENCH_KEEP=1).
  const nodeArgs = (process.env.BENCH_BRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  log(`benchmarks (${options.quick ? 'quick' : 'full'}) in ${dir}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);

  log('measuring scheduling noise...');
  const jitter = await measureJitter(options.quick ? 1 : 5);
  const llm = await FakeOpenAI.start();
  const report: BenchReport = { machine: describeMachine(), startedAt, options, loadBefore, loadAfter: loadBefore, durationSeconds: 0, jitter };
  // An earlier run's stage table beside this one's (bench/before.ts), read first so a wrong path fails before the long run.
  const beforeFile = process.env.BENCH_BEFORE;
  if (beforeFile) {
    const before = earlierStages(readFileSync(beforeFile, 'utf8'), process.env.BENCH_BEFORE_LABEL ?? basename(beforeFile));
    if (!before) throw new Error(`BENCH_BEFORE: ${beforeFile} has no stage table in its dispatch section (a BENCHMARKS.md written by npm run bench since the answer timeline)`);
    report.before = before;
  }
  try {
    const bridgeDir = join(dir, 'bridge');
    mkdirSync(bridgeDir);
    if (['memory', 'ingest', 'dispatch', 'burst', 'prompt', 'recall'].some((b) => options.only.has(b as 'memory'))) {
      report.suite = await runBridgeBenchmarks({
        options,
        dir: bridgeDir,
        llm,
        log,
        startBridge: (setup, variant) =>
          BridgeProcess.start({
            mainJs: variant.mainJs ?? mainJs,
            dir: bridgeDir,
            config: setup.raw,
            registration: setup.registration,
            nodeArgs: [...nodeArgs, ...variant.nodeArgs],
            env: variant.env,
          }),
        nodeArgsApply: true,
      });
    }
    if (options.only.has('spawn')) {
      log(`spawn: ${options.spawn.samples} spawns against a real Synapse...`);
      report.spawn = await runSpawn(synapseHarness, { dir: join(dir, 'spawn'), mainJs, llmBaseUrl: llm.baseUrl, ...options.spawn });
    }
    if (options.only.has('live')) {
      const l = options.live;
      log(`live replies: ${l.samples} instant answers beside the Synapse floor, ${l.streams} answers streamed at 40 tokens/s, on a real Synapse...`);
      const liveLoadBefore = loadAverage();
      report.live = await runLive(synapseHarness, llm, { dir: join(dir, 'live'), mainJs, ...l });
      const liveLoadAfter = loadAverage();
      report.liveLoad = `${liveLoadBefore.map((v) => v.toFixed(2)).join(' / ')} before, ${liveLoadAfter.map((v) => v.toFixed(2)).join(' / ')} after (1 / 5 / 15 min)`;
    }
  } finally {
    await llm.stop();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
  report.loadAfter = loadAverage();
  report.durationSeconds = (Date.now() - startedAt.getTime()) / 1000;

  log('');
  for (const line of summaryLines(report)) log(line);
  const out = process.env.BENCH_OUT ?? (options.quick ? join(tmpdir(), 'BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md'));
  // Only the live stage: its section replaces the one in the existing report, keeping the other stages' figures.
  const liveOnly = options.only.size === 1 && options.only.has('live') && existsSync(out);
  writeFileSync(out, liveOnly && report.live ? spliceSection(readFileSync(out, 'utf8'), renderLive(report.live, report.liveLoad ?? '')) : renderReport(report));
  log(`\nwrote ${out}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
