import type { FromSchema } from 'json-schema-to-ts';
import { ConfigError } from '../config/ConfigError.js';
import type { configSchema } from '../config/schema.js';

/** Everything one LLM endpoint's client needs: its own connection, the shared answer settings. */
export interface BackendConfig {
  /** `default` for the plain `llm.base_url` form, else the key under `llm.backends`. */
  name: string;
  base_url: string;
  api_key: string;
  /** The model used when a persona names none (or names only the backend). */
  model: string;
  /** Context window; null: asked of the server. */
  context: number | null;
  max_concurrent: number;
  timeout_seconds: number;
  temperature: number;
  max_tokens: number;
  max_retries: number;
  stream: boolean;
  /** False: tools are never offered to this endpoint's models (llm.tools, or the backend's own `tools`). */
  tools: boolean;
  /** Said once per room by a persona answering on this backend (a demo model says so); null: nothing. */
  notice: string | null;
  /** The model can see images (llm.vision, or the backend's own `vision`). */
  vision: boolean;
}

export const DEFAULT_BACKEND = 'default';

// BridgeConfig['llm'], derived here from the schema: Config.ts validates with this module, so
// importing its type back would be an import cycle.
type LlmConfig = FromSchema<typeof configSchema, { keepDefaultedPropertiesOptional: false }>['llm'];

/**
 * The endpoints of `llm`, in config order: `llm.base_url`/`llm.model` as the backend named
 * `default` (the original form, which keeps working), then every `llm.backends` entry, each
 * inheriting context, concurrency and timeout from `llm` unless it sets its own. Throws a
 * ConfigError naming the key when neither form is complete.
 */
export function resolveBackends(llm: LlmConfig, env: NodeJS.ProcessEnv = process.env): BackendConfig[] {
  const shared = { temperature: llm.temperature, max_tokens: llm.max_tokens, max_retries: llm.max_retries, stream: llm.stream };
  const out: BackendConfig[] = [];
  const named = Object.entries(llm.backends ?? {});
  if (llm.base_url || llm.model || named.length === 0) {
    if (!llm.base_url) throw new ConfigError('llm.base_url', 'is required but missing (the API root of an OpenAI-compatible endpoint), unless llm.backends names the endpoints');
    if (!llm.model) throw new ConfigError('llm.model', 'is required but missing');
    if (llm.backends?.[DEFAULT_BACKEND]) {
      throw new ConfigError(`llm.backends.${DEFAULT_BACKEND}`, `"${DEFAULT_BACKEND}" is the name of llm.base_url's endpoint; give this backend another name`);
    }
    out.push({
      name: DEFAULT_BACKEND,
      base_url: llm.base_url,
      api_key: llm.api_key,
      model: llm.model,
      context: llm.context ?? null,
      max_concurrent: llm.max_concurrent,
      timeout_seconds: llm.timeout_seconds,
      tools: llm.tools,
      notice: llm.notice ?? null,
      vision: llm.vision ?? false,
      ...shared,
    });
  }
  for (const [name, b] of named) {
    out.push({
      name,
      base_url: b.base_url,
      // An empty key falls back to OPENAI_API_KEY like llm.api_key does, but only for
      // backends that do not set one (a local server ignores it anyway).
      api_key: b.api_key || (env.OPENAI_API_KEY ?? ''),
      model: b.model,
      context: b.context ?? llm.context ?? null,
      max_concurrent: b.concurrency ?? llm.max_concurrent,
      timeout_seconds: b.timeout ?? llm.timeout_seconds,
      tools: b.tools ?? llm.tools,
      notice: b.notice ?? null,
      vision: b.vision ?? false,
      ...shared,
    });
  }
  const wanted = llm.default_backend;
  if (wanted && !out.some((b) => b.name === wanted)) {
    throw new ConfigError('llm.default_backend', `no backend named "${wanted}" (known: ${out.map((b) => b.name).join(', ')})`);
  }
  // The default backend first: callers treat the first as the one used when nothing is named.
  return wanted ? [...out.filter((b) => b.name === wanted), ...out.filter((b) => b.name !== wanted)] : out;
}

/** Which backend and model a persona's `model` setting means. */
export interface ModelRoute {
  backend: string;
  model: string;
}

/**
 * `backend/model` picks a backend by name; a bare backend name means that backend's own
 * model; anything else (including model ids with slashes, like `meta-llama/Llama-3-8B`, whose
 * first part is not a backend name) is a model on the default backend. Null: the default
 * backend's default model.
 */
export function routeModel(setting: string | null | undefined, backends: readonly BackendConfig[]): ModelRoute {
  const fallback = backends[0]!;
  if (!setting) return { backend: fallback.name, model: fallback.model };
  const exact = backends.find((b) => b.name === setting);
  if (exact) return { backend: exact.name, model: exact.model };
  const slash = setting.indexOf('/');
  if (slash > 0) {
    const named = backends.find((b) => b.name === setting.slice(0, slash));
    if (named && slash < setting.length - 1) return { backend: named.name, model: setting.slice(slash + 1) };
  }
  return { backend: fallback.name, model: setting };
}
