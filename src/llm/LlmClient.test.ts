import { FakeOpenAI, lastUserText, systemText } from '../../tests/fakes/FakeOpenAI.js';
import { LlmClient, LlmError, type TokenUsage, type LlmClientConfig } from './LlmClient.js';

// Every test talks real HTTP to a local fake OpenAI-compatible server through the real
// `openai` client; only the backoff is shortened.
describe('LlmClient', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => void (fake = await FakeOpenAI.start()));
  afterAll(() => fake.stop());
  beforeEach(async () => {
    await fake.start(); // a test may have stopped it
    fake.reset();
  });

  const llmConfig = (over: Partial<LlmClientConfig> = {}): LlmClientConfig => ({
    base_url: fake.baseUrl,
    api_key: '',
    model: 'default-model',
    temperature: 0.8,
    max_tokens: 256,
    timeout_seconds: 5,
    max_retries: 2,
    max_concurrent: 4,
    stream: false,
    ...over,
  });
  const client = (over: Partial<LlmClientConfig> = {}, onUsage?: (u: TokenUsage, model: string) => void) =>
    new LlmClient(llmConfig(over), { backoff: { baseMs: 5, maxMs: 20 }, ...(onUsage ? { onUsage } : {}) });
  const request = { queueKey: '!room', messages: [{ role: 'system' as const, content: 'You are Ada.' }, { role: 'user' as const, content: 'Bob: hi' }] };

  test('sends the configured model, temperature and max_tokens, with an empty api_key allowed', async () => {
    fake.respondWith((req) => `${systemText(req)} / ${lastUserText(req)}`);
    const res = await client().complete(request);
    expect(res).toMatchObject({ text: 'You are Ada. / Bob: hi', model: 'default-model', attempts: 1 });
    expect(fake.requests[0]).toMatchObject({ model: 'default-model', temperature: 0.8, max_tokens: 256, stream: false });
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer no-key');
  });

  test('images go out as image_url content parts where they belong in the text', async () => {
    fake.respondWith('a cat');
    await client().complete({
      queueKey: '!room',
      messages: [
        { role: 'system', content: 'You are Ada.' },
        { role: 'user', content: 'Bob: look\nBob: and this', images: [{ url: 'data:image/jpeg;base64,AAAA', tokens: 255, at: 9 }, { url: 'data:image/jpeg;base64,BBBB', tokens: 255, at: 23 }] },
      ],
    });
    expect(fake.requests[0]!.messages[1]!.content).toEqual([
      { type: 'text', text: 'Bob: look' },
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } },
      { type: 'text', text: '\nBob: and this' },
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,BBBB' } },
    ]);
    expect(fake.requests[0]!.messages[0]!.content).toBe('You are Ada.');
  });

  test('a cancelled request stops in flight, or never reaches the model when cancelled while waiting; not a failure', async () => {
    // Far longer than the test's timeout: only a cancellation lets it finish.
    fake.respondWith(() => ({ content: 'slow', delayMs: 60_000 }));
    const failures: LlmError[] = [];
    const llm = new LlmClient(llmConfig({ max_concurrent: 1 }), { onFailure: (e) => failures.push(e) });
    const controller = new AbortController();
    const inFlight = llm.complete({ ...request, signal: controller.signal });
    const waiting = llm.complete({ ...request, signal: controller.signal });
    await fake.waitForRequests(1);
    controller.abort();
    const stoppedInFlight = await inFlight.catch((e: LlmError) => e);
    const stoppedWaiting = await waiting.catch((e: LlmError) => e);
    expect(stoppedInFlight).toMatchObject({ kind: 'cancelled', model: 'default-model' });
    expect(stoppedWaiting).toMatchObject({ kind: 'cancelled' });
    // The request that reached the model still cost its prompt (estimated); the one that never left cost nothing.
    expect(stoppedInFlight.usage).toEqual({ promptTokens: expect.any(Number), completionTokens: 0, totalTokens: stoppedInFlight.usage!.promptTokens });
    expect(stoppedInFlight.usage!.promptTokens).toBeGreaterThan(0);
    expect(stoppedWaiting.usage).toBeNull();
    expect(fake.requests).toHaveLength(1);
    expect(failures).toEqual([]);
    expect(llm.stats().failures).toBe(0);
  });

  test('onSending is told once, as the first attempt leaves (before the model sees it), not again for a retry; streamed too', async () => {
    for (const stream of [false, true]) {
      fake.reset();
      fake.enqueue({ status: 500 });
      const told: number[] = [];
      const res = await client({ stream }).complete({ ...request, onSending: () => told.push(fake.requests.length) });
      expect(res.attempts).toBe(2);
      expect(told).toEqual([0]);
    }
  });

  test('per-request model and temperature override the defaults', async () => {
    await client().complete({ ...request, model: 'persona-model', temperature: 0.1 });
    expect(fake.requests[0]).toMatchObject({ model: 'persona-model', temperature: 0.1 });
  });

  test('streaming assembles the text and reports usage', async () => {
    fake.respondWith({ content: 'Hello **Bob**, nice to meet you.', usage: { prompt_tokens: 20, completion_tokens: 9 } });
    const usages: TokenUsage[] = [];
    const llm = client({ stream: true }, (u) => usages.push(u));
    const res = await llm.complete(request);
    expect(res.text).toBe('Hello **Bob**, nice to meet you.');
    expect(res.usage).toEqual({ promptTokens: 20, completionTokens: 9, totalTokens: 29 });
    expect(usages).toEqual([res.usage]);
    expect(fake.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(llm.stats()).toMatchObject({ requests: 1, failures: 0, promptTokens: 20, completionTokens: 9 });
  });

  test.each([
    ['429 then 500', [{ status: 429 }, { status: 500 }]],
    ['a dropped connection then 503', [{ reset: true as const }, { status: 503 }]],
  ])('retries transient failures (%s) and succeeds', async (_name, failures) => {
    fake.enqueue(...failures).respondWith('made it');
    const llm = client();
    const res = await llm.complete(request);
    expect(res).toMatchObject({ text: 'made it', attempts: 3 });
    expect(fake.requests).toHaveLength(3);
    expect(llm.stats().retries).toBe(2);
  });

  test('gives up after max_retries with an "unavailable" error', async () => {
    fake.respondWith({ status: 502 });
    const err = await client({ max_retries: 2 }).complete(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ kind: 'unavailable', status: 502, attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  test('a refused connection (endpoint down) is "unavailable" after the retries', async () => {
    await fake.stop();
    const err = await client({ max_retries: 1 }).complete(request).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', attempts: 2 });
  });

  test('a client error (bad model) is "rejected" and not retried', async () => {
    fake.respondWith({ status: 404, message: 'model "nope" not found' });
    const err = await client().complete(request).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'rejected', status: 404, attempts: 1 });
    expect((err as Error).message).toMatch(/model "nope" not found/);
    expect(fake.requests).toHaveLength(1);
  });

  test('a request hanging past timeout_seconds fails as "timeout", without retrying', async () => {
    fake.respondWith({ hang: true });
    const err = await client({ timeout_seconds: 0.3 }).complete(request).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', attempts: 1 });
    expect(fake.requests).toHaveLength(1);
  });

  test('a stream that stalls after its first chunks also hits the timeout', async () => {
    fake.respondWith({ content: 'a b c d e f', hangAfterChunks: 2 });
    const err = await client({ timeout_seconds: 0.3, stream: true }).complete(request).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
  });

  test('an empty answer is an "empty" failure', async () => {
    fake.respondWith('   ');
    await expect(client().complete(request)).rejects.toMatchObject({ kind: 'empty' });
  });

  test('max_concurrent bounds the requests in flight at the endpoint', async () => {
    let inFlight = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    fake.respondWith(async (req) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((r) => releases.push(r));
      inFlight--;
      return `done ${lastUserText(req)}`;
    });
    const llm = client({ max_concurrent: 2 });
    const all = [1, 2, 3, 4, 5].map((i) => llm.complete({ queueKey: `!r${i}`, messages: [{ role: 'user', content: String(i) }] }));
    // Two arrive before anything is answered; each answer then lets exactly one more in.
    await fake.waitForRequests(2);
    for (let answered = 0; answered < 5; answered++) {
      while (releases.length === 0) await new Promise((r) => setImmediate(r));
      releases.shift()!();
      if (answered + 3 <= 5) await fake.waitForRequests(answered + 3);
    }
    const results = await Promise.all(all);
    expect(results.map((r) => r.text).sort()).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
    expect(peak).toBe(2);
  });
});
