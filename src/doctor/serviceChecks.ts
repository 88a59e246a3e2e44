import { botUserId, type BridgeConfig } from '../config/Config.js';
import { DEFAULT_BACKEND, resolveBackends, type BackendConfig } from '../llm/backends.js';
import { ProbeError } from '../probes/fetchJson.js';
import { whoamiAsAppservice } from '../probes/homeserver.js';
import { checkHomeserver as checkHomeserverAt } from '../probes/homeserverHealth.js';
import { listModels, modelIsListed } from '../probes/llm.js';
import { fail, pass, warn, type CheckResult } from '../probes/CheckResult.js';
import { describeError } from '../util/describeError.js';

export interface ServiceCheckOptions {
  timeoutMs: number;
  fetch?: typeof fetch;
}

const message = (err: unknown): string => describeError(err);

/** Does something answer at homeserver.url like a Matrix homeserver? */
export function checkHomeserver(config: BridgeConfig, opts: ServiceCheckOptions): Promise<CheckResult> {
  return checkHomeserverAt(config.homeserver.url, opts);
}

/**
 * Does the homeserver accept the registration's as_token, for the bot? Run only once the
 * homeserver answers, or every failure would read as a token problem.
 */
export async function checkAppserviceToken(config: BridgeConfig, asToken: string, opts: ServiceCheckOptions): Promise<CheckResult> {
  const name = 'appservice token';
  const bot = botUserId(config);
  try {
    const userId = await whoamiAsAppservice(config.homeserver.url, asToken, bot, opts);
    if (userId !== bot) return fail(name, `the homeserver says the token acts as ${userId}, not ${bot}`, 'check appservice.bot_localpart against sender_localpart');
    return pass(name, `accepted; acting as ${bot}`);
  } catch (err) {
    if (err instanceof ProbeError && err.status === 401) {
      return fail(
        name,
        `the homeserver rejected the registration's as_token (${message(err)})`,
        'the homeserver did not load this registration file: list it under app_service_config_files in homeserver.yaml ' +
          '(or copy this file over the one listed there) and restart the homeserver',
      );
    }
    if (err instanceof ProbeError && err.status === 403) {
      return fail(
        name,
        `the homeserver refused to let the appservice act as ${bot} (${message(err)})`,
        'homeserver.domain must be the server_name of the homeserver, and sender_localpart the bot_localpart',
      );
    }
    return fail(name, message(err));
  }
}

/** Every LLM backend (llm.base_url and each of llm.backends): one result each. */
export async function checkLlmBackends(config: BridgeConfig, opts: ServiceCheckOptions): Promise<CheckResult[]> {
  return Promise.all(resolveBackends(config.llm).map((backend) => checkLlm(backend, opts)));
}

/**
 * Does the backend answer, accept the key and list the model? The result is named after the
 * backend and its hints name the config key to fix (llm.api_key, llm.backends.NAME.model...).
 */
export async function checkLlm(backend: BackendConfig, opts: ServiceCheckOptions): Promise<CheckResult> {
  const isDefault = backend.name === DEFAULT_BACKEND;
  const name = isDefault ? 'llm endpoint' : `llm backend "${backend.name}"`;
  const key = (k: string) => (isDefault ? `llm.${k}` : `llm.backends.${backend.name}.${k}`);
  const { base_url: baseUrl, api_key: apiKey, model } = backend;
  let models: string[];
  try {
    models = await listModels(baseUrl, apiKey, opts);
  } catch (err) {
    const status = err instanceof ProbeError ? err.status : undefined;
    const hint =
      status === 401 || status === 403
        ? `the endpoint refused the API key (HTTP ${status}): set ${key('api_key')}${isDefault ? ' (or OPENAI_API_KEY)' : ''}`
        : status === 404
          ? `${key('base_url')} must be the API root, usually ending in /v1 (e.g. http://127.0.0.1:11434/v1 for Ollama)`
          : `start the LLM server or fix ${key('base_url')}; until then personas on it answer that the model endpoint is unavailable`;
    return fail(name, `cannot list models: ${message(err)}`, hint);
  }
  if (models.length > 0 && !modelIsListed(model, models)) {
    const shown = models.slice(0, 8).join(', ') + (models.length > 8 ? ', ...' : '');
    return warn(name, `${baseUrl} answers, but ${key('model')} "${model}" is not among its models (${shown})`, 'pull or load the model (e.g. `ollama pull ' + model + '`) or fix ' + key('model'));
  }
  return pass(name, `${baseUrl} answers${models.length > 0 ? `; model "${model}" is available` : ''}`);
}
