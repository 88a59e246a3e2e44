import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { escapeRegExp } from '../util/escapeRegExp.js';
import { ajvKeyPath, describeAjvError } from './ajvErrors.js';
import { ConfigError, ConfigErrors } from './ConfigError.js';
import { configSchema } from './schema.js';

export interface BridgeConfig {
  homeserver: { url: string; domain: string };
  appservice: { bind: string; port: number; bot_localpart: string; bot_displayname: string; persona_prefix: string };
  admins: string[];
  database: { path: string };
  llm: {
    base_url: string;
    api_key: string;
    model: string;
    temperature: number;
    max_tokens: number;
    timeout_seconds: number;
    max_retries: number;
    max_concurrent: number;
    stream: boolean;
  };
  dispatch: {
    loop_threshold: number;
    loop_reset_seconds: number;
    max_event_age_seconds: number;
    user_rate_limit: { messages: number; window_seconds: number };
  };
  memory: { context_tokens: number; summarize_after_messages: number; recall_messages: number };
  personas: { directory: string };
  /** `port` unset: /metrics is served on the appservice listener. */
  metrics: { enabled: boolean; bind: string; port?: number };
  logging: { level: string; json: boolean };
  /** Node/V8 sizing, applied by the entry point at start (src/runtime/runtimePlan.ts). */
  runtime: { tune_memory: boolean; max_heap_mb?: number; semi_space_mb?: number };
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
const validate = ajv.compile<BridgeConfig>(configSchema);

function describe(error: ErrorObject): string {
  return error.keyword === 'additionalProperties'
    ? 'unknown key (check the spelling against config.sample.yaml)'
    : describeAjvError(error);
}

/**
 * Validates a parsed config object, applying defaults in place. Throws ConfigErrors listing
 * every problem with its key path.
 */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigErrors([new ConfigError('(root)', 'the config must be a YAML mapping')]);
  }
  if (!validate(raw)) {
    const errors = (validate.errors ?? []).map((e) => new ConfigError(ajvKeyPath(e), describe(e)));
    throw new ConfigErrors(errors);
  }
  const config = raw;
  // Secrets may stay out of the file: the environment fills an empty api_key.
  if (!config.llm.api_key && env.OPENAI_API_KEY) config.llm.api_key = env.OPENAI_API_KEY;
  config.homeserver.url = config.homeserver.url.replace(/\/+$/, '');
  return config;
}

export function parseConfigText(text: string, sourceName: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigErrors([new ConfigError('(root)', `${sourceName} is not valid YAML${where}: ${(err as Error).message}`)]);
  }
  return validateConfig(raw, env);
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigErrors([new ConfigError('(file)', `cannot read ${path}: ${(err as Error).message}`)]);
  }
  return parseConfigText(text, path, env);
}

export function personaUserRegex(config: Pick<BridgeConfig, 'homeserver' | 'appservice'>): string {
  const domain = escapeRegExp(config.homeserver.domain);
  const prefix = escapeRegExp(config.appservice.persona_prefix);
  // Anchored with $: Synapse applies namespaces with re.match, which only anchors the start.
  return `@${prefix}[a-z0-9._=-]+:${domain}$`;
}

export function botUserId(config: Pick<BridgeConfig, 'homeserver' | 'appservice'>): string {
  return `@${config.appservice.bot_localpart}:${config.homeserver.domain}`;
}
