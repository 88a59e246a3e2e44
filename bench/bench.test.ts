// Smoke test of the benchmark's building blocks, so `npm run bench` cannot rot unnoticed:
// the whole fake-homeserver suite (seeding, rooms made known, ingest, dispatch, prompt
// assembly) at a tiny size against the real bridge in-process, and the report rendered from
// it. Checks that every stage ran and counted what it should; never how fast.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppServiceRegistration } from 'matrix-appservice-bridge';
import { FakeOpenAI } from '../tests/fakes/FakeOpenAI.js';
import { compose } from '../src/app/compose.js';
import type { BridgeUnderTest } from './BridgeProcess.js';
import { describeMachine } from './machine.js';
import { ALL_BENCHES, type BenchOptions } from './options.js';
import { countBridgeRequests, endpointOf, renderLive, spliceSection, streamedText, type LiveResult } from './live.js';
import { checkTargets, renderReport } from './report.js';
import { percentile, summarize } from './stats.js';
import { runBridgeBenchmarks } from './suite.js';

const tiny: BenchOptions = {
  quick: true,
  world: { personas: 12, rooms: 40, ingestRooms: 4, dmRooms: 3, personasPerGroup: 3, messages: 1500, busyRoomMessages: 120, recallRooms: 2, recallRoomMessages: 300 },
  ingest: { transactions: 3, warmupTransactions: 1 },
  dispatch: { samples: 4, warmup: 1 },
  prompt: { iterations: 5, warmup: 1 },
  recall: { needles: 6, deepest: 250, repeats: 1 },
  spawn: { samples: 1, warmup: 0 },
  live: { samples: 1, warmup: 0, streams: 1, streamWords: 10, chunkDelayMs: 1 },
  burst: { transactions: 1, eventsPerTransaction: 80 },
  settleSeconds: 0,
  only: new Set(ALL_BENCHES),
  keep: false,
};

describe('benchmark building blocks', () => {
  let dir: string;
  let llm: FakeOpenAI;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'personas-bench-test-'));
    llm = await FakeOpenAI.start();
  });

  afterAll(async () => {
    await llm.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the fake-homeserver suite runs every stage against the real bridge and reports it', async () => {
    const results = await runBridgeBenchmarks({
      options: tiny,
      dir,
      llm,
      log: () => undefined,
      nodeArgsApply: false,
      async startBridge(setup): Promise<BridgeUnderTest> {
        const app = compose({ config: setup.config, registration: AppServiceRegistration.fromObject(setup.registration) });
        await app.start();
        return {
          url: `http://127.0.0.1:${setup.config.appservice.port}`,
          hsToken: setup.registration.hs_token,
          rssBytes: () => process.memoryUsage().rss,
          peakRssBytes: () => process.resourceUsage().maxRSS * 1024,
          cpuSeconds: () => {
            const { user, system } = process.cpuUsage();
            return (user + system) / 1e6;
          },
          runtimeLine: () => null,
          exited: () => null,
          logTail: () => '',
          stop: () => app.stop(),
        };
      },
    });

    expect(results.seed).toMatchObject({ personas: 12, messages: 1500 });
    expect(results.seed.chapters).toBeGreaterThan(0);
    expect(results.memory?.loadRooms.rooms).toBe(40);
    expect(results.memory?.idleHeap?.used).toBeGreaterThan(0);
    expect(results.ingest).toMatchObject({ transactions: 3, events: 300, rooms: 4 });
    expect(results.ingest?.transactionMs.count).toBe(3);
    expect(results.ingest?.cpuMsPerThousandEvents).toBeGreaterThan(0);
    expect(results.dispatch?.total.count).toBe(4);
    expect(results.dispatch?.beforeLlm.count).toBe(4);
    // The bridge's own account of each answer's time before the model request, stage by stage.
    const stages = new Map(results.dispatch?.stages?.map((r) => [r.stage, r.count]));
    expect([...stages.keys()].slice(0, 4)).toEqual(['auth', 'parse', 'pending', 'queue']);
    expect([stages.get('recall'), stages.get('request'), stages.get('total')]).toEqual([4, 4, 4]);
    // The burst reached every room (two events each) and the bridge survived it.
    expect(results.burst).toMatchObject({ transactions: 1, eventsPerTransaction: 80, rooms: 40, crash: null });
    expect(results.burst?.peakRss).toBeGreaterThan(0);
    expect(results.runs.map((r) => r.variant.label)).toEqual(['default start']);
    expect(results.prompt?.map((s) => s.time.count)).toEqual([5, 5]);
    // The DM scenario sees the seeded chapters; the group rooms were never summarised.
    expect(results.prompt?.[0]?.chaptersIncluded).toBeGreaterThan(0);
    expect(results.prompt?.[1]?.chaptersIncluded).toBe(0);
    // Every planted fact was looked for, timed, and the index measured.
    expect(results.recall?.needles).toBe(6);
    expect(results.recall?.messages).toBeGreaterThanOrEqual(results.seed.messages);
    expect(results.recall?.time.count).toBe(6);
    expect(results.recall?.indexBytes).toBeGreaterThan(0);
    // Rooms were loaded through personas (never refused), and every DM was answered.
    expect(results.homeserverCalls.joined_members).toBe(40);
    expect(results.homeserverCalls.send).toBe(5);
    expect(Object.keys(results.homeserverCalls).filter((k) => k.startsWith('unrecognized'))).toEqual([]);

    const report = {
      machine: describeMachine(),
      startedAt: new Date(),
      options: tiny,
      loadBefore: [0, 0, 0] as [number, number, number],
      loadAfter: [0, 0, 0] as [number, number, number],
      durationSeconds: 1,
      suite: results,
    };
    // Not run: the comparison with Node's defaults (needs a process of its own), spawn and the live stage.
    expect(checkTargets(report).map((t) => t.met === null)).toEqual([false, false, false, false, true, false, false, false, false, false, false, true, true]);
    const markdown = renderReport(report);
    expect(markdown).toContain('## Machine');
    expect(markdown).toContain(report.machine.cpuModel);
    expect(markdown).toContain('## 1. Ingest');
    expect(markdown).toContain('## 2. Dispatch overhead');
    expect(markdown).toContain('## 4. Memory');
    expect(markdown).toContain('## 6. Recall');
    expect(markdown).toContain('burst: 1 x 80 events');
  }, 120_000);
});

