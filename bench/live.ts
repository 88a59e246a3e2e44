import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeProcess } from './BridgeProcess.js';
import { BENCH_REPLY } from './dispatch.js';
import { MatrixUser, type SyncedEvent } from './MatrixUser.js';
import { bridgeSetup } from './setup.js';
import { startBenchSynapse, type SynapseHarness } from './spawn.js';
import { int, ms, percentile, summarize, type Summary } from './stats.js';
import { parseAccessLog, parseTransactionPushes, sentToRoom, serverSideSamples } from './accessLog.js';

/** The pause before each floor message and each question, so both start with the bridge quiet (its last read receipt in). */
const QUIET_MS = 300;

/** The part of FakeOpenAI (tests/fakes) the live benchmark drives. */
export interface StreamingLlm {
  baseUrl: string;
  respondWith(response: string | { content: string; chunkDelayMs?: number }): unknown;
  readonly requests: Array<{ receivedAt: number }>;
}

export interface LiveOptions {
  /** Sequential DMs answered by the instant model, each beside a user -> user message. */
  samples: number;
  warmup: number;
  /** Streamed answers from the slow model. */
  streams: number;
  /** Words the slow model writes, one stream piece each... */
  streamWords: number;
  /** ...with this pause between pieces (25 ms: 40 tokens/s). */
  chunkDelayMs: number;
}

export interface StreamedAnswer {
  /** The model's first token (its request arrived; the fake sends the first piece at once) -> first text seen in the sender's /sync. */
  firstVisibleMs: number;
  /** The same on the server's clock: the first message's origin_server_ts. */
  firstVisibleServerMs: number;
  /** First token -> final edit seen. */
  finalSeenMs: number;
  /** m.replace edits of the live message, the final one included. */
  edits: number;
  /** The final edit's body is exactly the model's output. */
  identical: boolean;
  /** Separate messages the persona sent for the answer (1 for one message edited in place). */
  messages: number;
}

export interface LiveResult {
  samples: number;
  /** Instant model: DM sent -> the persona's answer seen by the sender's /sync. */
  answer: Summary;
  /** The same run, interleaved: user -> user message seen by the other's /sync, sent after the same pause as the question (the bridge quiet). */
  floor: Summary;
  /** The same, sent right after the previous answer was seen (as this benchmark measured the floor before: the bridge's read receipt follows the answer). */
  floorRightAfterAnswer: Summary;
  p95: { answer: number; floor: number };
  /** The same samples on Synapse's clock (its access log): see bench/accessLog.ts. */
  server: { gap: Summary; answer: Summary; floor: Summary; split: { push: Summary; rest: Summary } | null } | null;
  /** Requests the bridge made to Synapse during the fast answers, by endpoint (from Synapse's access log). */
  requestsByEndpoint: Record<string, number>;
  streamed: StreamedAnswer[];
  streamSeconds: number;
  streamWords: number;
  synapseStartSeconds: number;
}

