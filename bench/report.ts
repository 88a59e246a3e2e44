import { ANALYSIS } from './analysis.js';
import { renderEarlierStages, type EarlierStages } from './before.js';
import type { Jitter, Machine } from './machine.js';
import type { BenchOptions } from './options.js';
import { renderLive, type LiveResult } from './live.js';
import type { SpawnResult } from './spawn.js';
import { int, mib, ms, type Summary } from './stats.js';
import type { BurstResult } from './burst.js';
import { renderRecall } from './recall.js';
import type { StageRow } from './stages.js';
import type { BridgeRun, SuiteResults } from './suite.js';

export interface BenchReport {
  machine: Machine;
  startedAt: Date;
  options: BenchOptions;
  loadBefore: [number, number, number];
  loadAfter: [number, number, number];
  durationSeconds: number;
  /** Scheduling noise of an idle process, measured before the benchmarks. */
  jitter?: Jitter;
  suite?: SuiteResults;
  spawn?: SpawnResult;
  live?: LiveResult;
  /** The load average around the live stage. */
  liveLoad?: string;
  /** An earlier run's stage table to show beside this one (BENCH_BEFORE, bench/before.ts). */
  before?: EarlierStages;
}

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

const MIB = 1024 * 1024;

/** The issue's targets against what was measured (null: not run). */
export function checkTargets(report: BenchReport): TargetCheck[] {
  const { suite, spawn, live } = report;
  const worstPrompt = suite?.prompt?.reduce<number | null>((worst, s) => Math.max(worst ?? 0, s.time.p99), null) ?? null;
  const check = (name: string, target: string, value: number | null | undefined, format: (v: number) => string, ok: (v: number) => boolean) => ({
    name,
    target,
    measured: value === null || value === undefined ? 'not run' : format(value),
    met: value === null || value === undefined ? null : ok(value),
  });
  // The dispatch tail against the same run's bridge with Node's own heap sizing.
  const untunedP99 = suite?.runs.find((r) => r.variant !== suite.runs[0]?.variant)?.dispatch?.totalWithoutOwnGc.p99;
  const p99Ratio = suite?.dispatch && untunedP99 ? suite.dispatch.totalWithoutOwnGc.p99 / untunedP99 : null;
  return [
    check('Ingest', '>= 10,000 events/s', suite?.ingest?.eventsPerSecond, (v) => `${int(v)} events/s`, (v) => v >= 10_000),
    check('Transaction -> model request (1M messages)', 'p50 <= 5 ms', suite?.dispatch?.beforeLlm.p50, ms, (v) => v <= 5),
    check('Transaction -> model request (1M messages)', 'p99 <= 10 ms', suite?.dispatch?.beforeLlm.p99, ms, (v) => v <= 10),
    check('Dispatch overhead (transaction -> reply send)', 'p99 < 10 ms', suite?.dispatch?.totalWithoutOwnGc.p99, ms, (v) => v < 10),
    check("Dispatch p99 vs Node's defaults (same run)", 'within +10%', p99Ratio, (v) => `${v >= 1 ? '+' : ''}${((v - 1) * 100).toFixed(0)}%`, (v) => v <= 1.1),
    check('Prompt assembly (1M messages)', 'p99 < 5 ms', worstPrompt, ms, (v) => v < 5),
    check('Recall (100 needles, FTS alone)', '>= 95%', suite?.recall?.recall, (v) => `${(v * 100).toFixed(0)}%`, (v) => v >= 0.95),
    check('Prompt assembly with retrieval', 'p99 < 10 ms', suite?.recall?.time.p99, ms, (v) => v < 10),
    check('RSS idle', '<= 150 MiB', suite?.memory?.idleRss, mib, (v) => v <= 150 * MIB),
    check('RSS after the ingest run', '<= 200 MiB', suite?.memory?.afterIngestRss, mib, (v) => v <= 200 * MIB),
    check(`Burst of ${int(report.options.burst.eventsPerTransaction)}-event transactions`, 'no out-of-memory exit', suite?.burst ? (suite.burst.crash ? 0 : 1) : null, (v) => (v ? 'survived' : `died: ${suite?.burst?.crash?.how}`), (v) => v === 1),
    check('Spawn end to end', 'p50 < 500 ms', spawn?.observed.p50, ms, (v) => v < 500),
    check("Synapse: send -> persona's send (access log)", 'p50 <= 12 ms', live?.server?.gap.p50, ms, (v) => v <= 12),
  ];
}

