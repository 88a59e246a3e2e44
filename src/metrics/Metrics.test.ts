import type { Completion } from '../llm/LlmClient.js';
import type { Persona } from '../personas/Persona.js';
import { llmMetricsOptions, personaRoomCount, responderMetricsHooks } from './bridgeHooks.js';
import { Metrics } from './Metrics.js';

/** The value of one sample line, e.g. `personas_replies_total{persona="@a:hs"}`. */
async function sample(metrics: Metrics, series: string): Promise<number | undefined> {
  const { body } = await metrics.render();
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const ada = { name: 'Ada', userId: '@persona_ada:hs' } as Persona;
const completion = (usage: Completion['usage']): Completion => ({ text: 'hi', model: 'm', usage, attempts: 1 });

describe('Metrics', () => {
  test('counts events by type, replies and tokens per persona, LLM errors by kind', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.eventReceived('m.room.message');
    metrics.eventReceived('m.room.message');
    metrics.eventReceived('m.room.member');
    metrics.replied(ada.userId, { queueWaitMs: 100, llmMs: 1500, sendMs: 40, totalMs: 1700 });
    metrics.llmUsage(ada.userId, { promptTokens: 120, completionTokens: 30 });
    metrics.llmUsage(ada.userId, { promptTokens: 80, completionTokens: 10 });
    metrics.llmError('timeout');

    expect(await sample(metrics, 'personas_events_received_total{type="m.room.message"}')).toBe(2);
    expect(await sample(metrics, 'personas_events_received_total{type="m.room.member"}')).toBe(1);
    expect(await sample(metrics, 'personas_replies_total{persona="@persona_ada:hs"}')).toBe(1);
    expect(await sample(metrics, 'personas_llm_tokens_total{persona="@persona_ada:hs",direction="in"}')).toBe(200);
    expect(await sample(metrics, 'personas_llm_tokens_total{persona="@persona_ada:hs",direction="out"}')).toBe(40);
    expect(await sample(metrics, 'personas_llm_errors_total{kind="timeout"}')).toBe(1);
  });

  test('reply latency is a histogram per stage, in seconds', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.replied(ada.userId, { queueWaitMs: 100, llmMs: 1500, sendMs: 40, totalMs: 1700 });
    expect(await sample(metrics, 'personas_reply_latency_seconds_sum{stage="queue_wait"}')).toBeCloseTo(0.1);
    expect(await sample(metrics, 'personas_reply_latency_seconds_sum{stage="llm"}')).toBeCloseTo(1.5);
    expect(await sample(metrics, 'personas_reply_latency_seconds_sum{stage="send"}')).toBeCloseTo(0.04);
    expect(await sample(metrics, 'personas_reply_latency_seconds_sum{stage="total"}')).toBeCloseTo(1.7);
    // 1.5 s falls in the 2.5 s bucket, not the 1 s one.
    expect(await sample(metrics, 'personas_reply_latency_seconds_bucket{le="1",stage="llm"}')).toBe(0);
    expect(await sample(metrics, 'personas_reply_latency_seconds_bucket{le="2.5",stage="llm"}')).toBe(1);
  });

  test('scrape-time sources: active personas and rooms are read on each scrape', async () => {
    const metrics = new Metrics({ processMetrics: false });
    let personas = 3;
    metrics.observe({ activePersonas: () => personas, rooms: () => 5 });
    expect(await sample(metrics, 'personas_active_personas')).toBe(3);
    expect(await sample(metrics, 'personas_rooms')).toBe(5);
    personas = 4;
    expect(await sample(metrics, 'personas_active_personas')).toBe(4);
  });

  test("feedback on each persona's answers, and its rating, read on each scrape", async () => {
    const metrics = new Metrics({ processMetrics: false });
    let rows = [{ personaId: '@p_ada:hs', up: 3, down: 1, star: 2 }, { personaId: '@p_bo:hs', up: 0, down: 0, star: 1 }];
    metrics.observe({ feedback: () => rows });
    expect(await sample(metrics, 'personas_feedback{persona="@p_ada:hs",kind="up"}')).toBe(3);
    expect(await sample(metrics, 'personas_feedback{persona="@p_ada:hs",kind="star"}')).toBe(2);
    expect(await sample(metrics, 'personas_feedback_rating{persona="@p_ada:hs"}')).toBe(0.75);
    expect(await sample(metrics, 'personas_feedback_rating{persona="@p_bo:hs"}')).toBeUndefined();
    rows = [{ personaId: '@p_ada:hs', up: 3, down: 0, star: 2 }];
    expect(await sample(metrics, 'personas_feedback_rating{persona="@p_ada:hs"}')).toBe(1);
    expect(await sample(metrics, 'personas_feedback{persona="@p_bo:hs",kind="star"}')).toBeUndefined();
  });

  test('suppressed loops are counted as they happen', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.loopSuppressed();
    metrics.loopSuppressed();
    expect(await sample(metrics, 'personas_suppressed_loops_total')).toBe(2);
  });

  test('without sources the scrape-time series stay at zero', async () => {
    const metrics = new Metrics({ processMetrics: false });
    expect(await sample(metrics, 'personas_active_personas')).toBe(0);
    expect(await sample(metrics, 'personas_suppressed_loops_total')).toBe(0);
  });

  test('event types beyond a bound are counted as "other" (labels cannot grow without limit)', async () => {
    const metrics = new Metrics({ processMetrics: false });
    for (let i = 0; i < 60; i++) metrics.eventReceived(`com.example.custom${i}`);
    metrics.eventReceived('com.example.custom0');
    expect(await sample(metrics, 'personas_events_received_total{type="com.example.custom0"}')).toBe(2);
    expect(await sample(metrics, 'personas_events_received_total{type="com.example.custom59"}')).toBeUndefined();
    expect(await sample(metrics, 'personas_events_received_total{type="other"}')).toBe(10);
  });

  test('negative durations (a clock step) are recorded as zero', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.replied(ada.userId, { queueWaitMs: -5, llmMs: 10, sendMs: 1, totalMs: 6 });
    expect(await sample(metrics, 'personas_reply_latency_seconds_sum{stage="queue_wait"}')).toBe(0);
  });

  test('process metrics are included by default', async () => {
    const { body, contentType } = await new Metrics().render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('process_cpu_seconds_total');
    expect(body).toContain('nodejs_heap_size_used_bytes');
  });
});

