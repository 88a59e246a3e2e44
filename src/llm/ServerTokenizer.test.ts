import { ServerTokenizer } from './ServerTokenizer.js';

const messages = [
  { role: 'system' as const, content: 'You are Ada.' },
  { role: 'user' as const, content: 'hello there' },
];

/** A fake server: which routes it answers, and every request it got. */
function server(routes: Record<string, (body: Record<string, unknown>) => unknown>) {
  const asked: string[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const path = new URL(url).pathname;
    asked.push(path);
    const route = routes[path];
    if (!route) return new Response('{"error":"not found"}', { status: 404 });
    return new Response(JSON.stringify(route(JSON.parse(String(init.body)) as Record<string, unknown>)), { status: 200 });
  }) as typeof fetch;
  return { asked, fetchImpl };
}

describe('ServerTokenizer', () => {
  test("llama.cpp: the model's chat template applied, then tokenized with its special tokens; cached per prompt", async () => {
    const s = server({
      '/apply-template': (b) => ({ prompt: (b.messages as { content: string }[]).map((m) => `<|${m.content}|>`).join('') }),
      '/tokenize': (b) => ({ tokens: String(b.content).split(/\s|\|/).filter(Boolean).map((_, i) => i).concat(b.add_special ? [0] : []) }),
    });
    const tokenizer = new ServerTokenizer('http://llama:8080/v1', '', { fetch: s.fetchImpl });
    const counted = await tokenizer.count('tiny', messages);
    expect(counted).toBeGreaterThan(0);
    expect(tokenizer.offered).toBe('llama.cpp');
    expect(await tokenizer.count('tiny', messages)).toBe(counted);
    // The probe was the first count: no request was made twice for the same prompt.
    expect(s.asked).toEqual(['/apply-template', '/tokenize']);
  });

  test("vLLM: /tokenize with the chat messages gives the count", async () => {
    const s = server({ '/tokenize': (b) => (b.messages ? { count: 42, max_model_len: 4096, tokens: [] } : { tokens: [] }) });
    const tokenizer = new ServerTokenizer('http://vllm:8000/v1', 'key', { fetch: s.fetchImpl });
    expect(await tokenizer.count('m', messages)).toBe(42);
    expect(tokenizer.offered).toBe('vllm');
  });

  test('a server without a tokenizer (a hosted API): null, asked once, and again only after a while', async () => {
    const s = server({});
    let now = 0;
    const tokenizer = new ServerTokenizer('https://api.example/v1', 'key', { fetch: s.fetchImpl, now: () => now, reprobeAfterMs: 1000 });
    expect(await tokenizer.count('m', messages)).toBeNull();
    expect(await tokenizer.count('m', [{ role: 'user', content: 'other' }])).toBeNull();
    expect(tokenizer.offered).toBe('none');
    expect(s.asked).toEqual(['/apply-template', '/tokenize']);
    now = 2000;
    await tokenizer.count('m', messages);
    expect(s.asked).toHaveLength(4);
  });
});