const verdict = (met: boolean | null): string => (met === null ? '–' : met ? 'met' : '**missed**');

function summaryRow(name: string, s: Summary): string {
  return `| ${name} | ${int(s.count)} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} |`;
}

/** The bridge's own account of the time before the model request, stage by stage (bench/stages.ts). */
export function renderStages(rows: readonly StageRow[]): string[] {
  const total = rows.find((r) => r.stage === 'total');
  return [
    "Where the bridge's time before the model request goes, by its own clock (the answer timeline in its /metrics, " +
      '`personas_answer_stage_seconds`, over the same samples): the stages add up to the total; the mean is exact, the ' +
      "percentiles are interpolated within the histogram's buckets. The rest of the benchmark's figure is the two HTTP hops " +
      '(the transaction to the bridge, the request to the model) and the HTTP client.',
    '',
    '| stage | answers | mean | p50 | p99 | share of the mean |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.stage === 'total' ? '**total**' : r.stage} | ${int(r.count)} | ${ms(r.meanMs)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ` +
        `${total && total.meanMs > 0 ? `${((100 * r.meanMs) / total.meanMs).toFixed(0)}%` : ''} |`,
    ),
    '',
  ];
}

const SUMMARY_HEADER = ['| | samples | p50 | p90 | p99 | max |', '|---|---:|---:|---:|---:|---:|'];

