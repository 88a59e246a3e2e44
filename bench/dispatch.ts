import { performance } from 'node:perf_hooks';
import type { BridgeUnderTest } from './BridgeProcess.js';
import type { FakeHomeserver } from './FakeHomeserver.js';
import { GcPauseLog } from './GcPauseLog.js';
import { diffStages, scrapeStages, STAGE_ORDER, stageRows, type StageRow, type StageScrape } from './stages.js';
import { summarize, type Summary } from './stats.js';
import { putTransaction, textEvent } from './transactions.js';
import { chatText, prng } from './world.js';
import type { World } from './world.js';

/** The part of FakeOpenAI (tests/fakes) the dispatch benchmark uses. */
export interface InstantLlm {
  respondWith(responder: (request: { messages: Array<{ role: string; content: unknown }> }) => string): unknown;
  /** Its log of requests, emptied as we go: kept, it makes the benchmark's own GC pauses longer. */
  readonly requests: unknown[];
}

/** What the fake model answers: a typical short reply with a little Markdown to render. */
export const BENCH_REPLY =
  'That sounds like a **lovely** plan. I would start early, before the heat, and take the long way past the river: ' +
  'it is quieter, and the light there in the morning is worth it. Bring water, something to read, and a jacket in case ' +
  'the wind picks up later. Tell me how it goes!';

export interface DispatchResult {
  samples: number;
  /** Transaction sent -> the reply's send request arrives at the homeserver. */
  total: Summary;
  /** Transaction sent -> the LLM request arrives (ingest, dispatch decision, memory, prompt). */
  beforeLlm: Summary;
  /** LLM request arrives -> reply send arrives (fake model answering, client, formatting, send). */
  afterLlm: Summary;
  /** `total` without the samples during which the benchmark process itself paused for GC. */
  totalWithoutOwnGc: Summary;
  /** Samples left out of totalWithoutOwnGc. */
  ownGcSamples: number;
  /** The bridge's own account of the time before the model request, by stage (its /metrics), over the samples; null without metrics. */
  stages: StageRow[] | null;
}

const TOKEN = /\[q(\d+)\]/g;

function lastToken(request: { messages: Array<{ role: string; content: unknown }> }): number | null {
  const text = request.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  const matches = [...text.matchAll(TOKEN)];
  const last = matches.at(-1);
  return last ? Number(last[1]) : null;
}

/**
 * One DM at a time to the personas of the DM rooms (each from its own person, so the
 * per-user rate limit never applies); the fake model answers at once. Timestamps are all
 * taken in this process: when the transaction is sent, when the model request arrives at
 * the fake model, when the reply's send request arrives at the fake homeserver.
 */
export async function runDispatch(
  bridge: BridgeUnderTest,
  world: World,
  homeserver: FakeHomeserver,
  llm: InstantLlm,
  opts: { samples: number; warmup: number },
): Promise<DispatchResult> {
  const llmArrivals = new Map<number, number>();
  llm.respondWith((request) => {
    const arrivedAt = performance.now();
    const token = lastToken(request);
    if (token !== null && !llmArrivals.has(token)) llmArrivals.set(token, arrivedAt);
    return BENCH_REPLY;
  });
  const random = prng(23);
  const total: number[] = [];
  const beforeLlm: number[] = [];
  const afterLlm: number[] = [];
  const windows: Array<[number, number]> = [];
  const ownGc = new GcPauseLog().start();
  let stagesBefore: StageScrape | null = null;
  for (let i = 0; i < opts.warmup + opts.samples; i++) {
    if (i === opts.warmup) stagesBefore = await scrapeStages(bridge.url);
    const room = world.dmRooms[i % world.dmRooms.length]!;
    const persona = room.personas[0]!;
    const reply = homeserver.nextSend((e) => e.roomId === room.roomId && e.userId === persona && e.type === 'm.room.message', 30_000);
    const event = textEvent(room.roomId, room.humans[0]!, `${chatText(random)} [q${i}]`);
    const sentAt = performance.now();
    await putTransaction(bridge, [event]);
    const answer = await reply;
    if (answer.content.msgtype !== 'm.text') {
      // Most likely the per-user rate limit (dispatch.user_rate_limit): spread the samples over more DM rooms.
      throw new Error(`the persona answered [q${i}] with a notice instead of a reply: ${String(answer.content.body)}`);
    }
    llm.requests.length = 0;
    const llmAt = llmArrivals.get(i);
    if (llmAt === undefined) throw new Error(`the reply to [q${i}] came without a model request for it`);
    if (i < opts.warmup) continue;
    total.push(answer.arrivedAt - sentAt);
    beforeLlm.push(llmAt - sentAt);
    afterLlm.push(answer.arrivedAt - llmAt);
    windows.push([sentAt, answer.arrivedAt]);
  }
  ownGc.stop();
  const stagesAfter = stagesBefore ? await scrapeStages(bridge.url) : null;
  const clean = total.filter((_, i) => !ownGc.overlaps(...windows[i]!));
  return {
    samples: opts.samples,
    total: summarize(total),
    beforeLlm: summarize(beforeLlm),
    afterLlm: summarize(afterLlm),
    totalWithoutOwnGc: summarize(clean),
    ownGcSamples: total.length - clean.length,
    stages: stagesBefore && stagesAfter ? stageRows(diffStages(stagesBefore, stagesAfter), STAGE_ORDER) : null,
  };
}
