import { personaUserRegex, type BridgeConfig } from '../config/Config.js';
import { fail, pass, warn, type CheckResult } from '../probes/CheckResult.js';

const REGENERATE =
  'regenerate it with `node dist/main.js -r -c CONFIG -u URL -f REG`, put the new file where homeserver.yaml ' +
  "lists it under app_service_config_files and restart Synapse";

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

type Raw = Record<string, unknown>;

/**
 * Does the registration file (as parsed YAML) fit the config? Synapse and the bridge each
 * read one of the two, so a mismatch shows up only as events that never arrive or requests
 * that are refused; these checks name it instead.
 */
export function checkRegistration(config: BridgeConfig, raw: unknown): CheckResult[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return [fail('registration', 'the file is not a YAML mapping', REGENERATE)];
  }
  const reg = raw as Raw;
  return [checkTokens(reg), checkSender(config, reg), checkNamespace(config, reg), checkUrl(config, reg), checkRateLimit(reg)];
}

function checkTokens(reg: Raw): CheckResult {
  const name = 'registration tokens';
  const missing = ['id', 'as_token', 'hs_token'].filter((k) => typeof reg[k] !== 'string' || (reg[k] as string).trim() === '');
  if (missing.length > 0) return fail(name, `missing or empty: ${missing.join(', ')}`, REGENERATE);
  if (reg.as_token === reg.hs_token) {
    return fail(name, 'as_token and hs_token are the same', 'they must differ, or the homeserver token proves nothing; ' + REGENERATE);
  }
  return pass(name, `id ${String(reg.id)}; as_token and hs_token present`);
}

function checkSender(config: BridgeConfig, reg: Raw): CheckResult {
  const name = 'registration sender';
  const expected = config.appservice.bot_localpart;
  if (reg.sender_localpart !== expected) {
    return fail(
      name,
      `sender_localpart is ${JSON.stringify(reg.sender_localpart)} but appservice.bot_localpart is "${expected}"`,
      `make them the same: edit one of the two (then restart Synapse if you changed the registration)`,
    );
  }
  return pass(name, `sender_localpart "${expected}" is the bot`);
}

function checkNamespace(config: BridgeConfig, reg: Raw): CheckResult {
  const name = 'registration namespace';
  const users = ((reg.namespaces as Raw | undefined)?.users ?? []) as unknown;
  if (!Array.isArray(users) || users.length === 0) return fail(name, 'namespaces.users is empty: no persona can exist', REGENERATE);
  const expected = personaUserRegex(config);
  // A persona that must fall in the namespace, and the bot (only it speaks for the bridge).
  const sample = `@${config.appservice.persona_prefix}example:${config.homeserver.domain}`;
  const entries = users.filter((u): u is { regex: string; exclusive?: unknown } => typeof (u as Raw)?.regex === 'string');
  const matching = entries.find((u) => {
    try {
      // Synapse applies namespaces with Python's re.match: anchored at the start only.
      return new RegExp(`^(?:${u.regex})`).test(sample);
    } catch {
      return false;
    }
  });
  if (!matching) {
    return fail(
      name,
      `no users regex matches persona IDs like ${sample} (found ${entries.map((u) => u.regex).join(', ') || 'none'}, expected ${expected})`,
      `persona_prefix or homeserver.domain changed since the registration was made; ${REGENERATE}`,
    );
  }
  if (matching.exclusive !== true) {
    return warn(name, `${matching.regex} is not exclusive`, 'set exclusive: true so nobody else can register persona IDs, then restart Synapse');
  }
  return pass(name, `${matching.regex} (exclusive)`);
}

function checkUrl(config: BridgeConfig, reg: Raw): CheckResult {
  const name = 'registration url';
  const { bind, port } = config.appservice;
  if (typeof reg.url !== 'string' || reg.url === '') {
    return fail(name, 'url is missing: Synapse cannot push events', `set it to where Synapse reaches the bridge, e.g. http://${bind}:${port}`);
  }
  let url: URL;
  try {
    url = new URL(reg.url);
  } catch {
    return fail(name, `url ${JSON.stringify(reg.url)} is not a URL`, `set it to where Synapse reaches the bridge, e.g. http://${bind}:${port}`);
  }
  const urlPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const listening = `the bridge listens on ${bind}:${port} (appservice.bind/port)`;
  if (url.protocol === 'http:' && url.port !== '' && urlPort !== port) {
    return fail(name, `${reg.url} points at port ${urlPort} but ${listening}`, `make the url's port ${port} (or appservice.port ${urlPort}) and restart both`);
  }
  if (urlPort !== port) {
    return warn(name, `${reg.url} is not the bridge's own port; ${listening}`, `fine only when a reverse proxy at ${url.host} forwards to ${bind}:${port}`);
  }
  if (LOOPBACK.has(bind) && !LOOPBACK.has(url.hostname)) {
    return warn(
      name,
      `${reg.url} names host ${url.hostname} but ${listening}, reachable from this machine only`,
      'set appservice.bind to 0.0.0.0 (or that interface) if Synapse runs on another host or container',
    );
  }
  return pass(name, `${reg.url} reaches ${bind}:${port}`);
}

function checkRateLimit(reg: Raw): CheckResult {
  const name = 'registration rate limit';
  if (reg.rate_limited === false) return pass(name, 'rate_limited: false (the bridge applies dispatch.user_rate_limit itself)');
  return warn(name, `rate_limited is ${JSON.stringify(reg.rate_limited ?? 'unset (Synapse defaults to true)')}`, 'set rate_limited: false, or busy rooms will see personas throttled by Synapse');
}