export function renderReport(report: BenchReport): string {
  const { machine, suite, spawn, options } = report;
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`npm run bench\`${options.quick ? ' in quick mode (BENCH_QUICK=1: small sizes, figures not comparable)' : ''} ` +
      `on ${report.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${Math.round(report.durationSeconds)} s. ` +
      'Benchmarks, not tests: nothing here fails a build. Rerun it to get figures for your machine.',
    '',
  );
  out.push('## Machine', '');
  out.push(`- CPU: ${machine.cpuModel}, ${machine.cores} cores`);
  out.push(`- RAM: ${(machine.ramBytes / 1024 ** 3).toFixed(1)} GiB`);
  out.push(`- Node ${machine.node}, ${machine.platform}`);
  out.push(`- Load average (1/5/15 min) before: ${load(report.loadBefore)}; after: ${load(report.loadAfter)}`);
  if (report.jitter) {
    const j = report.jitter;
    out.push(
      `- Scheduling noise: an idle Node process's 1 ms timer fired more than 3 ms late ${j.stalls} time${j.stalls === 1 ? '' : 's'} in ${j.seconds} s ` +
        `(worst ${ms(j.worstMs)}); every latency tail below includes such stalls, in the bridge and in the benchmark process`,
    );
  }
  out.push('');

  out.push('## Targets', '');
  out.push('| | target | measured | |', '|---|---|---:|---|');
  for (const t of checkTargets(report)) out.push(`| ${t.name} | ${t.target} | ${t.measured} | ${verdict(t.met)} |`);
  out.push('');

  if (suite) {
    const w = options.world;
    out.push('## Setup', '');
    out.push(
      `The bridge runs in its own process (\`node dist/main.js -c config.yaml -f registration.yaml\`, default config, ` +
        `log level info) against a fake homeserver and a fake OpenAI-compatible model (tests/fakes/FakeOpenAI.ts), both local ` +
        `HTTP servers in the benchmark process. Its database is seeded through the bridge's own stores with ` +
        `${int(w.personas)} active personas, ${int(w.rooms)} rooms (${int(suite.seed.personaRooms)} persona memberships: ` +
        `${w.ingestRooms} group rooms of 2 people + ${w.personasPerGroup} personas, ${w.dmRooms} DMs, the rest 1 person + 2 personas) ` +
        `and ${int(suite.seed.messages)} stored messages (${int(w.busyRoomMessages)} in each group room and DM, written ` +
        `interleaved in time order, plus ${int(suite.seed.chapters)} chapter summaries in the DMs), in ${suite.seed.seconds.toFixed(1)} s. ` +
        `Before measuring, every room is made known the way production learns rooms: one message each, whose room members the ` +
        `bridge then loads (${int(suite.memory?.loadRooms.rooms ?? 0)} rooms in ${(suite.memory?.loadRooms.seconds ?? 0).toFixed(1)} s).`,
      '',
    );
  }

  if (suite?.ingest) {
    const r = suite.ingest;
    out.push('## 1. Ingest', '');
    out.push(
      `${int(r.transactions)} transactions of 100 \`m.room.message\` events (people talking in ${r.rooms} group rooms, ` +
        `no mentions and no \`m.mentions\`, so every persona is checked for a mention in the text and none answers), PUT one at ` +
        `a time as Synapse does, after a warm-up. Every event is de-duplicated, recorded to memory and seen by the dispatcher.`,
      '',
    );
    out.push(`- **Sustained: ${int(r.eventsPerSecond)} events/s** (first transaction sent to the last event handled, ${r.seconds.toFixed(1)} s)`);
    out.push(
      `- Accepted: ${int(r.acceptedEventsPerSecond)} events/s (a transaction is answered once the synchronous part of ` +
        `handling its events is done; the last event was fully handled ${r.drainSeconds.toFixed(2)} s after the last transaction was answered)`,
    );
    out.push('', 'Transaction response time:', '', ...SUMMARY_HEADER, summaryRow('PUT /transactions (100 events)', r.transactionMs), '');
  }

  if (suite?.dispatch) {
    const r = suite.dispatch;
    out.push('## 2. Dispatch overhead', '');
    out.push(
      `${int(r.samples)} DMs, one at a time, each to a different persona's DM in turn, with ${int(suite.seed.messages)} messages in ` +
        'the memory database. The fake model answers at once (a short paragraph, streamed); the fake homeserver accepts the ' +
        'receipt, typing and send calls. All timestamps are taken in the benchmark process: transaction sent, model request ' +
        'arrived, reply send arrived.',
      '',
    );
    out.push(
      ...SUMMARY_HEADER,
      summaryRow('**transaction sent -> reply send arrives**', r.totalWithoutOwnGc),
      summaryRow('the same, all samples', r.total),
      summaryRow('transaction sent -> model request arrives', r.beforeLlm),
      summaryRow('model request arrives -> reply send arrives', r.afterLlm),
      '',
      `The first row leaves out the ${int(r.ownGcSamples)} samples during which the benchmark process itself (the fake homeserver ` +
        'and model, and the timer) paused for garbage collection, as Node reported it: such a pause delays the timestamps, not ' +
        "the bridge. The bridge's own pauses stay in. The target is checked against the first row.",
      '',
    );
    if (r.stages) out.push(...renderStages(r.stages));
    if (report.before) out.push(...renderEarlierStages(report.before));
  }

  if (suite?.prompt) {
    out.push('## 3. Prompt assembly', '');
    out.push(
      `MemoryStore fetch (recent messages and chapters of the scope) plus PromptBuilder fitting them to memory.context_tokens ` +
        `(4096), as PersonaResponder does, in-process on the same database (${int(suite.seed.messages)}+ messages).`,
      '',
    );
    out.push('| scenario | samples | p50 | p90 | p99 | max | rows fetched | messages in prompt | chapters | tokens |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of suite.prompt) {
      out.push(
        `| ${s.name} | ${int(s.time.count)} | ${ms(s.time.p50)} | ${ms(s.time.p90)} | ${ms(s.time.p99)} | ${ms(s.time.max)} | ` +
          `${s.rowsFetched.toFixed(0)} | ${s.historyIncluded.toFixed(0)} | ${s.chaptersIncluded.toFixed(0)} | ${s.estimatedTokens.toFixed(0)} |`,
      );
    }
    out.push('');
  }

  if (suite?.memory) renderMemory(out, report, suite);

  if (spawn) {
    out.push('## 5. Spawn', '');
    out.push(
      `\`!persona spawn <Name> <prompt>\` sent by an admin in a DM with the bot, against a real Synapse (scripts/synapse.sh, ` +
        `started in ${spawn.synapseStartSeconds.toFixed(1)} s) and the bridge in its own process; ${spawn.samples} spawns after a warm-up. ` +
        'Each registers the user and sets its displayname on Synapse, then the bot answers.',
      '',
    );
    out.push(
      ...SUMMARY_HEADER,
      summaryRow('**command sent -> answer seen in /sync**', spawn.observed),
      summaryRow('answer origin_server_ts - command origin_server_ts', spawn.serverTimestamps),
      '',
    );
  }

  if (suite?.recall) renderRecall(out, suite.recall);

  if (report.live) out.push(renderLive(report.live, report.liveLoad ?? ''));

  if (suite) {
    out.push('## Homeserver calls made by the bridge', '');
    out.push(Object.entries(suite.homeserverCalls).map(([route, n]) => `${route}: ${int(n)}`).join(' · '), '');
  }

  out.push(ANALYSIS.trim(), '');
  return out.join('\n');
}

