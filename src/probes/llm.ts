import { errorOf, fetchJson, ProbeError, type FetchJsonOptions } from './fetchJson.js';

/**
 * The model IDs an OpenAI-compatible endpoint lists (GET {base_url}/models: OpenAI, Ollama,
 * vLLM and llama.cpp's server all serve it). Throws a ProbeError carrying the status when the
 * endpoint refuses (a bad API key is a 401 here) or is not there.
 */
export async function listModels(baseUrl: string, apiKey: string, opts: FetchJsonOptions): Promise<string[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/models`;
  const headers: Record<string, string> = { ...opts.headers, ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  const { status, json } = await fetchJson(url, { ...opts, headers });
  if (status !== 200) {
    const { code, message } = errorOf(json);
    throw new ProbeError(`${url}: HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, status, code);
  }
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new ProbeError(`${url}: HTTP 200 but no model list (is base_url the API root, ending in /v1?)`, status);
  return data.map((m) => (m as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string');
}

/**
 * Whether `model` is among `available`. Ollama lists tags in full ("llama3.1:latest") while
 * configs usually name the bare model ("llama3.1"), which Ollama accepts.
 */
export function modelIsListed(model: string, available: string[]): boolean {
  return available.some((id) => id === model || id === `${model}:latest` || id.replace(/:latest$/, '') === model);
}
