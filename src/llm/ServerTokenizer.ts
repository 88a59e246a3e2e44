/**
 * A prompt's size as the model server itself counts it, when the server can say: our
 * estimate (tokens.ts) is deliberately pessimistic but knows neither the model's tokenizer
 * nor its chat template, so a small window can still overflow. Two servers answer:
 * - llama.cpp: `POST /apply-template {messages}` gives the prompt text with the model's chat
 *   template applied, `POST /tokenize {content, add_special}` its tokens;
 * - vLLM: `POST /tokenize {model, messages, add_generation_prompt}` gives `count` directly.
 * Which one (or none: hosted APIs answer 404) is found out once per endpoint and remembered
 * (asked again after a while when none did); counts are cached per prompt, since a retry or a
 * regenerated answer asks for the same one. Never throws: null means "use the estimate".
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** A chat message as the servers take it (LlmClient's ChatTurn). */
export interface ChatMessage {
  role: string;
  content: string;
}

type Kind = 'llama.cpp' | 'vllm' | 'none';

export interface ServerTokenizerOptions {
  timeoutMs?: number;
  /** After a probe found no tokenizer, ask again after this long (a server may be restarted as another). */
  reprobeAfterMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export class ServerTokenizer {
  private kind: { kind: Kind; at: number } | null = null;
  private probing: Promise<{ kind: Kind; key: string; count: number | null }> | null = null;
  private readonly counts = new LRUCache<string, number>({ max: 500 });
  private readonly root: string;
  private readonly timeoutMs: number;
  private readonly reprobeAfterMs: number;
  private readonly doFetch: typeof fetch;
  private readonly now: () => number;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    opts: ServerTokenizerOptions = {},
  ) {
    this.root = baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.reprobeAfterMs = opts.reprobeAfterMs ?? 10 * 60_000;
    this.doFetch = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /** Which tokenizer the server offers, once known (for logs and tests). */
  get offered(): Kind | null {
    return this.kind?.kind ?? null;
  }

  /** The prompt's tokens as the server counts them (its chat template included), or null. */
  async count(model: string, messages: ChatMessage[]): Promise<number | null> {
    const key = createHash('sha256').update(model).update('\0').update(JSON.stringify(messages)).digest('base64');
    const cached = this.counts.get(key);
    if (cached !== undefined) return cached;
    let counted: number | null;
    if (this.kind && (this.kind.kind !== 'none' || this.now() - this.kind.at < this.reprobeAfterMs)) {
      counted = this.kind.kind === 'none' ? null : await this.countWith(this.kind.kind, model, messages).catch(() => null);
    } else {
      // The first count finds out which tokenizer there is; callers meanwhile share it.
      const probing = (this.probing ??= this.probe(key, model, messages).finally(() => (this.probing = null)));
      const probed = await probing;
      counted = probed.key === key ? probed.count : probed.kind === 'none' ? null : await this.countWith(probed.kind, model, messages).catch(() => null);
    }
    if (counted !== null) this.counts.set(key, counted);
    return counted;
  }

  private async probe(key: string, model: string, messages: ChatMessage[]): Promise<{ kind: Kind; key: string; count: number | null }> {
    for (const kind of ['llama.cpp', 'vllm'] as const) {
      const count = await this.countWith(kind, model, messages).catch(() => null);
      if (count !== null) {
        this.kind = { kind, at: this.now() };
        return { kind, key, count };
      }
    }
    this.kind = { kind: 'none', at: this.now() };
    return { kind: 'none', key, count: null };
  }

  private async countWith(kind: Exclude<Kind, 'none'>, model: string, messages: ChatMessage[]): Promise<number | null> {
    if (kind === 'llama.cpp') {
      const applied = await this.post('/apply-template', { messages });
      const prompt = (applied as { prompt?: unknown } | null)?.prompt;
      if (typeof prompt !== 'string') return null;
      // add_special: the BOS token the server puts before the templated prompt.
      const tokens = (await this.post('/tokenize', { content: prompt, add_special: true }) as { tokens?: unknown } | null)?.tokens;
      return Array.isArray(tokens) ? tokens.length : null;
    }
    const counted = (await this.post('/tokenize', { model, messages, add_generation_prompt: true })) as { count?: unknown } | null;
    return typeof counted?.count === 'number' && counted.count > 0 ? counted.count : null;
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const res = await this.doFetch(`${this.root}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status !== 200) return null;
    return (await res.json()) as unknown;
  }
}
