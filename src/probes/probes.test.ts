import { fetchJson, ProbeError } from './fetchJson.js';
import { homeserverVersions, whoamiAsAppservice } from './homeserver.js';
import { homeserverHealthCheck } from './homeserverHealth.js';
import { listModels, modelIsListed } from './llm.js';

type Route = (url: URL, init: RequestInit) => Response | Promise<Response>;

/** A fetch that answers from a function and records what was asked. */
function fakeFetch(route: Route): typeof fetch & { calls: { url: string; headers: Record<string, string> }[] } {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const fn = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input));
    calls.push({ url: url.toString(), headers: (init.headers ?? {}) as Record<string, string> });
    return route(url, init);
  }) as typeof fetch & { calls: typeof calls };
  fn.calls = calls;
  return fn;
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** What undici throws when nothing listens on the port. */
function refused(): never {
  throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
}

describe('fetchJson', () => {
  test('names the network failure instead of "fetch failed"', async () => {
    await expect(fetchJson('http://127.0.0.1:9/x', { timeoutMs: 100, fetch: fakeFetch(refused) })).rejects.toThrow(
      'http://127.0.0.1:9/x: connection refused (nothing listening there) [ECONNREFUSED]',
    );
  });

  test('a timeout says how long it waited', async () => {
    const hang = fakeFetch((_url, init) => new Promise<Response>((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason))));
    await expect(fetchJson('http://hs/x', { timeoutMs: 20, fetch: hang })).rejects.toThrow('no answer within 20 ms');
  });

  test('a body that is not JSON is reported with its start', async () => {
    const html = fakeFetch(() => new Response('<html>proxy error</html>', { status: 502 }));
    await expect(fetchJson('http://hs/x', { timeoutMs: 100, fetch: html })).rejects.toThrow('HTTP 502 with a body that is not JSON: "<html>proxy error</html>"');
  });
});

describe('homeserver probes', () => {
  test('versions come from /_matrix/client/versions', async () => {
    const f = fakeFetch(() => json(200, { versions: ['r0.6.1', 'v1.11'] }));
    expect(await homeserverVersions('http://hs:8008/', { timeoutMs: 100, fetch: f })).toEqual(['r0.6.1', 'v1.11']);
    expect(f.calls[0]!.url).toBe('http://hs:8008/_matrix/client/versions');
  });

  test('something that is not a homeserver is refused', async () => {
    const f = fakeFetch(() => json(404, { detail: 'not found' }));
    await expect(homeserverVersions('http://hs', { timeoutMs: 100, fetch: f })).rejects.toThrow('HTTP 404, not a Matrix client API answer');
  });

  test('whoami sends the as_token and the bot as user_id; a refusal carries status and errcode', async () => {
    const f = fakeFetch((url, init) => {
      const auth = (init.headers as Record<string, string>).authorization;
      if (auth !== 'Bearer good') return json(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' });
      return json(200, { user_id: url.searchParams.get('user_id') });
    });
    expect(await whoamiAsAppservice('http://hs', 'good', '@bot:hs', { timeoutMs: 100, fetch: f })).toBe('@bot:hs');
    const err = await whoamiAsAppservice('http://hs', 'bad', '@bot:hs', { timeoutMs: 100, fetch: f }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeError);
    expect(err).toMatchObject({ status: 401, code: 'M_UNKNOWN_TOKEN', message: 'HTTP 401 M_UNKNOWN_TOKEN: Invalid access token passed.' });
  });

  test('the health check caches the answer and reports failures', async () => {
    let up = true;
    const f = fakeFetch(() => (up ? json(200, { versions: ['v1.11'] }) : refused()));
    const health = homeserverHealthCheck('http://hs', { fetch: f, cacheMs: 60_000 });
    expect(health.name).toBe('homeserver');
    const healthy = { name: 'homeserver', status: 'pass', detail: 'http://hs answers (spec v1.11)' };
    expect(await health.check()).toEqual(healthy);
    up = false;
    expect(await health.check()).toEqual(healthy); // cached
    expect(f.calls).toHaveLength(1);
    const fresh = homeserverHealthCheck('http://hs', { fetch: f, cacheMs: 60_000 });
    expect(await fresh.check()).toMatchObject({ status: 'fail', detail: expect.stringContaining('connection refused'), hint: expect.stringMatching(/^check homeserver\.url/) });
  });
});

describe('LLM probe', () => {
  test('lists model ids with the API key as bearer', async () => {
    const f = fakeFetch(() => json(200, { object: 'list', data: [{ id: 'gpt-4o-mini' }, { id: 'llama3.1:latest' }] }));
    expect(await listModels('https://api.example/v1/', 'sk-1', { timeoutMs: 100, fetch: f })).toEqual(['gpt-4o-mini', 'llama3.1:latest']);
    expect(f.calls[0]).toEqual({ url: 'https://api.example/v1/models', headers: { accept: 'application/json', authorization: 'Bearer sk-1' } });
  });

  test('no key, no authorization header (local servers)', async () => {
    const f = fakeFetch(() => json(200, { data: [] }));
    await listModels('http://127.0.0.1:11434/v1', '', { timeoutMs: 100, fetch: f });
    expect(f.calls[0]!.headers.authorization).toBeUndefined();
  });

  test('a refused key is an error with the status and the server message', async () => {
    const f = fakeFetch(() => json(401, { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } }));
    await expect(listModels('https://api.example/v1', 'sk-x', { timeoutMs: 100, fetch: f })).rejects.toMatchObject({
      status: 401,
      message: 'https://api.example/v1/models: HTTP 401 invalid_api_key: Incorrect API key provided',
    });
  });

  test("Ollama's :latest tags match the bare model name", () => {
    expect(modelIsListed('llama3.1', ['llama3.1:latest'])).toBe(true);
    expect(modelIsListed('llama3.1:latest', ['llama3.1:latest'])).toBe(true);
    expect(modelIsListed('llama3.1', ['llama3.1:70b'])).toBe(false);
    expect(modelIsListed('gpt-4o', ['gpt-4o-mini'])).toBe(false);
  });
});
