import { FakeOpenAI, offeredTools, toolResults } from '../../tests/fakes/FakeOpenAI.js';
import { LlmClient, type LlmClientConfig } from './LlmClient.js';
import { assistantCallTurn, type ToolDefinition } from './toolCalls.js';

// Function calling through the real `openai` client against the fake server, streamed and not.
describe('LlmClient with tools', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => void (fake = await FakeOpenAI.start()));
  afterAll(() => fake.stop());
  beforeEach(() => void fake.reset());

  const config = (over: Partial<LlmClientConfig> = {}): LlmClientConfig => ({
    base_url: fake.baseUrl,
    api_key: '',
    model: 'm',
    temperature: 0.5,
    max_tokens: 256,
    timeout_seconds: 5,
    max_retries: 0,
    max_concurrent: 2,
    stream: false,
    ...over,
  });
  const weather: ToolDefinition = { type: 'function', function: { name: 'weather__get_forecast', description: 'Forecast', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
  const request = { queueKey: '!r', messages: [{ role: 'user' as const, content: 'Bob: weather in Paris?' }], tools: [weather] };

  test.each([false, true])('returns the calls the model asks for (stream: %s), with no text needed', async (stream) => {
    fake.enqueue({ toolCalls: [{ name: 'weather__get_forecast', arguments: { city: 'Paris' }, id: 'c1' }, { name: 'weather__get_forecast', arguments: '{"city":"Rome"}' }] });
    const completion = await new LlmClient(config({ stream })).complete(request);
    expect(offeredTools(fake.requests[0]!)).toEqual(['weather__get_forecast']);
    expect(completion.text).toBe('');
    expect(completion.toolCalls).toEqual([
      { id: 'c1', name: 'weather__get_forecast', arguments: '{"city":"Paris"}' },
      { id: expect.any(String), name: 'weather__get_forecast', arguments: '{"city":"Rome"}' },
    ]);
  });

  test('the loop turns follow the prompt: the calls asked, then one result per call', async () => {
    fake.enqueue('It is sunny.');
    const continuation = [assistantCallTurn('', [{ id: 'c1', name: 'weather__get_forecast', arguments: '{}' }]), { role: 'tool' as const, tool_call_id: 'c1', content: 'sunny' }];
    const completion = await new LlmClient(config()).complete({ ...request, continuation });
    expect(completion.text).toBe('It is sunny.');
    expect(completion.toolCalls).toBeUndefined();
    const sent = fake.requests[0]!.messages;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(sent[1]!.tool_calls?.[0]?.function.name).toBe('weather__get_forecast');
    expect(toolResults(fake.requests[0]!)).toEqual([{ callId: 'c1', text: 'sunny' }]);
  });

  test('a model that refuses tools (llama.cpp without --jinja) answers without them, and is not offered them again', async () => {
    fake.respondWith((req) => (req.body.tools ? { status: 500, message: 'tools param requires --jinja flag' } : 'plain answer'));
    const llm = new LlmClient(config());
    const first = await llm.complete(request);
    expect(first).toMatchObject({ text: 'plain answer', toolsRefused: expect.stringContaining('--jinja') });
    const second = await llm.complete(request);
    expect(second.toolsRefused).toContain('--jinja');
    // Two requests for the first answer (with, then without tools), one for the second.
    expect(fake.requests.map((r) => offeredTools(r).length)).toEqual([1, 0, 0]);
    expect(llm.stats().failures).toBe(0);
  });

  test('an unrelated refusal is not mistaken for one about tools', async () => {
    fake.respondWith({ status: 400, message: 'model not found' });
    await expect(new LlmClient(config()).complete(request)).rejects.toMatchObject({ kind: 'rejected' });
    expect(fake.requests).toHaveLength(1);
  });

  test('tools: false never sends tools', async () => {
    fake.respondWith('fine');
    const completion = await new LlmClient(config({ tools: false })).complete(request);
    expect(completion.text).toBe('fine');
    expect(offeredTools(fake.requests[0]!)).toEqual([]);
  });
});
