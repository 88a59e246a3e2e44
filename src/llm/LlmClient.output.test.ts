import { FakeOpenAI, lastUserText } from '../../tests/fakes/FakeOpenAI.js';
import type { ContextBudget } from './contextBudget.js';
import { LlmClient, LlmError, type ChatTurn, type LlmClientConfig } from './LlmClient.js';

// Context windows and bad model output, against a local fake OpenAI-compatible server
// speaking the error shapes real servers use.
describe('LlmClient: context windows and bad output', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => void (fake = await FakeOpenAI.start()));
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  const config = (over: Partial<LlmClientConfig> = {}): LlmClientConfig => ({
    base_url: fake.baseUrl,
    api_key: '',
    model: 'm',
    temperature: 0.8,
    max_tokens: 1024,
    timeout_seconds: 5,
    max_retries: 0,
    max_concurrent: 4,
    stream: false,
    ...over,
  });
  const client = (over: Partial<LlmClientConfig> = {}, context: number | null = 512, maxAnswerChars?: number) => {
    const exceeded: string[] = [];
    // No server tokenizer: the estimate alone (the fake has none; one test below brings its own).
    const llm = new LlmClient(config(over), { discoverContext: async () => context, onContextExceeded: (m) => exceeded.push(m), promptCap: 4096, tokenizer: null, ...(maxAnswerChars ? { maxAnswerChars } : {}) });
    return { llm, exceeded };
  };
  /** A prompt fitter that records the budgets it was given. */
  const fitter = (budgets: ContextBudget[]) => (budget: ContextBudget) => {
    budgets.push(budget);
    const messages: ChatTurn[] = [{ role: 'user', content: `budget ${budget.promptTokens}` }];
    return { messages, estimatedTokens: budget.promptTokens };
  };
  const llamaCppExceeded = (nPrompt: number, nCtx: number) => ({
    rawStatus: 400,
    raw: { error: { code: 400, message: `request (${nPrompt} tokens) exceeds the available context size (${nCtx} tokens), try increasing it`, type: 'exceed_context_size_error', n_prompt_tokens: nPrompt, n_ctx: nCtx } },
  });

  test('max_tokens and the prompt budget come from the discovered window', async () => {
    fake.respondWith('ok');
    const budgets: ContextBudget[] = [];
    await client().llm.complete({ queueKey: 'r', messages: fitter(budgets) });
    expect(budgets).toEqual([{ promptTokens: 358, replyTokens: 128, contextTokens: 512 }]);
    expect(fake.requests[0]!.max_tokens).toBe(128);
  });

  test("llama.cpp's exceed_context_size_error: rebuilt smaller from its counts, retried once, counted", async () => {
    fake.enqueue(llamaCppExceeded(700, 512));
    fake.respondWith((req) => `answered ${lastUserText(req)}`);
    const budgets: ContextBudget[] = [];
    const { llm, exceeded } = client();
    const res = await llm.complete({ queueKey: 'r', messages: fitter(budgets) });
    expect(budgets).toHaveLength(2);
    // The estimate (358) undercounted 700 real tokens: the next prompt is fitted to ~46% of it.
    expect(budgets[1]!.promptTokens).toBe(Math.floor(358 * (0.9 / (700 / 358))));
    expect(res.text).toBe(`answered budget ${budgets[1]!.promptTokens}`);
    expect(llm.stats()).toMatchObject({ contextExceeded: 1, failures: 0 });
    expect(exceeded).toEqual(['m']);
    // Later prompts keep the smaller budget: the room is not stuck failing.
    await llm.complete({ queueKey: 'r', messages: fitter(budgets) });
    expect(budgets[2]!.promptTokens).toBe(budgets[1]!.promptTokens);
  });

  test("OpenAI's context_length_exceeded: one retry only, then a `context` failure", async () => {
    const openAiShape = { rawStatus: 400, raw: { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } } };
    fake.enqueue(openAiShape, openAiShape, 'never reached');
    const { llm } = client({}, null);
    const err = (await llm.complete({ queueKey: 'r', messages: fitter([]) }).catch((e: unknown) => e)) as LlmError;
    expect(err).toBeInstanceOf(LlmError);
    expect(err.kind).toBe('context');
    expect(fake.requests).toHaveLength(2);
    expect(llm.stats()).toMatchObject({ contextExceeded: 2, failures: 1 });
  });

  test('a fixed prompt (not a fitter) that is too long fails as `context` without a retry', async () => {
    fake.enqueue(llamaCppExceeded(900, 512));
    const err = (await client().llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as LlmError;
    expect(err.kind).toBe('context');
    expect(fake.requests).toHaveLength(1);
  });

  test.each([
    ['a 200 with an error body', { raw: { error: { message: 'model crashed', type: 'server_error' } } }, /HTTP 200 with an error: model crashed/],
    ['a 200 without choices', { raw: { id: 'x', object: 'chat.completion' } }, /without choices/],
    ['a 200 whose body is not JSON', { raw: '{"choices": [', contentType: 'application/json' }, /unreadable|JSON/i],
  ])('%s is `malformed`, not retried, not thrown as anything else', async (_name, response, message) => {
    fake.enqueue(response);
    const { llm } = client({ max_retries: 2 });
    const err = (await llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as LlmError;
    expect(err).toBeInstanceOf(LlmError);
    expect({ kind: err.kind, message: err.message }).toEqual({ kind: 'malformed', message: expect.stringMatching(message) });
    expect(fake.requests).toHaveLength(1);
  });

  test('an error object inside a 200 stream is `malformed`', async () => {
    fake.enqueue({ raw: 'data: {"error":{"message":"slot unavailable","type":"server_error"}}\n\n', contentType: 'text/event-stream' });
    const err = (await client({ stream: true }).llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as LlmError;
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(/slot unavailable/);
  });

  const midStreamOverflow = { code: 500, message: 'Context size has been exceeded.', type: 'server_error' };

  test("llama.cpp's context filling up mid-answer: what was written is the answer, marked cut; later prompts are smaller", async () => {
    fake.enqueue({ content: 'One two three four five six seven eight.', errorAfterChunks: { chunks: 3, error: midStreamOverflow } });
    fake.respondWith('fine');
    const budgets: ContextBudget[] = [];
    const { llm, exceeded } = client({ stream: true });
    const shown: string[] = [];
    const res = await llm.complete({ queueKey: 'r', messages: fitter(budgets), onText: (t) => shown.push(t) });
    expect(res.cut).toBe('context');
    expect(res.text.length).toBeGreaterThan(0);
    expect('One two three four five six seven eight.'.startsWith(res.text)).toBe(true);
    expect(res.text).toBe(shown.at(-1));
    expect(fake.requests).toHaveLength(1);
    expect(llm.stats()).toMatchObject({ contextExceeded: 1, failures: 0 });
    expect(exceeded).toEqual(['m']);
    await llm.complete({ queueKey: 'r', messages: fitter(budgets) });
    expect(budgets[1]!.promptTokens).toBeLessThan(budgets[0]!.promptTokens);
  });

  test('an answer stopped for length well short of max_tokens (the context full, llama.cpp without context shift) is marked cut', async () => {
    fake.enqueue({ content: 'Half an answer', finishReason: 'length', usage: { prompt_tokens: 480, completion_tokens: 32 } });
    fake.enqueue({ content: 'A whole answer', finishReason: 'length', usage: { prompt_tokens: 100, completion_tokens: 128 } });
    const { llm } = client({ stream: true });
    const cut = await llm.complete({ queueKey: 'r', messages: fitter([]) });
    expect(cut).toMatchObject({ text: 'Half an answer', cut: 'context' });
    // max_tokens (128 of the 512 window) reached: an ordinary long answer, not cut by the context.
    const full = await llm.complete({ queueKey: 'r', messages: fitter([]) });
    expect(full.cut).toBeUndefined();
    expect(llm.stats().contextExceeded).toBe(1);
  });

  test('the context filling up before anything was written: retried once with a smaller prompt', async () => {
    fake.enqueue({ content: 'never shown', errorAfterChunks: { chunks: 0, error: midStreamOverflow } });
    fake.respondWith('the answer');
    const budgets: ContextBudget[] = [];
    const { llm } = client({ stream: true });
    const res = await llm.complete({ queueKey: 'r', messages: fitter(budgets) });
    expect(res).toMatchObject({ text: 'the answer', attempts: 2 });
    expect(res.cut).toBeUndefined();
    expect(budgets[1]!.promptTokens).toBeLessThan(budgets[0]!.promptTokens);
    expect(llm.stats()).toMatchObject({ contextExceeded: 1, failures: 0 });
  });

  test("the server's own token count: a prompt over the budget by it is fitted again, and the answer gets what the window leaves", async () => {
    fake.respondWith('ok');
    const budgets: ContextBudget[] = [];
    const counted: number[] = [];
    // The server counts 1.5x our estimate (its tokenizer and chat template).
    const tokenizer = { count: async (_model: string, messages: ChatTurn[]) => (counted.push(1), Math.ceil(Number(/budget (\d+)/.exec(messages[0]!.content)![1]) * 1.5)) };
    const llm = new LlmClient(config(), { discoverContext: async () => 512, promptCap: 4096, tokenizer });
    await llm.complete({ queueKey: 'r', messages: fitter(budgets) });
    // 358 counted as 537: fitted to 358 * (358 / 537) * 0.95 = 226, counted 339 <= 358.
    expect(budgets.map((b) => b.promptTokens)).toEqual([358, 226]);
    expect(counted).toHaveLength(2);
    // The answer: what 512 leaves after the 339 counted tokens (2 spare), under the 128 cap.
    expect(fake.requests[0]!.max_tokens).toBe(128);
    const tight = new LlmClient(config(), { discoverContext: async () => 512, promptCap: 4096, tokenizer: { count: async () => 400 } });
    await tight.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] });
    expect(fake.requests[1]!.max_tokens).toBe(512 - 400 - 2);
  });

  test("the server's count is of text: images go by their estimate, and their data is not sent to the tokenizer", async () => {
    fake.respondWith('ok');
    const seen: ChatTurn[][] = [];
    const tokenizer = { count: async (_model: string, messages: ChatTurn[]) => (seen.push(messages), 150) };
    const llm = new LlmClient(config(), { discoverContext: async () => 512, promptCap: 4096, tokenizer });
    const image = { url: 'data:image/jpeg;base64,AAAA', tokens: 255, at: 5 };
    await llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'look:', images: [image] }] });
    expect(seen).toEqual([[{ role: 'user', content: 'look:' }]]);
    // 512 - (150 counted + 255 for the image) - 2 spare, under the 128 cap.
    expect(fake.requests[0]!.max_tokens).toBe(512 - 150 - 255 - 2);
  });

  test('empty choices are `empty`', async () => {
    fake.enqueue({ raw: { id: 'x', object: 'chat.completion', choices: [] } });
    const err = (await client().llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as LlmError;
    expect(err.kind).toBe('empty');
  });

  test('a stream that never ends is cut past max_tokens, and what came is the answer', async () => {
    fake.enqueue({ endless: 'blah ' });
    const res = await client({ stream: true, max_tokens: 40 }).llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.text.startsWith('blah blah')).toBe(true);
    // Cut at about twice max_tokens by the (pessimistic) estimate: 'blah ' is ~1.5 estimated tokens.
    expect(res.text.length).toBeLessThan(40 * 2 * 5);
  });

  test('an answer longer than llm.max_answer_chars is cut there and says where (not streamed)', async () => {
    fake.enqueue(`Start ${'x'.repeat(5000)}`, 'Short.');
    const llm = client({}, 512, 200).llm;
    const res = await llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.text).toBe(`Start ${'x'.repeat(194)}`);
    expect(res.cutAt).toBe(200);
    expect(await llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] })).not.toHaveProperty('cutAt');
  });

  test('a stream is cut at llm.max_answer_chars: the cut text is the answer and the last text shown, the rest is not read', async () => {
    fake.enqueue({ endless: 'word ' });
    const shown: string[] = [];
    const res = await client({ stream: true, max_tokens: 100_000 }, null, 300).llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }], onText: (t) => shown.push(t) });
    expect(res.text).toHaveLength(300);
    expect(res.cutAt).toBe(300);
    expect(shown.at(-1)).toBe(res.text);
    expect(shown.every((t) => t.length <= 300)).toBe(true);
  });

  test('the cut never splits a surrogate pair', async () => {
    fake.enqueue('😀'.repeat(100));
    const res = await client({}, 512, 101).llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.text).toBe('😀'.repeat(50));
    expect(res.text.isWellFormed()).toBe(true);
  });

  test('think blocks never reach the caller; an answer that is only reasoning is `empty`', async () => {
    fake.enqueue('<think>The user greets me. I should greet back.</think>Hello!', '<think>still thinking when max_tokens hit');
    const { llm } = client({ stream: true });
    expect((await llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] })).text).toBe('Hello!');
    const err = (await llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as LlmError;
    expect(err.kind).toBe('empty');
  });

  test('reasoning fields of streamed chunks are ignored', async () => {
    const chunk = (delta: Record<string, unknown>) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    fake.enqueue({
      raw: chunk({ reasoning_content: 'secret plan' }) + chunk({ reasoning: 'more plan' }) + chunk({ content: 'Visible.' }) + 'data: [DONE]\n\n',
      contentType: 'text/event-stream',
    });
    expect((await client({ stream: true }).llm.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }] })).text).toBe('Visible.');
  });
});
