import { readFileSync } from 'node:fs';
import { parseConfigText, personaUserRegex, validateConfig, type BridgeConfig } from './Config.js';
import { ConfigErrors } from './ConfigError.js';

const minimal = () => ({
  homeserver: { url: 'http://127.0.0.1:8008/', domain: 'localhost' },
  admins: ['@alice:localhost'],
  llm: { base_url: 'http://127.0.0.1:11434/v1', model: 'llama3.1' },
});

function errorsOf(raw: unknown): string[] {
  try {
    validateConfig(raw, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigErrors);
    return (err as ConfigErrors).errors.map((e) => e.message);
  }
  throw new Error('expected the config to be rejected');
}

describe('config', () => {
  test('config.sample.yaml passes the real validator', () => {
    const config = parseConfigText(readFileSync('config.sample.yaml', 'utf8'), 'config.sample.yaml', {});
    expect(config.homeserver.domain).toBe('localhost');
    expect(config.dispatch.loop_threshold).toBe(5);
    expect(config.dispatch.loop_reset_seconds).toBe(300);
  });

  test('defaults are applied and the URL trailing slash dropped', () => {
    const config = validateConfig(minimal(), {});
    expect(config.appservice).toMatchObject({ bind: '127.0.0.1', port: 9000, bot_localpart: 'personas', persona_prefix: 'persona_' });
    expect(config.database.path).toBe('./data/personas.db');
    expect(config.logging).toEqual({ level: 'info', json: false });
    expect(config.dispatch.user_rate_limit).toEqual({ messages: 20, window_seconds: 60 });
    expect(config.homeserver.url).toBe('http://127.0.0.1:8008');
  });

  test('a wrong type names the key path', () => {
    const raw = minimal() as Record<string, unknown>;
    raw.appservice = { port: 'nine thousand' };
    expect(errorsOf(raw)).toEqual(["Config error at 'appservice.port': must be of type integer"]);
  });

  test('an unknown key names its full path', () => {
    const raw = minimal() as Record<string, unknown>;
    raw.dispatch = { loop_treshold: 3 };
    expect(errorsOf(raw)).toEqual([
      "Config error at 'dispatch.loop_treshold': unknown key (check the spelling against config.sample.yaml)",
    ]);
  });

  test('several problems are reported together, array items by index', () => {
    const raw = minimal() as Record<string, unknown>;
    raw.admins = ['alice'];
    delete (raw.llm as Record<string, unknown>).model;
    raw.logging = { level: 'loud' };
    const errors = errorsOf(raw);
    expect(errors).toContain("Config error at 'admins[0]': has an invalid format (expected to match ^@[^:]+:.+$)");
    expect(errors).toContain("Config error at 'llm.model': is required but missing");
    expect(errors.some((e) => e.startsWith("Config error at 'logging.level': must be one of: error"))).toBe(true);
  });

  test('invalid YAML is reported with its line', () => {
    expect(() => parseConfigText('homeserver:\n  url: [unclosed\n', 'x.yaml', {})).toThrow(/x.yaml is not valid YAML/);
  });

  test('OPENAI_API_KEY fills an empty api_key, an explicit key wins', () => {
    expect(validateConfig(minimal(), { OPENAI_API_KEY: 'sk-env' }).llm.api_key).toBe('sk-env');
    const raw = minimal();
    (raw.llm as Record<string, unknown>).api_key = 'sk-file';
    expect(validateConfig(raw, { OPENAI_API_KEY: 'sk-env' }).llm.api_key).toBe('sk-file');
  });

  test('persona regex is anchored and escapes the domain', () => {
    const regex = new RegExp(personaUserRegex(validateConfig(minimal(), {})));
    expect(regex.source).toBe('@persona_[a-z0-9._=-]+:localhost$');
    // Synapse uses re.match: only the start is implied, so the $ matters.
    const match = (id: string) => regex.exec(id)?.index === 0;
    expect(match('@persona_x:localhost')).toBe(true);
    expect(match('@persona_x:localhost.evil')).toBe(false);
    expect(match('@persona_x:localhostXevil')).toBe(false);
    expect(match('@alice:localhost')).toBe(false);
    const dotted = validateConfig({ ...minimal(), homeserver: { url: 'https://m.example.org', domain: 'example.org' } }, {});
    expect(new RegExp(personaUserRegex(dotted)).test('@persona_x:exampleXorg')).toBe(false);
  });
});

// Compile-time: the config type comes from the schema, with every defaulted key present.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const derivedFromSchema: [
  Equals<BridgeConfig['appservice'], { bind: string; port: number; bot_localpart: string; bot_displayname: string; persona_prefix: string }>,
  Equals<BridgeConfig['logging']['level'], 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly'>,
  Equals<BridgeConfig['dispatch']['user_rate_limit'], { messages: number; window_seconds: number }>,
] = [true, true, true];
test('the config type is derived from the schema', () => expect(derivedFromSchema).toEqual([true, true, true]));
