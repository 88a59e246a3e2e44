import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/config/Config.js';
import { patchRegistrationUrl, renderLocalConfig, type LocalStackSettings } from './localConfig.js';

const sample = readFileSync(new URL('../../config.sample.yaml', import.meta.url), 'utf8');
const settings: LocalStackSettings = {
  homeserverUrl: 'http://127.0.0.1:8008',
  domain: 'localhost',
  appservicePort: 9000,
  adminUserId: '@admin:localhost',
  databasePath: '/repo/.local/personas.db',
  personasDirectory: '/repo/personas',
};

describe('local stack config', () => {
  test('a first run starts from the sample: valid, commented, pointing at the local stack', () => {
    const text = renderLocalConfig(null, sample, settings);
    const config = parseConfigText(text, 'config.yaml', {});
    expect(config.homeserver).toEqual({ url: 'http://127.0.0.1:8008', domain: 'localhost' });
    expect(config.appservice).toMatchObject({ bind: '127.0.0.1', port: 9000 });
    expect(config.admins).toEqual(['@admin:localhost']);
    expect(config.database.path).toBe('/repo/.local/personas.db');
    expect(config.personas.directory).toBe('/repo/personas');
    // The sample's own LLM default (local Ollama) stays unless overridden.
    expect(config.llm.base_url).toBe('http://127.0.0.1:11434/v1');
    expect(text).toContain('# Any OpenAI-compatible endpoint');
  });

  test('overrides of the LLM apply', () => {
    const text = renderLocalConfig(null, sample, { ...settings, llmBaseUrl: 'http://127.0.0.1:5555/v1', llmModel: 'fake-model' });
    expect(parse(text).llm).toMatchObject({ base_url: 'http://127.0.0.1:5555/v1', model: 'fake-model' });
  });

  test("the demo model's notice is set with it and goes with it", () => {
    const demo = renderLocalConfig(null, sample, { ...settings, llmBaseUrl: 'http://127.0.0.1:8080/v1', llmModel: 'personas-tiny-demo', llmNotice: 'I run on a demo model.' });
    expect(parseConfigText(demo, 'config.yaml', {}).llm.notice).toBe('I run on a demo model.');
    const real = renderLocalConfig(demo, sample, { ...settings, llmBaseUrl: 'http://127.0.0.1:8080/v1', llmModel: 'qwen', llmNotice: '' });
    expect(parseConfigText(real, 'config.yaml', {}).llm.notice).toBeUndefined();
    // Not given: an admin's own notice stays.
    expect(parse(renderLocalConfig(demo, sample, settings)).llm.notice).toBe('I run on a demo model.');
  });

  test("a later run keeps the admin's edits and sets only what the script controls", () => {
    const first = renderLocalConfig(null, sample, settings);
    const edited = first
      .replace('model: llama3.1', 'model: qwen2.5')
      .replace('persona_prefix: persona_', 'persona_prefix: p_')
      .replace('  - "@admin:localhost"', '  - "@admin:localhost"\n  - "@bob:localhost"')
      .replace(/path: .*personas\.db/, 'path: /elsewhere/p.db');
    const second = parse(renderLocalConfig(edited, sample, { ...settings, homeserverUrl: 'http://127.0.0.1:18008', appservicePort: 19000 }));
    expect(second.llm.model).toBe('qwen2.5');
    expect(second.appservice).toMatchObject({ persona_prefix: 'p_', port: 19000 });
    expect(second.homeserver.url).toBe('http://127.0.0.1:18008');
    expect(second.admins).toEqual(['@admin:localhost', '@bob:localhost']);
    expect(second.database.path).toBe('/elsewhere/p.db');
  });

  test('the admin is added to an existing list that lacks it', () => {
    const text = renderLocalConfig('homeserver: {url: x, domain: y}\nadmins: ["@carol:localhost"]\nllm: {base_url: "http://l/v1", model: m}\n', sample, settings);
    expect(parse(text).admins).toEqual(['@carol:localhost', '@admin:localhost']);
  });

  test('a log level that would hide the ready line is raised to info; debug stays', () => {
    const quiet = renderLocalConfig(null, sample, settings).replace('level: info', 'level: warn');
    expect(parse(renderLocalConfig(quiet, sample, settings)).logging.level).toBe('info');
    const verbose = quiet.replace('level: warn', 'level: debug');
    expect(parse(renderLocalConfig(verbose, sample, settings)).logging.level).toBe('debug');
  });

  test('broken YAML is an error, not an overwrite', () => {
    expect(() => renderLocalConfig('homeserver: [unclosed', sample, settings)).toThrow('cannot parse the existing config');
  });
});

describe('registration url', () => {
  const reg = 'id: x\nurl: http://127.0.0.1:9000\nas_token: aaa\nhs_token: hhh\nreceive_ephemeral: true\norg.matrix.msc3202: true\n';

  test('a different port is patched, tokens kept', () => {
    const patched = patchRegistrationUrl(reg, 'http://127.0.0.1:19000');
    expect(parse(patched!)).toEqual({ id: 'x', url: 'http://127.0.0.1:19000', as_token: 'aaa', hs_token: 'hhh', receive_ephemeral: true, 'org.matrix.msc3202': true });
  });

  test('the same url is left alone', () => {
    expect(patchRegistrationUrl(reg, 'http://127.0.0.1:9000')).toBeNull();
  });

  test('a registration from before encryption gets the keys it needs', () => {
    const old = 'id: x\nurl: http://127.0.0.1:9000\nas_token: aaa\nhs_token: hhh\n';
    expect(parse(patchRegistrationUrl(old, 'http://127.0.0.1:9000')!)).toMatchObject({ receive_ephemeral: true, 'org.matrix.msc3202': true });
  });
});

describe('encryption in the local stack', () => {
  test('a first run turns it on, with the store beside the database; an existing config keeps its choice', () => {
    const first = parse(renderLocalConfig(null, sample, settings));
    expect(first.encryption).toEqual({ enabled: true, store_path: '/repo/.local/crypto' });
    const off = renderLocalConfig(null, sample, settings).replace('enabled: true\n  # Keys', 'enabled: false\n  # Keys');
    expect(parse(renderLocalConfig(off, sample, settings)).encryption.enabled).toBe(false);
  });
});