/** The figures for the terminal. */
export function summaryLines(report: BenchReport): string[] {
  const lines = checkTargets(report).map((t) => `${t.name.padEnd(44)} ${t.measured.padStart(18)}  (target ${t.target}: ${t.met === null ? 'not run' : t.met ? 'met' : 'MISSED'})`);
  const { suite, spawn } = report;
  if (suite?.ingest) lines.push(`  ingest transaction response: p50 ${ms(suite.ingest.transactionMs.p50)}, p99 ${ms(suite.ingest.transactionMs.p99)}`);
  if (suite?.dispatch) {
    const d = suite.dispatch;
    lines.push(`  dispatch p50 ${ms(d.totalWithoutOwnGc.p50)} (before model ${ms(d.beforeLlm.p50)}, after ${ms(d.afterLlm.p50)}); all samples p99 ${ms(d.total.p99)} (${d.ownGcSamples} overlapped our own GC)`);
    // The stage table too: the figures issue 28 is about, without opening the report.
    for (const r of d.stages ?? []) lines.push(`    ${r.stage.padEnd(20)} mean ${ms(r.meanMs).padStart(9)}  p50 ${ms(r.p50Ms).padStart(9)}  p99 ${ms(r.p99Ms).padStart(9)}`);
  }
  for (const s of suite?.prompt ?? []) lines.push(`  prompt, ${s.name}: p50 ${ms(s.time.p50)}, p99 ${ms(s.time.p99)}`);
  if (suite?.recall) {
    const r = suite.recall;
    lines.push(`  recall ${r.found}/${r.needles}; assembly with retrieval p50 ${ms(r.time.p50)}, p99 ${ms(r.time.p99)}; index ${(r.indexBytesPerMillion / 2 ** 20).toFixed(1)} MiB per million messages`);
  }
  for (const run of suite?.runs ?? []) {
    const m = run.memory;
    lines.push(
      `  ${run.variant.label}: RSS start ${mib(m.startRss)}, idle ${mib(m.idleRss)}, after ingest ${m.afterIngestRss === null ? 'n/a' : mib(m.afterIngestRss)}, ` +
        `peak ${mib(m.peakRss)}; ingest ${run.ingest ? `${int(run.ingest.eventsPerSecond)} events/s (CPU ${ms(run.ingest.cpuMsPerThousandEvents)} per 1,000)` : 'n/a'}; ` +
        `dispatch p99 ${run.dispatch ? `${ms(run.dispatch.totalWithoutOwnGc.p99)} (to the model request p50 ${ms(run.dispatch.beforeLlm.p50)}, p99 ${ms(run.dispatch.beforeLlm.p99)})` : 'n/a'}; burst ${burstVerdict(run.burst)}`,
    );
    if (m.runtime) lines.push(`    ${m.runtime}`);
  }
  lines.push(...stagesSideBySide(suite?.runs ?? []));
  if (spawn) lines.push(`  spawn p99 ${ms(spawn.observed.p99)}; server timestamps p50 ${ms(spawn.serverTimestamps.p50)}`);
  const live = report.live;
  if (live) {
    const requests = Object.values(live.requestsByEndpoint).reduce((a, b) => a + b, 0) / live.samples;
    lines.push(`  live: answer p50 ${ms(live.answer.p50)} vs floor ${ms(live.floor.p50)} (x${(live.answer.p50 / live.floor.p50).toFixed(2)}; floor right after an answer ${ms(live.floorRightAfterAnswer.p50)}); ${requests.toFixed(2)} requests per fast answer ${JSON.stringify(live.requestsByEndpoint)}`);
    if (live.server) {
      const split = live.server.split ? ` (Synapse's push p50 ${ms(live.server.split.push.p50)}, the rest ${ms(live.server.split.rest.p50)})` : '';
      lines.push(`  live, Synapse's clock: send -> send gap p50 ${ms(live.server.gap.p50)} p90 ${ms(live.server.gap.p90)}${split}; answer ${ms(live.server.answer.p50)} vs floor ${ms(live.server.floor.p50)}`);
    }
    for (const a of live.streamed) lines.push(`  live stream: first text ${ms(a.firstVisibleMs)}, ${a.edits} edits, ${a.messages} message(s), identical ${a.identical}`);
  }
  return lines;
}

