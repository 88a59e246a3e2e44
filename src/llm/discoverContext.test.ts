import { discoverContextTokens, llamaCppContext, modelListContext, ollamaContext, OLLAMA_DEFAULT_NUM_CTX } from './discoverContext.js';

describe('context window discovery', () => {
  test("llama.cpp's /props: the per-slot n_ctx", () => {
    expect(llamaCppContext({ default_generation_settings: { n_ctx: 2048 }, total_slots: 4 })).toBe(2048);
    expect(llamaCppContext({ error: 'nope' })).toBeNull();
  });

  test("Ollama's /api/show: num_ctx, else Ollama's default, never above the trained length", () => {
    expect(ollamaContext({ parameters: 'stop "<|im_end|>"\nnum_ctx                        8192', model_info: { 'llama.context_length': 131072 } })).toBe(8192);
    expect(ollamaContext({ parameters: 'temperature 0.7', model_info: { 'qwen2.context_length': 32768 } })).toBe(OLLAMA_DEFAULT_NUM_CTX);
    expect(ollamaContext({ model_info: { 'phi.context_length': 2048 } })).toBe(2048);
    expect(ollamaContext({ error: 'model not found' })).toBeNull();
  });

  test('the model list: vLLM max_model_len, llama.cpp meta.n_ctx, context_length', () => {
    expect(modelListContext({ data: [{ id: 'a', max_model_len: 4096 }, { id: 'b', max_model_len: 8192 }] }, 'b')).toBe(8192);
    expect(modelListContext({ data: [{ id: 'tiny', meta: { n_ctx: 512 } }] }, 'anything')).toBe(512);
    expect(modelListContext({ data: [{ id: 'x', context_length: 16384 }] }, 'x')).toBe(16384);
    expect(modelListContext({ data: [{ id: 'gpt' }] }, 'gpt')).toBeNull();
  });

  test('over HTTP: tries each in turn, null when nobody says, never throws', async () => {
    const seen: string[] = [];
    const fakeFetch = (answers: Record<string, unknown>): typeof fetch =>
      (async (input: string | URL | Request) => {
        const url = String(input);
        seen.push(url.replace('http://h', ''));
        const body = answers[url.replace('http://h', '')];
        if (body === 'throw') throw new Error('ECONNREFUSED');
        return new Response(body === undefined ? '{"error":"not found"}' : JSON.stringify(body), { status: body === undefined ? 404 : 200 });
      }) as typeof fetch;
    expect(await discoverContextTokens('http://h/v1', '', 'm', { fetch: fakeFetch({ '/api/show': { parameters: 'num_ctx 3000' } }) })).toBe(3000);
    expect(seen).toEqual(['/props', '/api/show']);
    expect(await discoverContextTokens('http://h/v1/', 'k', 'm', { fetch: fakeFetch({ '/props': 'throw' }) })).toBeNull();
  });
});
