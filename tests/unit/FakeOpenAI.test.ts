import OpenAI from 'openai';
import { FakeOpenAI, lastUserText } from '../fakes/FakeOpenAI.js';

// The fake must be faithful enough that the real `openai` client accepts it: these tests
// talk to it only through that client.
describe('FakeOpenAI', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await FakeOpenAI.start();
    client = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'unused', maxRetries: 0, timeout: 25_000 });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  const messages = [
    { role: 'system' as const, content: 'be brief' },
    { role: 'user' as const, content: 'hello there' },
  ];

  test('answers non-streaming requests from a function of the request, and logs them', async () => {
    fake.respondWith((req) => `you said ${lastUserText(req)} to ${req.model}`);
    const res = await client.chat.completions.create({ model: 'm1', messages, temperature: 0.3 });
    expect(res.choices[0]!.message.content).toBe('you said hello there to m1');
    expect(res.usage?.total_tokens).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ model: 'm1', stream: false, temperature: 0.3, messages });
  });

  test('streams SSE chunks that reassemble to the reply, with usage when asked', async () => {
    fake.respondWith({ content: 'one two three four', usage: { prompt_tokens: 11, completion_tokens: 4 } });
    const stream = await client.chat.completions.create({ model: 'm', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('one two three four');
    expect(chunks).toBeGreaterThan(4);
    expect(usage).toEqual({ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
  });

  test('queued responses come first, in order; errors carry their status', async () => {
    fake.enqueue({ status: 429, retryAfterSeconds: 0 }, { status: 503 }).respondWith('fine');
    await expect(client.chat.completions.create({ model: 'm', messages })).rejects.toMatchObject({ status: 429 });
    await expect(client.chat.completions.create({ model: 'm', messages })).rejects.toMatchObject({ status: 503 });
    await expect(client.chat.completions.create({ model: 'm', messages })).resolves.toMatchObject({
      choices: [{ message: { content: 'fine' } }],
    });
  });

  test('a hanging request runs into the client timeout', async () => {
    fake.respondWith({ hang: true });
    const quick = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'unused', maxRetries: 0, timeout: 200 });
    // (Under jest's VM context the client cannot tell its own abort apart, so the class is
    // APIConnectionError here and APIConnectionTimeoutError in plain Node.)
    await expect(quick.chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    expect(fake.requests).toHaveLength(1); // it was received, then left unanswered
  });

  test('a reset connection is a connection error', async () => {
    fake.respondWith({ reset: true });
    await expect(client.chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  });

  test('stopped means connection refused; started again it answers on the same port', async () => {
    const url = fake.baseUrl;
    await fake.stop();
    await expect(client.chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    await fake.start();
    expect(fake.baseUrl).toBe(url);
    await expect(client.chat.completions.create({ model: 'm', messages })).resolves.toMatchObject({
      choices: [{ message: { content: 'Fake reply to: hello there' } }],
    });
  });

  test('waitForRequests resolves once enough requests arrived', async () => {
    const waiting = fake.waitForRequests(2);
    await client.chat.completions.create({ model: 'm', messages });
    await client.chat.completions.create({ model: 'm', messages });
    await expect(waiting).resolves.toBeUndefined();
  });
});
