import { validateConfig, type BridgeConfig } from '../config/Config.js';
import { ConfigErrors } from '../config/ConfigError.js';
import { checkLlmBackends } from '../doctor/serviceChecks.js';
import { FakeOpenAI } from '../../tests/fakes/FakeOpenAI.js';
import { resolveBackends, routeModel } from './backends.js';
import { LlmError } from './LlmClient.js';
import { LlmRouter } from './LlmRouter.js';

const base = { homeserver: { url: 'http://hs', domain: 'hs' }, admins: [] };
const config = (llm: Record<string, unknown>): BridgeConfig => validateConfig({ ...base, llm }, {});
const errorsOf = (llm: Record<string, unknown>): string[] => {
  try {
    config(llm);
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  return [];
};

describe('llm backends', () => {
  test('the plain llm.base_url form is one backend named "default"', () => {
    const [only, ...rest] = resolveBackends(config({ base_url: 'http://a/v1', model: 'm', context: 2048 }).llm);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ name: 'default', base_url: 'http://a/v1', model: 'm', context: 2048, max_concurrent: 4, timeout_seconds: 120, max_tokens: 1024 });
  });

  test('named backends inherit context, concurrency and timeout unless they set their own; default_backend goes first', () => {
    const backends = resolveBackends(
      config({
        context: 4096,
        timeout_seconds: 60,
        default_backend: 'cloud',
        backends: {
          local: { base_url: 'http://127.0.0.1:8080/v1', model: 'tiny', context: 512, concurrency: 1 },
          cloud: { base_url: 'https://api.example/v1', api_key: 'sk-1', model: 'big', timeout: 30 },
        },
      }).llm,
    );
    expect(backends.map((b) => [b.name, b.model, b.context, b.max_concurrent, b.timeout_seconds, b.api_key])).toEqual([
      ['cloud', 'big', 4096, 4, 30, 'sk-1'],
      ['local', 'tiny', 512, 1, 60, ''],
    ]);
  });

  test('both forms together: llm.base_url is "default", beside the named ones', () => {
    const names = resolveBackends(config({ base_url: 'http://a/v1', model: 'm', backends: { b: { base_url: 'http://b/v1', model: 'n' } } }).llm).map((b) => b.name);
    expect(names).toEqual(['default', 'b']);
  });

  test('config errors name the key', () => {
    expect(errorsOf({})).toEqual([expect.stringContaining("'llm.base_url': is required but missing")]);
    expect(errorsOf({ base_url: 'http://a/v1' })).toEqual(["Config error at 'llm.model': is required but missing"]);
    expect(errorsOf({ backends: { x: { base_url: 'http://x/v1' } } })).toEqual([expect.stringContaining("'llm.backends.x.model'")]);
    expect(errorsOf({ backends: { x: { base_url: 'http://x/v1', model: 'm' } }, default_backend: 'y' })).toEqual([
      'Config error at \'llm.default_backend\': no backend named "y" (known: x)',
    ]);
    expect(errorsOf({ base_url: 'http://a/v1', model: 'm', backends: { default: { base_url: 'http://x/v1', model: 'm' } } })).toEqual([
      expect.stringContaining("'llm.backends.default'"),
    ]);
  });

  test('a persona model routes by backend name; other slashes are model ids on the default backend', () => {
    const backends = resolveBackends(config({ base_url: 'http://a/v1', model: 'm', backends: { local: { base_url: 'http://l/v1', model: 'tiny' } } }).llm);
    expect(routeModel(null, backends)).toEqual({ backend: 'default', model: 'm' });
    expect(routeModel('local', backends)).toEqual({ backend: 'local', model: 'tiny' });
    expect(routeModel('local/other', backends)).toEqual({ backend: 'local', model: 'other' });
    expect(routeModel('meta-llama/Llama-3-8B', backends)).toEqual({ backend: 'default', model: 'meta-llama/Llama-3-8B' });
    expect(routeModel('gpt-4o', backends)).toEqual({ backend: 'default', model: 'gpt-4o' });
  });
});

describe('LlmRouter and --check against real HTTP backends', () => {
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  beforeAll(async () => {
    a = (await FakeOpenAI.start()).respondWith('from a');
    b = (await FakeOpenAI.start()).respondWith('from b');
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });

  const twoBackends = () =>
    config({ stream: false, max_retries: 0, backends: { a: { base_url: a.baseUrl, model: 'fake-model', context: 4096 }, b: { base_url: b.baseUrl, model: 'fake-model', context: 4096 } } });

  test('each request goes to its backend with its model, and says where it came from', async () => {
    const router = new LlmRouter(resolveBackends(twoBackends().llm));
    const messages = [{ role: 'user' as const, content: 'hi' }];
    expect(await router.complete({ queueKey: 'r', messages })).toMatchObject({ text: 'from a', backend: 'a', model: 'fake-model' });
    expect(await router.complete({ queueKey: 'r', messages, model: 'b/special' })).toMatchObject({ text: 'from b', backend: 'b', model: 'special' });
    expect(b.requests.at(-1)!.model).toBe('special');
    expect(router.stats().requests).toBe(2);
  });

  test('a failure names the backend and the model', async () => {
    b.enqueue({ status: 404, message: 'model "nope" not found' });
    const router = new LlmRouter(resolveBackends(twoBackends().llm));
    const err = (await router.complete({ queueKey: 'r', messages: [{ role: 'user', content: 'hi' }], model: 'b/nope' }).catch((e: unknown) => e)) as LlmError;
    expect(err).toBeInstanceOf(LlmError);
    expect({ kind: err.kind, status: err.status, backend: err.backend, model: err.model }).toEqual({ kind: 'rejected', status: 404, backend: 'b', model: 'nope' });
  });

  test('--check probes every backend: a refused key names its key path, an unlisted model its model key', async () => {
    const cfg = config({
      base_url: a.baseUrl,
      model: 'fake-model',
      backends: { wrongkey: { base_url: b.baseUrl, api_key: 'sk-bad', model: 'fake-model' }, missing: { base_url: a.baseUrl, model: 'llama3' } },
    });
    // The key check happens in front of b, as a hosted API would: 401 for any key but the right one.
    const guarded: typeof fetch = async (input, init) => {
      const auth = new Headers(init?.headers).get('authorization');
      if (String(input).startsWith(b.baseUrl) && auth === 'Bearer sk-bad') {
        return new Response(JSON.stringify({ error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } }), { status: 401 });
      }
      return fetch(input, init);
    };
    const results = await checkLlmBackends(cfg, { timeoutMs: 2000, fetch: guarded });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['llm endpoint', 'pass'],
      ['llm backend "wrongkey"', 'fail'],
      ['llm backend "missing"', 'warn'],
    ]);
    expect(results[1]!.detail).toMatch(/HTTP 401 invalid_api_key: Incorrect API key provided/);
    expect(results[1]!.hint).toBe('the endpoint refused the API key (HTTP 401): set llm.backends.wrongkey.api_key');
    expect(results[2]!.detail).toMatch(/llm\.backends\.missing\.model "llama3" is not among its models \(fake-model\)/);
  });
});