/** With BENCH_COMPARE: each build's stage table in columns (mean / p50 / p99), to compare a cut stage by stage. */
function stagesSideBySide(runs: BridgeRun[]): string[] {
  const measured = runs.filter((r) => r.dispatch?.stages);
  if (measured.length < 2) return [];
  const lines = [`  stages side by side (mean / p50 / p99 ms): ${measured.map((r) => r.variant.label).join(' | ')}`];
  for (const stage of measured[0]!.dispatch!.stages!.map((r) => r.stage)) {
    const cells = measured.map((r) => {
      const row = r.dispatch!.stages!.find((x) => x.stage === stage);
      return row ? `${row.meanMs.toFixed(3)} / ${row.p50Ms.toFixed(3)} / ${row.p99Ms.toFixed(2)}` : 'n/a';
    });
    lines.push(`    ${stage.padEnd(20)} ${cells.map((c) => c.padStart(24)).join(' |')}`);
  }
  return lines;
}

function burstVerdict(b: BurstResult | undefined): string {
  if (!b) return 'n/a';
  return b.crash ? `DIED (${b.crash.how})` : `${b.seconds!.toFixed(1)} s (CPU ${b.cpuSeconds.toFixed(1)} s)`;
}

/** Section 4: memory of every bridge process measured, side by side with its throughput. */
function renderMemory(out: string[], report: BenchReport, suite: SuiteResults): void {
  const { options } = report;
  const runs = suite.runs;
  const cell = (f: (r: BridgeRun) => string): string => runs.map((r) => ` ${f(r)} |`).join('');
  const b = options.burst;
  out.push('## 4. Memory', '');
  out.push(
    `Resident set size of the bridge process (VmRSS), read after it was left idle for ${options.settleSeconds} s, and its peak ` +
      `(VmHWM) over the whole run, with the throughput measured in the same process beside it. Each column is a fresh bridge ` +
      'process over the same database, one after the other in this run:',
    '',
  );
  for (const r of runs) {
    const how = r.variant.env.PERSONAS_RUNTIME_TUNING ? `PERSONAS_RUNTIME_TUNING=${r.variant.env.PERSONAS_RUNTIME_TUNING} node dist/main.js` : 'node dist/main.js';
    out.push(`- **${r.variant.label}** (\`${how}\`): ${r.memory.runtime ? `\`${r.memory.runtime}\`` : 'no runtime line logged'}`);
  }
  out.push('');
  out.push(`| |${runs.map((r) => ` ${r.variant.label} |`).join('')}`, `|---|${runs.map(() => '---:|').join('')}`);
  out.push(`| RSS started, ${int(options.world.personas)} personas, no room known |${cell((r) => mib(r.memory.startRss))}`);
  out.push(`| **RSS idle, ${int(options.world.personas)} personas, ${int(runs[0]?.memory.loadRooms.rooms ?? 0)} rooms known** |${cell((r) => `**${mib(r.memory.idleRss)}**`)}`);
  out.push(`| V8 heap used / committed at that point (/metrics) |${cell((r) => (r.memory.idleHeap ? `${mib(r.memory.idleHeap.used)} / ${mib(r.memory.idleHeap.total)}` : 'n/a'))}`);
  if (runs.some((r) => r.memory.afterIngestRss !== null)) {
    out.push(`| **RSS after the ingest run** |${cell((r) => (r.memory.afterIngestRss === null ? 'n/a' : `**${mib(r.memory.afterIngestRss)}**`))}`);
  }
  if (runs.some((r) => r.burst)) {
    out.push(`| RSS after the burst |${cell((r) => (r.burst?.afterRss ? mib(r.burst.afterRss) : 'n/a'))}`);
  }
  out.push(`| peak RSS over the run (VmHWM) |${cell((r) => mib(r.memory.peakRss))}`);
  if (runs.some((r) => r.ingest)) {
    out.push(`| ingest, sustained |${cell((r) => (r.ingest ? `${int(r.ingest.eventsPerSecond)} events/s` : 'n/a'))}`);
    out.push(`| ingest, transaction p99 |${cell((r) => (r.ingest ? ms(r.ingest.transactionMs.p99) : 'n/a'))}`);
    out.push(`| ingest, bridge CPU per 1,000 events |${cell((r) => (r.ingest ? ms(r.ingest.cpuMsPerThousandEvents) : 'n/a'))}`);
  }
  if (runs.some((r) => r.dispatch)) {
    out.push(`| dispatch p50 / p99 |${cell((r) => (r.dispatch ? `${ms(r.dispatch.totalWithoutOwnGc.p50)} / ${ms(r.dispatch.totalWithoutOwnGc.p99)}` : 'n/a'))}`);
  }
  if (runs.some((r) => r.burst)) {
    out.push(`| burst: ${b.transactions} x ${int(b.eventsPerTransaction)} events, handled in |${cell((r) => burstVerdict(r.burst))}`);
    out.push(`| burst: bridge CPU |${cell((r) => (r.burst ? `${r.burst.cpuSeconds.toFixed(1)} s` : 'n/a'))}`);
  }
  out.push('');
  if (suite.burst) {
    out.push(
      `The burst comes after dispatch: ${b.transactions} transactions of ${int(b.eventsPerTransaction)} one-hour-old messages each, ` +
        `spread over all ${int(suite.world.rooms.length)} rooms and PUT one at a time, as Synapse would send a backlog; ` +
        'every room gets a queue and rooms forgotten meanwhile load their members again. It checks that the heap caps leave ' +
        'room for the largest legitimate burst: the bridge must not exit out of memory.',
      '',
    );
    for (const r of runs) if (r.burst?.crash) out.push(`**${r.variant.label} died in the burst (${r.burst.crash.how})**; its log ended:`, '', '```', r.burst.crash.logTail, '```', '');
  }
}