describe('bridge hooks', () => {
  test('an answer is counted with its stages and its tokens', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const { onReplied } = responderMetricsHooks(metrics);
    onReplied!({
      persona: ada,
      roomId: '!r:hs',
      latencyMs: 900,
      queueWaitMs: 200,
      llmMs: 600,
      sendMs: 50,
      completion: completion({ promptTokens: 10, completionTokens: 5, totalTokens: 15 }),
      parts: 1,
    });
    expect(await sample(metrics, 'personas_replies_total{persona="@persona_ada:hs"}')).toBe(1);
    expect(await sample(metrics, 'personas_reply_latency_seconds_sum{stage="total"}')).toBeCloseTo(0.9);
    expect(await sample(metrics, 'personas_llm_tokens_total{persona="@persona_ada:hs",direction="in"}')).toBe(10);
  });

  test('an answer without reported usage adds no tokens', async () => {
    const metrics = new Metrics({ processMetrics: false });
    responderMetricsHooks(metrics).onReplied!({
      persona: ada,
      roomId: '!r:hs',
      latencyMs: 1,
      queueWaitMs: 0,
      llmMs: 1,
      sendMs: 0,
      completion: completion(null),
      parts: 1,
    });
    expect(await sample(metrics, 'personas_llm_tokens_total{persona="@persona_ada:hs",direction="in"}')).toBeUndefined();
  });

  test('without metrics the hooks are empty (nothing to call)', () => {
    expect(responderMetricsHooks(null)).toEqual({});
    expect(llmMetricsOptions(null, 'default')).toEqual({});
  });

  test('rooms shared by personas are counted once', () => {
    const bo = { name: 'Bo', userId: '@persona_bo:hs' } as Persona;
    const roomsOf: Record<string, string[]> = { [ada.userId]: ['!a', '!b'], [bo.userId]: ['!b', '!c'] };
    const directory = { byUserId: () => undefined, list: () => [ada, bo], rooms: (userId: string) => roomsOf[userId] ?? [] };
    expect(personaRoomCount(directory)).toBe(3);
  });
});
