import { fetchJson } from '../probes/fetchJson.js';

/**
 * Asks an OpenAI-compatible server how large a context `model` really gets, trying what the
 * common local servers answer (each a cheap GET or POST that others answer with 404):
 * - llama.cpp `GET /props`: `default_generation_settings.n_ctx` is the per-slot context
 *   (`-c` divided among the parallel slots), which is what one request may use;
 * - Ollama `POST /api/show`: `num_ctx` in the model's parameters, else Ollama's default
 *   (4096), never more than the model's trained `*.context_length`;
 * - `GET {base_url}/models`: vLLM's `max_model_len`, llama.cpp's `meta.n_ctx`, or a
 *   `context_length` (OpenRouter, LM Studio) on the model's entry.
 * Null when none of them says (hosted APIs); never throws.
 */
export async function discoverContextTokens(baseUrl: string, apiKey: string, model: string, opts: DiscoverOptions = {}): Promise<number | null> {
  const base = baseUrl.replace(/\/+$/, '');
  const root = base.replace(/\/v1$/, '');
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const timeoutMs = opts.timeoutMs ?? 5000;
  const get = async (url: string): Promise<unknown> => {
    try {
      const { status, json } = await fetchJson(url, { timeoutMs, headers, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
      return status === 200 ? json : null;
    } catch {
      return null;
    }
  };
  return (
    llamaCppContext(await get(`${root}/props`)) ??
    ollamaContext(await postShow(root, model, headers, timeoutMs, opts.fetch)) ??
    modelListContext(await get(`${base}/models`), model)
  );
}

export interface DiscoverOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Ollama's num_ctx when a model does not set one (Ollama >= 0.6; older ones used 2048). */
export const OLLAMA_DEFAULT_NUM_CTX = 4096;

function positiveInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

export function llamaCppContext(props: unknown): number | null {
  const settings = (props as { default_generation_settings?: { n_ctx?: unknown } } | null)?.default_generation_settings;
  return positiveInt(settings?.n_ctx);
}

export function ollamaContext(show: unknown): number | null {
  if (typeof show !== 'object' || show === null) return null;
  const { parameters, model_info: info } = show as { parameters?: unknown; model_info?: Record<string, unknown> };
  if (typeof parameters !== 'string' && (typeof info !== 'object' || info === null)) return null;
  const numCtx = typeof parameters === 'string' ? /(?:^|\n)\s*num_ctx\s+(\d+)/.exec(parameters)?.[1] : undefined;
  const trained = Object.entries(info ?? {}).find(([key]) => key.endsWith('.context_length'))?.[1];
  const wanted = numCtx ? Number(numCtx) : OLLAMA_DEFAULT_NUM_CTX;
  const limit = positiveInt(trained);
  return limit ? Math.min(wanted, limit) : wanted;
}

export function modelListContext(list: unknown, model: string): number | null {
  const data = (list as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return null;
  const entries = data as Array<Record<string, unknown>>;
  const entry = entries.find((m) => m?.id === model) ?? (entries.length === 1 ? entries[0] : undefined);
  if (!entry) return null;
  const meta = entry.meta as { n_ctx?: unknown } | undefined;
  return positiveInt(entry.max_model_len) ?? positiveInt(meta?.n_ctx) ?? positiveInt(entry.context_length) ?? null;
}

async function postShow(
  root: string,
  model: string,
  headers: Record<string, string>,
  timeoutMs: number,
  doFetch: typeof fetch = fetch,
): Promise<unknown> {
  try {
    const res = await doFetch(`${root}/api/show`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.status === 200 ? ((await res.json()) as unknown) : null;
  } catch {
    return null;
  }
}
