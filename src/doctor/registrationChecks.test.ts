import { validateConfig } from '../config/Config.js';
import { buildRegistration } from '../registration.js';
import type { CheckResult } from '../probes/CheckResult.js';
import { checkRegistration } from './registrationChecks.js';

const config = validateConfig(
  {
    homeserver: { url: 'http://127.0.0.1:8008', domain: 'example.org' },
    appservice: { port: 9000 },
    admins: [],
    llm: { base_url: 'http://127.0.0.1:11434/v1', model: 'llama3.1' },
  },
  {},
);
const good = (): Record<string, unknown> => ({ ...buildRegistration(config, 'http://127.0.0.1:9000') });
const byName = (results: CheckResult[], name: string): CheckResult => results.find((r) => r.name === name)!;

describe('registration against config', () => {
  test('a registration generated from the config passes every check', () => {
    const results = checkRegistration(config, good());
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['registration tokens', 'pass'],
      ['registration sender', 'pass'],
      ['registration namespace', 'pass'],
      ['registration url', 'pass'],
      ['registration rate limit', 'pass'],
    ]);
  });

  test('missing tokens are named', () => {
    const reg = { ...good(), as_token: '', hs_token: undefined };
    expect(byName(checkRegistration(config, reg), 'registration tokens')).toMatchObject({ status: 'fail', detail: 'missing or empty: as_token, hs_token' });
  });

  test('identical tokens fail', () => {
    const reg = { ...good(), hs_token: good().as_token };
    expect(byName(checkRegistration(config, { ...reg, as_token: reg.hs_token }), 'registration tokens').status).toBe('fail');
  });

  test('a sender that is not the bot fails, naming both', () => {
    const result = byName(checkRegistration(config, { ...good(), sender_localpart: 'bridge' }), 'registration sender');
    expect(result.status).toBe('fail');
    expect(result.detail).toBe('sender_localpart is "bridge" but appservice.bot_localpart is "personas"');
  });

  test('a namespace from an older persona_prefix or domain fails', () => {
    const other = validateConfig({ ...JSON.parse(JSON.stringify(config)), appservice: { ...config.appservice, persona_prefix: 'p_' } }, {});
    const result = byName(checkRegistration(other, good()), 'registration namespace');
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('@p_example:example.org');
    expect(result.hint).toContain('regenerate');
  });

  test('a non-exclusive namespace is a warning', () => {
    const reg = good();
    const users = (reg.namespaces as { users: { regex: string; exclusive: boolean }[] }).users;
    users[0]!.exclusive = false;
    expect(byName(checkRegistration(config, reg), 'registration namespace').status).toBe('warn');
  });

  test('an invalid regex does not crash the check', () => {
    const reg = { ...good(), namespaces: { users: [{ regex: '(', exclusive: true }] } };
    expect(byName(checkRegistration(config, reg), 'registration namespace').status).toBe('fail');
  });

  test('a url on another port than the bridge listens on fails', () => {
    const result = byName(checkRegistration(config, { ...good(), url: 'http://127.0.0.1:9001' }), 'registration url');
    expect(result).toMatchObject({ status: 'fail', detail: 'http://127.0.0.1:9001 points at port 9001 but the bridge listens on 127.0.0.1:9000 (appservice.bind/port)' });
  });

  test('a url through a proxy (https, default port) is only a warning', () => {
    expect(byName(checkRegistration(config, { ...good(), url: 'https://bridge.example.org' }), 'registration url').status).toBe('warn');
  });

  test('another host while the bridge binds to loopback is a warning; binding 0.0.0.0 fixes it', () => {
    const reg = { ...good(), url: 'http://bridge:9000' };
    expect(byName(checkRegistration(config, reg), 'registration url').status).toBe('warn');
    const open = validateConfig({ ...JSON.parse(JSON.stringify(config)), appservice: { ...config.appservice, bind: '0.0.0.0' } }, {});
    expect(byName(checkRegistration(open, reg), 'registration url').status).toBe('pass');
  });

  test('a missing or broken url fails', () => {
    expect(byName(checkRegistration(config, { ...good(), url: undefined }), 'registration url').status).toBe('fail');
    expect(byName(checkRegistration(config, { ...good(), url: 'not a url' }), 'registration url').status).toBe('fail');
  });

  test('rate limiting left on is a warning', () => {
    expect(byName(checkRegistration(config, { ...good(), rate_limited: true }), 'registration rate limit').status).toBe('warn');
  });

  test('a file that is not a mapping is one clear failure', () => {
    expect(checkRegistration(config, 'just a string')).toEqual([expect.objectContaining({ name: 'registration', status: 'fail' })]);
  });
});
