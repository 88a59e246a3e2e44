/**
 * Memory probe (issue #18): the bench's `memory` stage (bridge started as an admin starts it,
 * every room of the full world made known, then idle) on a copy of an already seeded
 * database, in about a minute instead of a full run, with the bridge's RSS by mapping (smaps)
 * and its V8 heap (/metrics) at start and idle. For finding where the idle RSS comes from; not
 * part of `npm run bench`.
 *
 *   BENCH_ONLY=memory BENCH_KEEP=1 npm run bench      # once, for a seeded personas.db
 *   PROBE_DB=/tmp/personas-bench-XXX/bridge/personas.db node --import ./tools/register-ts.mjs bench/probeMemory.ts [node flags...]
 *
 * PROBE_SMAPS=1 prints RSS by mapping; PROBE_ENV='A=1 B=2' adds environment for the bridge;
 * PROBE_HOLD=N samples RSS for N s more; PROBE_SNAP=1 with --heapsnapshot-signal=SIGUSR2 writes
 * a heap snapshot at start and at idle into the bridge's folder (kept with PROBE_KEEP=1).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeProcess } from './BridgeProcess.js';
import { FakeHomeserver } from './FakeHomeserver.js';
import { loadAllRooms } from './ingest.js';
import { optionsFromEnv } from './options.js';
import { bridgeSetup } from './setup.js';
import { RecordedWatcher } from './transactions.js';
import { World } from './world.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function smaps(pid: number): string {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const byName = new Map<string, number>();
  let name = '';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1] || '[anon]';
      if (name.includes('node_modules')) name = name.replace(/^.*node_modules\//, 'nm/');
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]));
  }
  return [...byName]
    .sort((a, b) => b[1] - a[1])
    .filter(([, kb]) => kb > 500)
    .map(([n, kb]) => `    ${(kb / 1024).toFixed(1).padStart(6)} MiB ${n}`)
    .join('\n');
}

async function metrics(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pick = (re: RegExp) => text.split('\n').filter((l) => re.test(l)).join('\n    ');
  return '    ' + pick(/^(nodejs_heap_size|nodejs_external|process_resident|nodejs_heap_space_size_used)/);
}

async function main(): Promise<void> {
  const options = optionsFromEnv({ ...process.env, BENCH_ONLY: 'memory' });
  const dir = mkdtempSync(join(tmpdir(), 'personas-probe-'));
  const world = new World({ homeserver: { url: 'http://unused', domain: 'bench.local' }, appservice: { bind: '127.0.0.1', port: 0, bot_localpart: 'personas', bot_displayname: 'Personas', persona_prefix: 'persona_' } }, options.world);
  const homeserver = await FakeHomeserver.start(world);
  try {
    const setup = await bridgeSetup({ dir, homeserverUrl: homeserver.url, domain: 'bench.local', llmBaseUrl: 'http://127.0.0.1:9' });
    if (!process.env.PROBE_DB) throw new Error('PROBE_DB: the seeded personas.db of a kept benchmark run (BENCH_ONLY=memory BENCH_KEEP=1 npm run bench)');
    copyFileSync(process.env.PROBE_DB, setup.config.database.path);
    const env = Object.fromEntries((process.env.PROBE_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const bridge = await BridgeProcess.start({ mainJs: join(ROOT, 'dist', 'main.js'), dir, config: setup.raw, registration: setup.registration, nodeArgs: process.argv.slice(2), env });
    const watcher = new RecordedWatcher(setup.config.database.path);
    console.log(bridge.runtimeLine());
    await sleep(5000);
    console.log(`start RSS ${(bridge.rssBytes() / 2 ** 20).toFixed(1)} MiB\n${await metrics(bridge.url)}`);
    if (process.env.PROBE_SMAPS) console.log(smaps(bridge.pid));
    if (process.env.PROBE_SNAP) { process.kill(bridge.pid, 'SIGUSR2'); await sleep(15000); }
    const loaded = await loadAllRooms(bridge, world, watcher);
    console.log(`rooms known in ${loaded.seconds.toFixed(1)} s`);
    await sleep(5000);
    console.log(`idle RSS ${(bridge.rssBytes() / 2 ** 20).toFixed(1)} MiB pid ${bridge.pid}\n${await metrics(bridge.url)}`);
    if (process.env.PROBE_SMAPS) console.log(smaps(bridge.pid));
    if (process.env.PROBE_SNAP) { process.kill(bridge.pid, 'SIGUSR2'); await sleep(15000); }
    for (let t = 0; t < Number(process.env.PROBE_HOLD ?? 0); t += 5) {
      await sleep(5000);
      const m = await (await fetch(`${bridge.url}/metrics`)).text();
      const heap = /^nodejs_heap_size_total_bytes (\S+)$/m.exec(m)?.[1];
      console.log(`  +${t + 5} s RSS ${(bridge.rssBytes() / 2 ** 20).toFixed(1)} MiB, heap committed ${(Number(heap) / 2 ** 20).toFixed(1)} MiB`);
    }
    console.log(`end RSS ${(bridge.rssBytes() / 2 ** 20).toFixed(1)} MiB`);
    watcher.close();
    await bridge.stop();
  } finally {
    await homeserver.stop();
    if (process.env.PROBE_KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