/** Matches one access-log line of Synapse: who asked, and the request line. */
const ACCESS = /\{(@[^}]+)\} Processed request: .*? \d+ "(\w+) ([^ ?"]+)[^"]*"/;

/**
 * A request line reduced to its endpoint ("PUT send/m.room.message", "POST receipt"), with
 * room ids, user ids and transaction ids left out.
 */
export function endpointOf(method: string, path: string): string {
  const p = path.replace(/^\/_matrix\/client\/(?:v3|r0|unstable)\//, '');
  let m = /^rooms\/[^/]+\/send\/([^/]+)\/[^/]+$/.exec(p);
  if (m) return `${method} send/${decodeURIComponent(m[1]!)}`;
  m = /^rooms\/[^/]+\/([^/]+)(?:\/.*)?$/.exec(p);
  if (m) return `${method} ${m[1]}`;
  return `${method} ${p.split('/')[0]}`;
}

/** The bridge's requests (made as any user of its namespace) in a slice of Synapse's access log, by endpoint. */
export function countBridgeRequests(logText: string, isBridgeUser: (userId: string) => boolean): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of logText.split('\n')) {
    const m = ACCESS.exec(line);
    if (!m || !isBridgeUser(m[1]!)) continue;
    const key = endpointOf(m[2]!, m[3]!);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** `words` words of plain prose (no Markdown, so the body is the model's text as written). */
export function streamedText(words: number): string {
  const vocabulary = ['the', 'river', 'light', 'morning', 'walk', 'quiet', 'long', 'road', 'water', 'wind', 'jacket', 'book', 'early', 'heat', 'past'];
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    const word = vocabulary[(i * 7 + Math.floor(i / 15)) % vocabulary.length]!;
    out.push(i % 12 === 11 ? `${word}.` : word);
  }
  return out.join(' ') + '.';
}

/**
 * Live replies against a real Synapse, with the bridge in its own process: (1) the instant
 * model's answer latency beside the Synapse floor, interleaved sample by sample so both see
 * the same load, with the bridge's requests counted from Synapse's access log; (2) a model
 * streaming at 40 tokens/s: first visible text, edits, final text.
 */
export async function runLive(harness: SynapseHarness, llm: StreamingLlm, opts: LiveOptions & { dir: string; mainJs: string }): Promise<LiveResult> {
  mkdirSync(opts.dir, { recursive: true });
  const domain = 'localhost';
  const prefix = 'persona_live_';
  const setup = await bridgeSetup({ dir: opts.dir, homeserverUrl: 'http://127.0.0.1:1', domain, llmBaseUrl: llm.baseUrl, botLocalpart: 'personas_live', personaPrefix: prefix });
  // One person asks every question: the per-person rate limit (20 a minute by default) would answer with a notice.
  setup.raw.dispatch = { user_rate_limit: { messages: 1000, window_seconds: 60 } };
  writeFileSync(join(opts.dir, 'personas', 'ada.yaml'), 'name: Ada\nprompt: "You are Ada. Answer briefly."\n');
  const { synapse, synapseStartSeconds } = await startBenchSynapse(harness, opts.dir, domain, setup.registration);
  const users: MatrixUser[] = [];
  let bridge: BridgeProcess | null = null;
  try {
    (setup.raw.homeserver as { url: string }).url = synapse.baseUrl;
    bridge = await BridgeProcess.start({ mainJs: opts.mainJs, dir: opts.dir, config: setup.raw, registration: setup.registration });
    const tag = randomBytes(3).toString('hex');
    const account = async (name: string): Promise<MatrixUser> => {
      const a = await harness.registerUser(synapse, `live${name}_${tag}`, `pw-${randomBytes(6).toString('hex')}`);
      const user = new MatrixUser(synapse.baseUrl, a.userId, a.accessToken);
      users.push(user);
      await user.startSyncing();
      return user;
    };
    const alice = await account('alice');
    const bob = await account('bob');
    const ada = `@${prefix}ada:${domain}`;

    const people = await alice.createRoom([bob.userId]);
    await bob.joinRoom(people);
    await alice.waitForEvent(people, (e) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'join');
    const dm = await alice.createRoom([ada]);
    await alice.waitForEvent(dm, (e) => e.type === 'm.room.member' && e.state_key === ada && e.content.membership === 'join', 60_000);

    // 1. Instant model, interleaved with the floor.
    llm.respondWith(BENCH_REPLY);
    const answers: number[] = [];
    const floors: number[] = [];
    const floorsRightAfter: number[] = [];
    const logFile = join(synapse.dataDir, 'homeserver.log');
    let logStart = 0;
    const floorSample = async (marker: string): Promise<number> => {
      const sentAt = performance.now();
      await alice.sendText(people, marker);
      const seen = await bob.waitForEvent(people, (e) => e.content.body === marker);
      return seen.seenAt - sentAt;
    };
    for (let i = 0; i < opts.warmup + opts.samples; i++) {
      if (i === opts.warmup) {
        await sleep(1500); // the warm-up's receipts land before the count starts
        logStart = statSync(logFile).size;
      }
      // Right after the previous answer, while the bridge sends its read receipt: how this
      // benchmark took the floor before (kept to show the difference, not in the ratio).
      const floorRightAfter = await floorSample(`floor now ${tag} ${i}`);
      // The floor and the question both start from the same quiet: the previous answer's
      // receipt in, nothing else in flight.
      await sleep(QUIET_MS);
      const floor = await floorSample(`floor ${tag} ${i}`);
      await sleep(QUIET_MS);

      const question = `question ${tag} ${i}: where should I walk tomorrow?`;
      const isAnswer = newAnswer(alice, dm, ada);
      const sentAt = performance.now();
      await alice.sendText(dm, question);
      const reply = await alice.waitForEvent(dm, isAnswer, 30_000);
      // The first answer to a person ends with the first-contact note (disclosure: first_contact, the default): a warm-up one.
      const body = String(reply.content.body);
      if (!body.startsWith(BENCH_REPLY) && !body.endsWith(BENCH_REPLY)) {
        throw new Error(`Ada's answer to ${i} is not the model's: ${String(reply.content.body).slice(0, 200)}`);
      }
      if (i < opts.warmup) continue;
      floors.push(floor);
      floorsRightAfter.push(floorRightAfter);
      answers.push(reply.seenAt - sentAt);
    }
    // Typing and the receipt wait replies.typing_delay_ms (1 s): the last answer's receipt follows it.
    await sleep(2000);
    const logSlice = readFileSync(logFile).subarray(logStart).toString('utf8');
    const requestsByEndpoint = countBridgeRequests(logSlice, (u) => u.startsWith(`@${prefix}`) || u.startsWith('@personas_live:'));
    // Only the quiet floors pair with the questions: of the two floor messages of each sample, the second.
    const all = parseAccessLog(logSlice);
    const floorSends = all.filter((e) => e.userId === alice.userId && sentToRoom(e) === people);
    const rightAfter = new Set(floorSends.filter((_, i) => i % 2 === 0));
    const entries = all.filter((e) => !rightAfter.has(e));
    const server = serverSideSamples(entries, { person: alice.userId, other: bob.userId, persona: ada, dm, people }, parseTransactionPushes(logSlice));
    const splits = server.flatMap((x) => (x.split ? [x.split] : []));

    // 2. A model writing at 40 tokens/s.
    const content = streamedText(opts.streamWords);
    llm.respondWith({ content, chunkDelayMs: opts.chunkDelayMs });
    const streamed: StreamedAnswer[] = [];
    const streamStarted = performance.now();
    for (let i = 0; i < opts.streams; i++) {
      const requestsBefore = llm.requests.length;
      const isAnswer = newAnswer(alice, dm, ada);
      await alice.sendText(dm, `tell me a long story ${tag} ${i}`);
      const first = await alice.waitForEvent(dm, isAnswer, 60_000);
      const final = await alice.waitForEvent(dm, (e) => isEditOf(e, first.event_id) && !isLive(e), opts.streamWords * opts.chunkDelayMs * 3 + 60_000);
      const firstToken = llm.requests[requestsBefore]?.receivedAt;
      if (firstToken === undefined) throw new Error(`no model request for the long story ${i}`);
      const timeline = alice.events(dm);
      const finalBody = String((final.content['m.new_content'] as { body?: unknown } | undefined)?.body ?? '');
      streamed.push({
        firstVisibleMs: performance.timeOrigin + first.seenAt - firstToken,
        firstVisibleServerMs: first.origin_server_ts - firstToken,
        finalSeenMs: performance.timeOrigin + final.seenAt - firstToken,
        edits: timeline.filter((e) => isEditOf(e, first.event_id)).length,
        identical: finalBody === content,
        messages: timeline.filter(isAnswer).length,
      });
    }
    const streamSeconds = (performance.now() - streamStarted) / 1000 / Math.max(1, opts.streams);
    return {
      samples: opts.samples,
      answer: summarize(answers),
      floor: summarize(floors),
      floorRightAfterAnswer: summarize(floorsRightAfter),
      server: server.length
        ? {
            gap: summarize(server.map((x) => x.gap)),
            answer: summarize(server.map((x) => x.answer)),
            floor: summarize(server.map((x) => x.floor)),
            split: splits.length ? { push: summarize(splits.map((x) => x.push)), rest: summarize(splits.map((x) => x.rest)) } : null,
          }
        : null,
      p95: { answer: percentile([...answers].sort((a, b) => a - b), 95), floor: percentile([...floors].sort((a, b) => a - b), 95) },
      requestsByEndpoint,
      streamed,
      streamSeconds,
      streamWords: opts.streamWords,
      synapseStartSeconds,
    };
  } finally {
    for (const user of users) await user.stop();
    await bridge?.stop();
    await harness.stopSynapse(synapse);
  }
}

function relation(e: SyncedEvent): Record<string, unknown> | undefined {
  return e.content['m.relates_to'] as Record<string, unknown> | undefined;
}

/** Matches the persona's messages (not edits) that arrive after this call. */
function newAnswer(user: MatrixUser, roomId: string, persona: string): (e: SyncedEvent) => boolean {
  const earlier = new Set(user.events(roomId).map((e) => e.event_id));
  return (e) => e.sender === persona && e.type === 'm.room.message' && !relatesAsEdit(e) && !earlier.has(e.event_id);
}

function relatesAsEdit(e: SyncedEvent): boolean {
  return relation(e)?.rel_type === 'm.replace';
}

function isEditOf(e: SyncedEvent, eventId: string): boolean {
  return relatesAsEdit(e) && relation(e)?.event_id === eventId;
}

function isLive(e: SyncedEvent): boolean {
  const newContent = e.content['m.new_content'] as Record<string, unknown> | undefined;
  return Boolean(newContent?.['org.matrix.msc4357.live'] ?? e.content['org.matrix.msc4357.live']);
}

/** The "Live replies" section of BENCHMARKS.md. */
export function renderLive(live: LiveResult, load: string): string {
  const out: string[] = ['## Live replies', ''];
  const ratio = live.answer.p50 / live.floor.p50;
  const perAnswer = Object.entries(live.requestsByEndpoint).map(([k, n]) => `${k}: ${(n / live.samples).toFixed(2)}`);
  const totalPerAnswer = Object.values(live.requestsByEndpoint).reduce((a, b) => a + b, 0) / live.samples;
  out.push(
    `Real Synapse (scripts/synapse.sh, started in ${live.synapseStartSeconds.toFixed(1)} s), the bridge in its own process (dist/main.js, ` +
      `default config: streaming on, live answers on, replies.typing_delay_ms 1000), the fake model over HTTP. Load average during the run: ${load}.`,
    '',
    `**Answer latency, instant model** — ${live.samples} sequential DMs after a warm-up, each timed from the send to the persona's answer in the ` +
      "sender's /sync; interleaved with each, the Synapse floor: a user -> user message timed to the other user's /sync, in the same run. " +
      `The floor message and the question are each sent after the same ${QUIET_MS} ms pause (the previous answer's read receipt in, nothing in flight), ` +
      'so both are measured the same way; the floor sent right after the previous answer was seen, as this benchmark used to take it, is shown beside.',
    '',
    '| | samples | p50 | p90 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    `| **DM -> persona's answer seen** | ${int(live.answer.count)} | ${ms(live.answer.p50)} | ${ms(live.answer.p90)} | ${ms(live.answer.p99)} | ${ms(live.answer.max)} |`,
    `| Synapse floor (user -> user) | ${int(live.floor.count)} | ${ms(live.floor.p50)} | ${ms(live.floor.p90)} | ${ms(live.floor.p99)} | ${ms(live.floor.max)} |`,
    `| the floor right after an answer | ${int(live.floorRightAfterAnswer.count)} | ${ms(live.floorRightAfterAnswer.p50)} | ${ms(live.floorRightAfterAnswer.p90)} | ${ms(live.floorRightAfterAnswer.p99)} | ${ms(live.floorRightAfterAnswer.max)} |`,
    '',
    `Ratio of the p50s: **×${ratio.toFixed(2)}** (target ≤ ×2.3; before live answers ×3.5); against the floor right after an answer ` +
      `×${(live.answer.p50 / live.floorRightAfterAnswer.p50).toFixed(2)}. p95: answer ${ms(live.p95.answer)}, floor ${ms(live.p95.floor)}.`,
    '',
    ...(live.server ? renderServerSide(live.server) : ['(Synapse access log: no samples matched.)', '']),
    `**Homeserver requests per fast answer** (the bridge's requests in Synapse's access log during the ${live.samples} timed answers, by endpoint, ` +
      `divided by the answers): ${perAnswer.join(' · ') || 'none'}; **${totalPerAnswer.toFixed(2)} in all** (target 2: send + receipt; before: 4).`,
    '',
  );
  if (live.streamed.length) {
    const s = live.streamed;
    const first = summarize(s.map((a) => a.firstVisibleMs));
    out.push(
      `**A model streaming 40 tokens/s** — ${live.streamWords} words, one stream piece each, 25 ms apart (≈${(live.streamWords * 0.025).toFixed(0)} s of writing); ` +
        `${s.length} answers. First token = the model request's arrival (the fake sends its first piece at once).`,
      '',
      '| answer | first token -> first text in /sync | (server timestamp) | -> final edit seen | edits (final included) | messages | final text identical |',
      '|---:|---:|---:|---:|---:|---:|---|',
      ...s.map(
        (a, i) =>
          `| ${i + 1} | ${ms(a.firstVisibleMs)} | ${ms(a.firstVisibleServerMs)} | ${(a.finalSeenMs / 1000).toFixed(1)} s | ${a.edits} | ${a.messages} | ${a.identical ? 'yes' : '**no**'} |`,
      ),
      '',
      `First visible text p50 ${ms(first.p50)}, worst ${ms(first.max)} (target ≤ 1.5 s). Edits at most ${Math.max(...s.map((a) => a.edits))} per answer ` +
        '(bound: 20 interim + 1 final = 21). The final text identical to the model\'s output: ' +
        `${s.every((a) => a.identical) ? 'yes, every answer' : '**no**'}.`,
      '',
    );
  }
  return `${out.join('\n')}\n`;
}

/** The same samples on Synapse's clock. */
function renderServerSide(server: NonNullable<LiveResult['server']>): string[] {
  const row = (name: string, x: Summary) => `| ${name} | ${int(x.count)} | ${ms(x.p50)} | ${ms(x.p90)} | ${ms(x.p99)} | ${ms(x.max)} |`;
  return [
    "**On Synapse's clock** (its access log, to the millisecond, see bench/accessLog.ts): the gap from the person's send finishing to the " +
      "persona's send starting holds Synapse pushing the transaction, the bridge's work, the model's instant answer and the send's way back; " +
      "the answer and the floor run from the first send's arrival to the /sync response that carried the message to the other side, both the same way.",
    '',
    '| | samples | p50 | p90 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    row("**person's send finished -> persona's send started**", server.gap),
    ...(server.split
      ? [
          row("of it, Synapse's: the person's send finished -> Synapse pushed the transaction", server.split.push),
          row('the rest: the push started -> the persona\'s send started (the bridge, the model, both requests on the wire)', server.split.rest),
        ]
      : []),
    row("person's send -> answer out in the person's /sync", server.answer),
    row('floor: send -> out in the other /sync', server.floor),
    '',
    "The split is taken where Synapse's HTTP client logged the transaction's PUT (synapse.http.client at DEBUG); each row is its own " +
      'distribution, so the p50s of the parts need not add up to the p50 of the whole.',
    '',
    `Ratio of the p50s on Synapse's clock: ×${(server.answer.p50 / server.floor.p50).toFixed(2)} (target for the gap: p50 ≤ 12 ms).`,
    '',
  ];
}

/**
 * BENCHMARKS.md with the Live replies section replaced (or added before the homeserver calls
 * and the analysis), so a run of this stage alone keeps the other stages' figures.
 */
export function spliceSection(markdown: string, section: string): string {
  const heading = '## Live replies';
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start >= 0) {
    const next = markdown.indexOf('\n## ', start + 1 + heading.length);
    return markdown.slice(0, start + 1) + section + (next >= 0 ? markdown.slice(next + 1) : '');
  }
  const before = ['\n## Homeserver calls', '\n## Analysis'].map((h) => markdown.indexOf(h)).filter((i) => i >= 0);
  if (!before.length) return `${markdown.trimEnd()}\n\n${section}`;
  const at = Math.min(...before) + 1;
  return markdown.slice(0, at) + section + markdown.slice(at);
}
