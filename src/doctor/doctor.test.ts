import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { validateConfig } from '../config/Config.js';
import { buildRegistration } from '../registration.js';
import type { CheckResult } from '../probes/CheckResult.js';
import { parseDoctorArgs, runChecks, runDoctor } from './doctor.js';

const AS_TOKEN = 'as-token-of-the-registration';

interface World {
  homeserverUp: boolean;
  acceptedToken: string;
  llmUp: boolean;
}

/** The homeserver and LLM endpoint as fetch sees them. */
function fakeServices(world: World): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
    const down = () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    };
    if (url.host === 'hs:8008') {
      if (!world.homeserverUp) down();
      if (url.pathname === '/_matrix/client/versions') return json(200, { versions: ['v1.11'] });
      if (url.pathname === '/_matrix/client/v3/account/whoami') {
        const auth = (init.headers as Record<string, string>).authorization;
        if (auth !== `Bearer ${world.acceptedToken}`) return json(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' });
        return json(200, { user_id: url.searchParams.get('user_id') });
      }
    }
    if (url.host === 'llm:11434') {
      if (!world.llmUp) down();
      if (url.pathname === '/v1/models') return json(200, { object: 'list', data: [{ id: 'llama3.1:latest' }] });
    }
    return json(404, {});
  }) as typeof fetch;
}

function writeFiles(overrides: { config?: Record<string, unknown>; registration?: Record<string, unknown> | null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-'));
  const base = {
    homeserver: { url: 'http://hs:8008', domain: 'localhost' },
    appservice: { port: 9000 },
    admins: ['@admin:localhost'],
    database: { path: join(dir, 'personas.db') },
    personas: { directory: join(dir, 'personas') },
    llm: { base_url: 'http://llm:11434/v1', model: 'llama3.1' },
  };
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, stringify({ ...base, ...overrides.config }));
  const registrationPath = join(dir, 'registration.yaml');
  if (overrides.registration !== null) {
    // Made for the base config, as if generated before the config was edited.
    const reg = { ...buildRegistration(validateConfig(structuredClone(base), {}), 'http://127.0.0.1:9000'), as_token: AS_TOKEN, ...overrides.registration };
    writeFileSync(registrationPath, stringify(reg));
  }
  return { configPath, registrationPath };
}

const statuses = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r.status]));
const healthy = (): World => ({ homeserverUp: true, acceptedToken: AS_TOKEN, llmUp: true });

describe('--check', () => {
  test('everything in order: every check passes', async () => {
    const results = await runChecks(writeFiles(), { fetch: fakeServices(healthy()), env: {} });
    expect(statuses(results)).toEqual({
      config: 'pass',
      'registration file': 'pass',
      'registration tokens': 'pass',
      'registration sender': 'pass',
      'registration namespace': 'pass',
      'registration url': 'pass',
      'registration rate limit': 'pass',
      database: 'pass',
      'seed personas': 'pass',
      homeserver: 'pass',
      'appservice token': 'pass',
      'llm endpoint': 'pass',
    });
  });

  test('a token the homeserver does not know is reported with what to do', async () => {
    const results = await runChecks(writeFiles(), { fetch: fakeServices({ ...healthy(), acceptedToken: 'another' }), env: {} });
    const token = results.find((r) => r.name === 'appservice token')!;
    expect(token.status).toBe('fail');
    expect(token.detail).toBe("the homeserver rejected the registration's as_token (HTTP 401 M_UNKNOWN_TOKEN: Invalid access token passed.)");
    expect(token.hint).toContain('app_service_config_files');
  });

  test('an unreachable LLM is reported as such', async () => {
    const results = await runChecks(writeFiles(), { fetch: fakeServices({ ...healthy(), llmUp: false }), env: {} });
    const llm = results.find((r) => r.name === 'llm endpoint')!;
    expect(llm).toMatchObject({ status: 'fail', detail: 'cannot list models: http://llm:11434/v1/models: connection refused (nothing listening there) [ECONNREFUSED]' });
    expect(llm.hint).toContain('llm.base_url');
  });

  test('an unreachable homeserver fails once; the token is not asked about', async () => {
    const results = await runChecks(writeFiles(), { fetch: fakeServices({ ...healthy(), homeserverUp: false }), env: {} });
    expect(statuses(results).homeserver).toBe('fail');
    expect(results.find((r) => r.name === 'appservice token')).toBeUndefined();
  });

  test('a model the endpoint does not list is a warning', async () => {
    const results = await runChecks(writeFiles({ config: { llm: { base_url: 'http://llm:11434/v1', model: 'mistral' } } }), {
      fetch: fakeServices(healthy()),
      env: {},
    });
    expect(results.find((r) => r.name === 'llm endpoint')).toMatchObject({ status: 'warn', hint: expect.stringContaining('ollama pull mistral') });
  });

  test('an invalid config is one failure naming every key path, and nothing else is tried', async () => {
    const results = await runChecks(writeFiles({ config: { llm: { base_url: 'ftp://x', model: 'm' }, colour: 'blue' } }), {
      fetch: fakeServices(healthy()),
      env: {},
    });
    expect(results).toHaveLength(1);
    expect(results[0]!.status).toBe('fail');
    expect(results[0]!.detail).toMatch(/colour: unknown key.*llm\.base_url: has an invalid format|llm\.base_url: has an invalid format.*colour: unknown key/);
  });

  test('a missing registration file fails and skips the token check', async () => {
    const results = await runChecks(writeFiles({ registration: null }), { fetch: fakeServices(healthy()), env: {} });
    expect(results.find((r) => r.name === 'registration file')).toMatchObject({ status: 'fail', detail: expect.stringContaining('ENOENT') });
    expect(results.find((r) => r.name === 'appservice token')).toBeUndefined();
  });

  test('prints the list and exits 0 when nothing failed, 1 when something did', async () => {
    const files = writeFiles();
    let out = '';
    const ok = await runDoctor(['--check', '-c', files.configPath, '-f', files.registrationPath], (t) => (out += t), { fetch: fakeServices(healthy()), env: {} });
    expect(ok).toBe(0);
    expect(out).toMatch(/^ {2}PASS {2}appservice token +accepted; acting as @personas:localhost$/m);
    expect(out).toMatch(/^OK: 12 checks passed\.$/m);

    out = '';
    const bad = await runDoctor(['--check', '--config', files.configPath, `--file=${files.registrationPath}`], (t) => (out += t), {
      fetch: fakeServices({ ...healthy(), llmUp: false }),
      env: {},
    });
    expect(bad).toBe(1);
    expect(out).toMatch(/^ {2}FAIL {2}llm endpoint +cannot list models: .*connection refused/m);
    expect(out).toMatch(/^ +-> start the LLM server or fix llm\.base_url/m);
    expect(out).toMatch(/^FAILED: 1 of 12 checks failed\.$/m);
  });

  test('without -c it prints the usage and exits 2', async () => {
    let out = '';
    expect(await runDoctor(['--check'], (t) => (out += t))).toBe(2);
    expect(out).toContain('usage: node dist/main.js --check -c CONFIG');
  });

  test('argument spellings', () => {
    expect(parseDoctorArgs(['--check', '-c', 'a.yaml'])).toEqual({ configPath: 'a.yaml', registrationPath: 'registration/personas-registration.yaml' });
    expect(parseDoctorArgs(['--config=a.yaml', '-f', 'r.yaml', '--check'])).toEqual({ configPath: 'a.yaml', registrationPath: 'r.yaml' });
    expect(parseDoctorArgs(['-c'])).toEqual({ error: '-c needs a file name' });
  });
});
