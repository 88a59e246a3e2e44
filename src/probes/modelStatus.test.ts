import type { BackendConfig } from '../llm/backends.js';
import { ModelStatus } from './modelStatus.js';

const backend = (name: string, base_url: string): BackendConfig => ({
  name,
  base_url,
  api_key: '',
  model: 'm',
  context: null,
  max_concurrent: 1,
  timeout_seconds: 10,
  temperature: 0.8,
  max_tokens: 100,
  max_retries: 0,
  stream: true,
  tools: true,
  notice: null,
  vision: false,
});

describe('ModelStatus', () => {
  test('a listed model answers; an unlisted one and an endpoint that refuses say why; the list is asked once per ttl', async () => {
    const asked: string[] = [];
    const fakeFetch = (async (url: string) => {
      asked.push(url);
      if (url.startsWith('http://down')) return new Response(JSON.stringify({ error: { message: 'invalid api key' } }), { status: 401 });
      return new Response(JSON.stringify({ data: [{ id: 'llama3.1:latest' }, { id: 'qwen' }] }), { status: 200 });
    }) as typeof fetch;
    const status = new ModelStatus([backend('default', 'http://up/v1'), backend('cloud', 'http://down/v1')], 60_000, fakeFetch);
    expect(await status.problem('default', 'llama3.1')).toBeNull();
    expect(await status.problem('default', 'mistral')).toBe('the server does not list mistral (it lists llama3.1:latest, qwen)');
    expect(await status.problem('cloud', 'gpt')).toBe('http://down/v1/models: HTTP 401: invalid api key');
    expect(await status.problem('nowhere', 'x')).toBe('no backend named nowhere');
    expect(asked).toEqual(['http://up/v1/models', 'http://down/v1/models']);
  });
});
