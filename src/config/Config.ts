import { dirname, join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { escapeRegExp } from '../util/escapeRegExp.js';
import { ajvKeyPath, describeAjvError } from './ajvErrors.js';
import { ConfigError, ConfigErrors } from './ConfigError.js';
import { resolveBackends } from '../llm/backends.js';
import { toolsConfigErrors } from '../tools/toolConfig.js';
import { configSchema } from './schema.js';
import { describeError } from '../util/describeError.js';

/**
 * The validated config, derived from the schema (defaults applied, so every key with a
 * default is present): the type cannot drift from what is validated. Add a key to
 * config/schema.ts and it appears here.
 */
export type BridgeConfig = FromSchema<typeof configSchema, { keepDefaultedPropertiesOptional: false }>;

/** Where the admin socket is: admin.socket, or admin.sock beside the database. */
export function adminSocketPath(config: Pick<BridgeConfig, 'admin' | 'database'>): string {
  return resolve(config.admin.socket || join(dirname(config.database.path), 'admin.sock'));
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
    const llm = (raw as { llm?: unknown }).llm;
    if (typeof llm === 'object' && llm !== null) errors.push(...backendErrors(llm as BridgeConfig['llm'], env));
    throw new ConfigErrors(errors);
  }
  const config = raw;
  // Secrets may stay out of the file: the environment fills an empty api_key.
  if (!config.llm.api_key && env.OPENAI_API_KEY) config.llm.api_key = env.OPENAI_API_KEY;
  config.homeserver.url = config.homeserver.url.replace(/\/+$/, '');
  const llmErrors = [...backendErrors(config.llm, env), ...toolsConfigErrors(config.tools)];
  if (llmErrors.length) throw new ConfigErrors(llmErrors);
  return config;
}

/** Either form of llm (base_url + model, or backends) must be complete. */
function backendErrors(llm: BridgeConfig['llm'], env: NodeJS.ProcessEnv): ConfigError[] {
  try {
    resolveBackends(llm, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [err];
    throw err;
  }
}

export function parseConfigText(text: string, sourceName: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigErrors([new ConfigError('(root)', `${sourceName} is not valid YAML${where}: ${describeError(err)}`)]);
  }
  return validateConfig(raw, env);
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigErrors([new ConfigError('(file)', `cannot read ${path}: ${describeError(err)}`)]);
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