describe('percentiles', () => {
  test('nearest rank: p99 of 100 samples is the 99th, p50 of an even count the lower middle', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile([3, 1, 2].sort(), 100)).toBe(3);
    expect(summarize([5, 1, 3])).toMatchObject({ count: 3, min: 1, p50: 3, max: 5, mean: 3 });
    expect(summarize([]).count).toBe(0);
  });
});

describe('live replies stage', () => {
  const line = (who: string, request: string): string =>
    `2026-11-29 08:19:37,739 - synapse.access.http.42729 - 643 - INFO - PUT-15 - 127.0.0.1 - 42729 - {${who}} Processed request: 0.070sec/0.001sec ru=(0.003sec, 0.000sec) db=(0.025sec/0.029sec/10) 2B 200 "${request} HTTP/1.1" "-" [0 dbevts]`;

  test("the bridge's requests are counted by endpoint from Synapse's access log, other users' left out", () => {
    const log = [
      line('@persona_live_ada:localhost', 'PUT /_matrix/client/v3/rooms/!a%3Alocalhost/send/m.room.message/t1?user_id=%40persona_live_ada%3Alocalhost'),
      line('@persona_live_ada:localhost', 'POST /_matrix/client/v3/rooms/!a%3Alocalhost/receipt/m.read/%24ev'),
      line('@persona_live_ada:localhost', 'PUT /_matrix/client/v3/rooms/!a%3Alocalhost/send/m.room.message/t2'),
      line('@livealice_1:localhost', 'PUT /_matrix/client/v3/rooms/!a%3Alocalhost/send/m.room.message/t3'),
      'unrelated line',
    ].join('\n');
    expect(countBridgeRequests(log, (u) => u.startsWith('@persona_live_'))).toEqual({ 'POST receipt': 1, 'PUT send/m.room.message': 2 });
    expect(endpointOf('PUT', '/_matrix/client/v3/rooms/!a/typing/%40x')).toBe('PUT typing');
    expect(endpointOf('POST', '/_matrix/client/v3/join/!a')).toBe('POST join');
  });

  test('the streamed text has the asked number of words; the section replaces its old self and keeps the rest', () => {
    expect(streamedText(800).split(' ')).toHaveLength(800);
    const live: LiveResult = {
      samples: 2,
      answer: summarize([100, 120]),
      floor: summarize([50, 60]),
      floorRightAfterAnswer: summarize([55, 70]),
      p95: { answer: 120, floor: 60 },
      server: { gap: summarize([10, 12]), answer: summarize([90, 100]), floor: summarize([45, 50]), split: { push: summarize([6, 7]), rest: summarize([4, 5]) } },
      requestsByEndpoint: { 'POST receipt': 2, 'PUT send/m.room.message': 2 },
      streamed: [{ firstVisibleMs: 400, firstVisibleServerMs: 300, finalSeenMs: 21_000, edits: 7, identical: true, messages: 1 }],
      streamSeconds: 21,
      streamWords: 800,
      synapseStartSeconds: 1,
    };
    const section = renderLive(live, '1.00');
    expect(section).toContain('**×2.00**');
    expect(section).toContain('**2.00 in all**');
    expect(section).toContain("| **person's send finished -> persona's send started** | 2 | 10.0 ms |");
    expect(section).toContain("| of it, Synapse's: the person's send finished -> Synapse pushed the transaction | 2 | 6.00 ms |");
    const doc = '# Benchmarks\n\n## 6. Recall\n\nx\n\n## Homeserver calls made by the bridge\n\ny\n';
    const once = spliceSection(doc, section);
    expect(once.indexOf('## Live replies')).toBeGreaterThan(once.indexOf('## 6. Recall'));
    expect(once.indexOf('## Live replies')).toBeLessThan(once.indexOf('## Homeserver calls'));
    const twice = spliceSection(once, section.replace('×2.00', '×9.99'));
    expect(twice.match(/## Live replies/g)).toHaveLength(1);
    expect(twice).toContain('×9.99');
    expect(twice).toContain('## Homeserver calls made by the bridge\n\ny\n');
  });
});
