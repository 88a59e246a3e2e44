import { AsyncLocalStorage } from 'node:async_hooks';
import type OpenAI from 'openai';
import { APIConnectionError, APIError } from 'openai/error';
import { getLogger } from '../logging.js';
import { ContextWindows } from './ContextWindows.js';
import { MIN_PROMPT_TOKENS, type ContextBudget, type ExceededReport } from './contextBudget.js';
import { discoverContextTokens } from './discoverContext.js';
import { FairLimiter, type Priority } from './FairLimiter.js';
import { keepAliveFetch } from './keepAliveFetch.js';
import { stripReasoning } from './reasoning.js';
import { ServerTokenizer } from './ServerTokenizer.js';
import { estimateMessageTokens, estimateTokens, REPLY_PRIMING_TOKENS } from './tokens.js';
import { messageToolCalls, refusesTools, ToolCallAccumulator, toolTokens, type ToolCall, type ToolDefinition, type ToolTurn } from './toolCalls.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('LlmClient');

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Images shown to a model that can see (src/media), each at a place in `content`. */
  images?: ChatImage[];
}

/** An image in a turn: a `data:` URL, its estimated tokens, and where in the text it goes. */
export interface ChatImage {
  url: string;
  tokens: number;
  /** Offset in the turn's `content` (code units) the image follows. */
  at: number;
}

/** A prompt fitted to a budget, with its estimated size (to learn from a refusal). */
export interface FittedPrompt {
  messages: ChatTurn[];
  estimatedTokens: number;
}

/** Builds the prompt for the budget the model's context window leaves (see contextBudget). */
export type PromptFitter = (budget: ContextBudget) => FittedPrompt;

export interface CompletionRequest {
  /**
   * The prompt, or a function fitting it to the model's context window: given a function, a
   * prompt the server refuses as too long is rebuilt smaller and sent once more.
   */
  messages: ChatTurn[] | PromptFitter;
  /** Overrides llm.model (a persona's own model). */
  model?: string | null;
  /** Overrides llm.temperature. */
  temperature?: number | null;
  /** Lowers llm.max_tokens (never above what the context window leaves for the answer). */
  maxTokens?: number;
  /** Fairness key: requests with the same key wait in line, different keys take turns (a room id). */
  queueKey: string;
  priority?: Priority;
  /** Who is asking, for logs (e.g. "Ada in !room:hs"). */
  label?: string;
  /**
   * Cancels the request wherever it is (waiting for a slot, in flight, between retries): it
   * then rejects with an LlmError of kind `cancelled`, which is not a failure (not counted,
   * nothing to report). The turn budget aborts a room's persona answers this way.
   */
  signal?: AbortSignal;
  /**
   * Called with the whole text so far each time a streamed answer grows (live answers). A
   * retried attempt starts over, so the text may also shrink. Never called when llm.stream
   * is off.
   */
  onText?: (textSoFar: string) => void;
  /** Called as the first attempt's HTTP request is handed to fetch (the answer timeline ends there). */
  onSending?: () => void;
  /** Tools the model may call (a tool loop); dropped for a model that refuses them (see Completion.toolsRefused). */
  tools?: ToolDefinition[];
  /** The tool loop's turns so far, after the prompt (their tokens come off the prompt's budget). */
  continuation?: ToolTurn[];
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface Completion {
  text: string;
  model: string;
  /** Null when the endpoint reported none. */
  usage: TokenUsage | null;
  /** 1 when the first attempt succeeded. */
  attempts: number;
  /**
   * Set when the model's text was longer than llm.max_answer_chars: `text` is its first that
   * many characters (not everything received), and this is that number, for the answer to say so.
   */
  cutAt?: number;
  /** The llm.backends name it came from (set by LlmRouter). */
  backend?: string;
  /** Calls the model asked for (only when tools were offered); the text may then be empty. */
  toolCalls?: ToolCall[];
  /** Tools were offered but the endpoint refuses them for this model: why (the answer came without them). */
  toolsRefused?: string;
  /**
   * `context`: the server's context filled up while it was writing: `text` is what it wrote
   * before that, and the answer ends there (the caller says so).
   */
  cut?: 'context';
}

/**
 * - `timeout`: one attempt ran past llm.timeout_seconds.
 * - `unavailable`: the endpoint kept failing (network errors, 429, 5xx) through all retries.
 * - `rejected`: the endpoint refused the request (other 4xx: bad model name, bad key...).
 * - `empty`: the model answered with no text.
 * - `context`: the prompt did not fit the model's context window (also after one smaller retry).
 * - `malformed`: the endpoint answered 200 with something that is not a completion (an error
 *   body, JSON that does not parse, no choices at all).
 * - `cancelled`: the caller's signal aborted it (not a failure of the endpoint).
 */
export type LlmFailureKind = 'timeout' | 'unavailable' | 'rejected' | 'empty' | 'context' | 'malformed' | 'cancelled';

export class LlmError extends Error {
  override name = 'LlmError';
  constructor(
    readonly kind: LlmFailureKind,
    message: string,
    readonly attempts: number,
    readonly status?: number,
    options?: { cause?: unknown; exceeded?: ExceededReport; partialText?: string; usage?: TokenUsage },
  ) {
    super(message, options);
    this.exceeded = options?.exceeded ?? {};
    this.partialText = options?.partialText ?? '';
    this.usage = options?.usage ?? null;
  }
  /**
   * For `cancelled`: what a request already sent to the model cost, as estimated (the prompt;
   * the model's unfinished answer is not known). A cancelled answer is still paid for by
   * whoever caused it. Null when the model was never asked.
   */
  readonly usage: TokenUsage | null;
  /** For `context` failures: what the server said about the prompt and its context. */
  readonly exceeded: ExceededReport;
  /** What a stream had written before it broke off (empty when nothing was). */
  readonly partialText: string;
  /** The model asked (set by the client), and its backend (set by the router), for notices and logs. */
  model?: string;
  backend?: string;
}

export interface LlmStats {
  requests: number;
  failures: number;
  retries: number;
  /** Prompts refused as longer than the context window, each rebuilt smaller. */
  contextExceeded: number;
  promptTokens: number;
  completionTokens: number;
}

export interface LlmClientOptions {
  /** Exponential backoff between retries: base doubles per retry, capped at max (ms). */
  backoff?: { baseMs: number; maxMs: number };
  /** Called with the usage of every successful completion (metrics). */
  onUsage?: (usage: TokenUsage, model: string) => void;
  /** Called once per request that failed for good, after any retries (metrics). */
  onFailure?: (error: LlmError) => void;
  /** Called each time the server refused a prompt as too long for the context (metrics). */
  onContextExceeded?: (model: string) => void;
  /** Replaces asking the server for its context window (tests). */
  discoverContext?: (model: string) => Promise<number | null>;
  /** memory.context_tokens: the most any prompt may take (default 4096). */
  promptCap?: number;
  /** llm.max_answer_chars: a completion's text is cut there (default DEFAULT_MAX_ANSWER_CHARS). */
  maxAnswerChars?: number;
  /**
   * How the server counts a prompt's tokens (ServerTokenizer: llama.cpp, vLLM); null: only
   * the estimate. Default: asked of the endpoint.
   */
  tokenizer?: PromptTokenizer | null;
}

/** Counts a prompt's tokens as the server does (ServerTokenizer); null when it cannot. */
export interface PromptTokenizer {
  count(model: string, messages: ChatTurn[]): Promise<number | null>;
  readonly offered?: string | null;
}

/** One endpoint's settings (a BackendConfig, see backends.ts). */
export interface LlmClientConfig {
  base_url: string;
  api_key: string;
  model: string;
  /** Context window in tokens; null or absent: asked of the server. */
  context?: number | null;
  temperature: number;
  max_tokens: number;
  timeout_seconds: number;
  max_retries: number;
  max_concurrent: number;
  stream: boolean;
  /** False: tools are never sent to this endpoint (llm.tools, or the backend's `tools`). Default true. */
  tools?: boolean;
}

type LlmConfig = LlmClientConfig;

/** A Retry-After longer than this is not honoured in full: replies must not wait minutes. */
const MAX_RETRY_AFTER_MS = 30_000;

/** The attempt whose request the openai client is about to fetch (see CompletionRequest.onSending). */
const sending = new AsyncLocalStorage<() => void>();

/** `send`, telling the attempt being made that its request leaves now. */
function tellingSender(send: typeof fetch): typeof fetch {
  return (input, init) => {
    sending.getStore()?.();
    return send(input, init);
  };
}

/**
 * Chat completions against any OpenAI-compatible endpoint, with what a chat bridge needs on
 * top of the `openai` client: a per-attempt deadline that also covers a stalled stream, our
 * own bounded retries (so the backoff is ours to tune and count), and a fair concurrency
 * limit across rooms.
 */
export class LlmClient {
  /** Created with the first request (see openai()). */
  private client: Promise<OpenAI> | null = null;
  private readonly limiter: FairLimiter;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly counters: LlmStats = { requests: 0, failures: 0, retries: 0, contextExceeded: 0, promptTokens: 0, completionTokens: 0 };
  /** Models of this endpoint that refused a request with tools, and what the endpoint said (until restart). */
  private readonly refusedTools = new Map<string, string>();
  /** Context window and prompt budget per model of this endpoint. */
  readonly windows: ContextWindows;
  private readonly tokenizer: PromptTokenizer | null;
  /** This endpoint's HTTP client: kept-alive connections, shared by the completions and the tokenizer. */
  private readonly http: typeof fetch;

  constructor(
    private readonly config: LlmConfig,
    private readonly options: LlmClientOptions = {},
  ) {
    this.http = keepAliveFetch();
    this.limiter = new FairLimiter(config.max_concurrent);
    this.backoff = options.backoff ?? { baseMs: 500, maxMs: 8000 };
    this.windows = new ContextWindows({
      configured: config.context ?? null,
      maxTokens: config.max_tokens,
      promptCap: options.promptCap ?? DEFAULT_PROMPT_CAP,
      discover: options.discoverContext ?? ((model) => discoverContextTokens(config.base_url, config.api_key, model, { fetch: this.http })),
    });
    this.tokenizer = options.tokenizer === undefined ? new ServerTokenizer(config.base_url, config.api_key, { fetch: this.http }) : options.tokenizer;
  }

  /**
   * The `openai` package is loaded with the first request, not at start: it is ~30 MB of
   * resident code (its every API resource), which a bridge that has not answered yet does not
   * need (BENCHMARKS.md, memory).
   */
  private openai(): Promise<OpenAI> {
    this.client ??= import('openai').then(
      ({ default: OpenAIClient }) =>
        new OpenAIClient({
          baseURL: this.config.base_url,
          // Local servers (Ollama, llama.cpp) need no key, but the client refuses to start without one.
          apiKey: this.config.api_key || 'no-key',
          maxRetries: 0,
          fetch: tellingSender(this.http),
          // Our own deadline (below) aborts first; this is only a backstop.
          timeout: this.config.timeout_seconds * 1000 + 1000,
        }),
      (err: unknown) => {
        this.client = null; // tried again next time
        throw err;
      },
    );
    return this.client;
  }

  /** Which tokenizer the server offered for counting prompts (llama.cpp, vllm, none), once asked. */
  get serverTokenizer(): string | null {
    return this.tokenizer?.offered ?? null;
  }

  stats(): Readonly<LlmStats> & { active: number; waiting: number } {
    return { ...this.counters, active: this.limiter.active, waiting: this.limiter.waiting };
  }

  /** Resolves with the completion or rejects with an LlmError; never with anything else. */
  async complete(request: CompletionRequest): Promise<Completion> {
    const model = request.model || this.config.model;
    const label = request.label ?? request.queueKey;
    this.counters.requests++;
    let contextRetried = false;
    let tools = request.tools?.length && this.config.tools !== false ? request.tools : undefined;
    let toolsRefused = tools ? this.refusedTools.get(model) : undefined;
    if (toolsRefused) tools = undefined;
    for (let attempt = 1; ; attempt++) {
      let prompt: FittedPrompt | null = null;
      let budget: ContextBudget | null = null;
      let asked = false;
      try {
        budget = await this.windows.budget(model);
        // What the tool loop adds after the prompt (and the tools' schemas) takes from the prompt's share.
        const extra = toolTokens(tools, request.continuation);
        const promptBudget = extra ? { ...budget, promptTokens: Math.max(MIN_PROMPT_AFTER_TOOLS, budget.promptTokens - extra) } : budget;
        const counted = await this.fit(request.messages, promptBudget, model, extra);
        prompt = counted.prompt;
        const maxTokens = Math.min(request.maxTokens ?? budget.replyTokens, counted.replyTokens);
        const fitted = prompt;
        const offered = tools;
        const result = await this.limiter.run(
          request.queueKey,
          // Checked once a slot is ours: a request cancelled while waiting never reaches the model.
          () => {
            if (request.signal?.aborted) return Promise.reject(cancelled(attempt));
            asked = true;
            return this.attempt(request, attempt, model, fitted.messages, maxTokens, offered);
          },
          request.priority,
        );
        const text = stripReasoning(result.text);
        const calls = result.toolCalls.length ? { toolCalls: result.toolCalls } : {};
        if (!text.trim() && !calls.toolCalls) throw new LlmError('empty', `${model} returned an empty reply${result.text.trim() ? ' (only reasoning)' : ''}`, attempt);
        if (result.usage) this.recordUsage(result.usage, model);
        const refused = toolsRefused ? { toolsRefused } : {};
        const cutAt = result.cutAt ? { cutAt: result.cutAt } : {};
        // Stopped for length well short of max_tokens: the context filled up (llama.cpp ends
        // the answer so when its context shift is off). The answer ends there, said so.
        if (result.finishReason === 'length' && result.usage && result.usage.completionTokens < maxTokens - 1) {
          this.counters.contextExceeded++;
          this.options.onContextExceeded?.(model);
          this.windows.exceeded(model, fitted.estimatedTokens, { promptTokens: result.usage.promptTokens, ...(budget.contextTokens ? { contextTokens: result.usage.promptTokens + result.usage.completionTokens } : {}) });
          log.warn(`LLM answer for ${label} ran out of ${model}'s context after ${result.usage.completionTokens} of ${maxTokens} tokens; it ends there`);
          return { text, usage: result.usage, model, attempts: attempt, ...calls, ...refused, ...cutAt, cut: 'context' };
        }
        return { text, usage: result.usage, model, attempts: attempt, ...calls, ...refused, ...cutAt };
      } catch (err) {
        if (request.signal?.aborted) {
          const stopped = cancelled(attempt, asked && prompt ? { promptTokens: prompt.estimatedTokens, completionTokens: 0, totalTokens: prompt.estimatedTokens } : undefined);
          stopped.model = model;
          throw stopped;
        }
        const failure = classify(err, attempt, this.config.timeout_seconds);
        // A model that cannot take tools (llama.cpp without --jinja...) answers without them,
        // now and for the rest of the run: remembered per model, asked again after a restart.
        if (tools && (failure.kind === 'rejected' || failure.kind === 'unavailable') && refusesTools(failure.status, failure.message)) {
          toolsRefused = failure.message;
          this.refusedTools.set(model, failure.message);
          tools = undefined;
          log.warn(`${model} refuses tools (${failure.message}); its answers go without them until restart`);
          continue;
        }
        // The context filled up while the server was writing (llama.cpp: "Context size has
        // been exceeded."): what it wrote is kept and ends the answer; later prompts are
        // fitted smaller, so the next answer has room.
        const written = stripReasoning(failure.partialText);
        if (failure.kind === 'context' && written.trim() && prompt) {
          this.counters.contextExceeded++;
          this.options.onContextExceeded?.(model);
          this.windows.exceeded(model, prompt.estimatedTokens, failure.exceeded);
          log.warn(`LLM answer for ${label} ran out of ${model}'s context after ${written.length} characters (${failure.message}); it ends there`);
          return { text: written, usage: null, model, attempts: attempt, ...(toolsRefused ? { toolsRefused } : {}), cut: 'context' };
        }
        // Only a prompt within its budget teaches anything about the window: one that overshot
        // (a caller that could not make it fit) says nothing about the estimate.
        if (failure.kind === 'context' && prompt && budget && prompt.estimatedTokens <= budget.promptTokens) {
          this.counters.contextExceeded++;
          this.options.onContextExceeded?.(model);
          this.windows.exceeded(model, prompt.estimatedTokens, failure.exceeded);
          // Once: a prompt fitted to the corrected budget that still does not fit means the
          // budget is wrong in a way another guess will not fix; the next message tries again.
          if (!contextRetried && typeof request.messages === 'function') {
            contextRetried = true;
            log.warn(`LLM prompt for ${label} exceeded ${model}'s context (${failure.message}); retrying once with a smaller prompt`);
            continue;
          }
        }
        const retryable = failure.kind === 'unavailable';
        if (!retryable || attempt > this.config.max_retries) {
          failure.model = model;
          this.counters.failures++;
          this.options.onFailure?.(failure);
          throw failure;
        }
        const delay = this.retryDelay(attempt, err);
        this.counters.retries++;
        log.warn(`LLM attempt ${attempt} for ${label} failed (${failure.message}); retrying in ${delay} ms`);
        await sleep(delay, request.signal);
      }
    }
  }

  /**
   * The prompt fitted to the budget by our estimate, then measured by the server's own
   * tokenizer when it has one: a prompt over the budget by the server's count is fitted again
   * to a budget scaled down by the overshoot (twice at most), and the answer may take no more
   * than the window leaves after the prompt as counted (and `extra`, what tools add after it),
   * so prompt and answer fit together.
   */
  private async fit(messages: ChatTurn[] | PromptFitter, budget: ContextBudget, model: string, extra: number): Promise<{ prompt: FittedPrompt; replyTokens: number }> {
    let prompt = fitPrompt(messages, budget);
    if (!this.tokenizer) return { prompt, replyTokens: budget.replyTokens };
    let counted = await this.serverCount(this.tokenizer, model, prompt.messages);
    let target = budget.promptTokens;
    for (let refits = 0; counted !== null && counted > budget.promptTokens && typeof messages === 'function' && refits < 2; refits++) {
      target = Math.max(MIN_PROMPT_TOKENS, Math.floor(target * (budget.promptTokens / counted) * 0.95));
      prompt = messages({ ...budget, promptTokens: target });
      counted = await this.serverCount(this.tokenizer, model, prompt.messages);
    }
    if (counted === null || budget.contextTokens === null) return { prompt, replyTokens: budget.replyTokens };
    // A couple of tokens spare: the end-of-answer token and rounding in the server's accounting;
    // the tool loop's turns and the tools' schemas (`extra`, estimated) go with the prompt.
    return { prompt, replyTokens: Math.max(1, Math.min(budget.replyTokens, budget.contextTokens - counted - extra - 2)) };
  }

  /**
   * The server's count of a prompt's text plus its images' estimates (src/media): the
   * tokenizer endpoints count text only, so the images' data is not sent to them.
   */
  private async serverCount(tokenizer: PromptTokenizer, model: string, messages: ChatTurn[]): Promise<number | null> {
    const imageTokens = messages.reduce((sum, m) => sum + (m.images ?? []).reduce((n, image) => n + image.tokens, 0), 0);
    const counted = await tokenizer.count(model, messages.map(({ role, content }) => ({ role, content })));
    return counted === null ? null : counted + imageTokens;
  }

  private async attempt(
    request: CompletionRequest,
    attempt: number,
    model: string,
    messages: ChatTurn[],
    maxTokens: number,
    tools: ToolDefinition[] | undefined,
  ): Promise<{ text: string; usage: TokenUsage | null; toolCalls: ToolCall[]; finishReason: string | null; cutAt?: number }> {
    // One deadline for the whole attempt, body included: a server that sends headers and
    // then stalls mid-stream must not hold the reply (and a concurrency slot) forever.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded()), this.config.timeout_seconds * 1000);
    const onCancel = () => controller.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onCancel, { once: true });
    const body = {
      model,
      messages: [...messages.map(toApiMessage), ...((request.continuation ?? []) as OpenAI.ChatCompletionMessageParam[])],
      temperature: request.temperature ?? this.config.temperature,
      max_tokens: maxTokens,
      ...(tools ? { tools } : {}),
    };
    // The first attempt only: a retry is the endpoint's time, not the bridge's.
    const onSending = attempt === 1 ? request.onSending : undefined;
    const create = onSending ? <T>(call: () => T): T => sending.run(onSending, call) : <T>(call: () => T): T => call();
    let text = '';
    try {
      const client = await this.openai();
      const maxChars = this.options.maxAnswerChars ?? DEFAULT_MAX_ANSWER_CHARS;
      if (!this.config.stream) {
        const res = await create(() => client.chat.completions.create({ ...body, stream: false }, { signal: controller.signal }));
        const full = completionText(res, model);
        const toolCalls = tools ? messageToolCalls(res.choices?.[0]?.message) : [];
        const finishReason = res.choices?.[0]?.finish_reason ?? null;
        if (full.length <= maxChars) return { text: full, usage: toUsage(res.usage), toolCalls, finishReason };
        log.warn(`${model} answered ${full.length} characters; cut at ${maxChars} (llm.max_answer_chars)`);
        return { text: cutText(full, maxChars), usage: toUsage(res.usage), toolCalls, finishReason, cutAt: maxChars };
      }
      const stream = await create(() =>
        client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, { signal: controller.signal }),
      );
      let usage: TokenUsage | null = null;
      const calls = new ToolCallAccumulator();
      let finishReason: string | null = null;
      for await (const chunk of stream) {
        const delta = chunk.choices?.[0]?.delta?.content ?? '';
        text += delta;
        if (tools) calls.add(chunk.choices?.[0]?.delta?.tool_calls);
        if (chunk.usage) usage = toUsage(chunk.usage);
        finishReason = chunk.choices?.[0]?.finish_reason ?? finishReason;
        // However much one chunk brought, the answer is its first maxChars characters.
        if (text.length > maxChars) {
          log.warn(`${model} streamed past ${maxChars} characters (llm.max_answer_chars); cut the answer there`);
          text = cutText(text, maxChars);
          request.onText?.(text);
          controller.abort(new StreamCut());
          return { text, usage, toolCalls: [], finishReason, cutAt: maxChars };
        }
        if (delta) request.onText?.(text);
        // A server that ignores max_tokens would stream until the deadline; what it sent so
        // far is the answer (generously over the limit: the estimate counts pessimistically).
        if (estimateTokens(text) > maxTokens * RUNAWAY_FACTOR + 16) {
          log.warn(`${model} kept streaming past max_tokens (${maxTokens}); cut the answer there`);
          controller.abort(new StreamCut());
          return { text, usage, toolCalls: [], finishReason: 'length' };
        }
      }
      // An aborted stream ends the iteration quietly instead of throwing: the partial text
      // must not pass for a complete reply.
      if (controller.signal.aborted) throw controller.signal.reason;
      return { text, usage, toolCalls: calls.result(), finishReason };
    } catch (err) {
      // The client wraps our abort in its own error types; the signal tells the truth.
      if (controller.signal.reason instanceof DeadlineExceeded) throw controller.signal.reason;
      // A stream that broke off keeps what it had written (see classify).
      throw text && !controller.signal.aborted ? new BrokenStream(err, text) : err;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCancel);
    }
  }

  private recordUsage(usage: TokenUsage, model: string): void {
    this.counters.promptTokens += usage.promptTokens;
    this.counters.completionTokens += usage.completionTokens;
    this.options.onUsage?.(usage, model);
  }

  /** Exponential backoff with jitter, or the server's Retry-After when it sent one (capped). */
  private retryDelay(attempt: number, err: unknown): number {
    const retryAfter = retryAfterMs(err);
    if (retryAfter !== null) return Math.min(retryAfter, MAX_RETRY_AFTER_MS);
    const exp = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (attempt - 1));
    // Jitter in [exp/2, exp]: personas failing together should not retry in lockstep.
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }
}

class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
}

class StreamCut extends Error {
  override name = 'StreamCut';
}

/** A streamed answer that failed part-way, with the text it had written. */
class BrokenStream extends Error {
  override name = 'BrokenStream';
  constructor(
    override readonly cause: unknown,
    readonly written: string,
  ) {
    super(describeError(cause));
  }
}

/** memory.context_tokens' default, for clients built without it. */
const DEFAULT_PROMPT_CAP = 4096;
/** The prompt keeps at least this much of its budget however long a tool loop's turns get. */
const MIN_PROMPT_AFTER_TOOLS = 256;
/** A stream is cut once its text is estimated at this many times max_tokens. */
const RUNAWAY_FACTOR = 2;
/** llm.max_answer_chars' default. */
export const DEFAULT_MAX_ANSWER_CHARS = 16_000;

/** The first `max` characters of `text`, never ending inside a surrogate pair. */
function cutText(text: string, max: number): string {
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

function fitPrompt(messages: ChatTurn[] | PromptFitter, budget: ContextBudget): FittedPrompt {
  if (typeof messages === 'function') return messages(budget);
  return { messages, estimatedTokens: messages.reduce((n, m) => n + turnTokens(m), REPLY_PRIMING_TOKENS) };
}

/** A turn's estimated tokens, its images included. */
export function turnTokens(turn: ChatTurn): number {
  return estimateMessageTokens(turn.content) + (turn.images ?? []).reduce((n, image) => n + image.tokens, 0);
}

/**
 * A turn as the API takes it: plain text, or (with images) content parts, the text cut
 * where each image goes (OpenAI's `image_url` parts, which llama.cpp, vLLM and Ollama's
 * OpenAI endpoint take too).
 */
function toApiMessage(turn: ChatTurn): OpenAI.ChatCompletionMessageParam {
  if (!turn.images?.length || turn.role !== 'user') return { role: turn.role, content: turn.content };
  const parts: OpenAI.ChatCompletionContentPart[] = [];
  let from = 0;
  for (const image of [...turn.images].sort((a, b) => a.at - b.at)) {
    const text = turn.content.slice(from, image.at);
    if (text.trim()) parts.push({ type: 'text', text });
    parts.push({ type: 'image_url', image_url: { url: image.url } });
    from = image.at;
  }
  const rest = turn.content.slice(from);
  if (rest.trim()) parts.push({ type: 'text', text: rest });
  return { role: 'user', content: parts };
}

/** The text of a non-streamed completion; a 200 that is not one is `malformed`. */
function completionText(res: OpenAI.ChatCompletion, model: string): string {
  const body = res as unknown as { choices?: unknown; error?: unknown };
  if (body.error) throw new LlmError('malformed', `${model} answered HTTP 200 with an error: ${errorText(body.error)}`, 1);
  if (!Array.isArray(body.choices)) throw new LlmError('malformed', `${model} answered HTTP 200 without choices: ${JSON.stringify(res).slice(0, 200)}`, 1);
  return res.choices[0]?.message?.content ?? '';
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : JSON.stringify(error).slice(0, 200);
}

/**
 * A prompt longer than the context, as the common servers say it: llama.cpp's
 * `exceed_context_size_error` (with the real counts), OpenAI's `context_length_exceeded`,
 * vLLM's and others' "maximum context length" wording.
 */
function contextExceeded(err: APIError): ExceededReport | null {
  const error = (err.error ?? {}) as { type?: unknown; code?: unknown; n_prompt_tokens?: unknown; n_ctx?: unknown };
  const named = error.type === 'exceed_context_size_error' || error.code === 'context_length_exceeded';
  if (!named && !/context (length|size|window)|maximum context|exceeds the available context/i.test(err.message)) return null;
  const count = (v: unknown) => (typeof v === 'number' && v > 0 ? v : undefined);
  const promptTokens = count(error.n_prompt_tokens);
  const contextTokens = count(error.n_ctx);
  return { ...(promptTokens ? { promptTokens } : {}), ...(contextTokens ? { contextTokens } : {}) };
}

function toUsage(usage: OpenAI.CompletionUsage | null | undefined): TokenUsage | null {
  if (!usage) return null;
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, totalTokens: usage.total_tokens };
}

/**
 * Timeouts are not retried: an attempt that already took the whole timeout would make the
 * user wait that long again, and a model that slow is usually overloaded, not flaky.
 */
function classify(thrown: unknown, attempts: number, timeoutSeconds: number): LlmError {
  if (thrown instanceof LlmError) return thrown;
  const partialText = thrown instanceof BrokenStream ? thrown.written : '';
  const err = thrown instanceof BrokenStream ? thrown.cause : thrown;
  if (err instanceof DeadlineExceeded) return new LlmError('timeout', `no complete answer within ${timeoutSeconds} s`, attempts);
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    // llama.cpp answers a context that filled up while writing a non-streamed answer with a 500.
    const exceeded = status === 400 || status === 413 || status >= 500 ? contextExceeded(err) : null;
    if (exceeded) return new LlmError('context', `HTTP ${status}: ${err.message}`, attempts, status, { cause: err, exceeded });
    const transient = status === 408 || status === 409 || status === 429 || status >= 500;
    return new LlmError(transient ? 'unavailable' : 'rejected', `HTTP ${status}: ${err.message}`, attempts, status, { cause: err });
  }
  // An error object in a 200 stream (the client throws it without a status): the context
  // filling up while the server writes (llama.cpp's "Context size has been exceeded.", an
  // OpenAI-style context_length_exceeded), or something else the stream could not go on with.
  if (err instanceof APIError && !(err instanceof APIConnectionError)) {
    const exceeded = contextExceeded(err);
    const message = `error in the answer stream: ${err.message}`;
    if (exceeded) return new LlmError('context', message, attempts, undefined, { cause: err, exceeded, partialText });
    return new LlmError('malformed', message, attempts, undefined, { cause: err, partialText });
  }
  // A 200 whose body is not JSON.
  if (err instanceof SyntaxError) return new LlmError('malformed', `unreadable answer: ${err.message}`, attempts, undefined, { cause: err });
  // Connection refused or reset, DNS, a stream cut off mid-way: the endpoint is unreachable.
  const cause = (err as { cause?: { code?: string } }).cause;
  const detail = cause?.code ? ` (${cause.code})` : '';
  return new LlmError('unavailable', `${describeError(err)}${detail}`, attempts, undefined, { cause: err });
}

function retryAfterMs(err: unknown): number | null {
  if (!(err instanceof APIError) || !err.headers) return null;
  const ms = Number(err.headers.get('retry-after-ms'));
  if (err.headers.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const header = err.headers.get('retry-after');
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

function cancelled(attempts: number, usage?: TokenUsage): LlmError {
  return new LlmError('cancelled', 'cancelled by the caller', attempts, undefined, usage ? { usage } : {});
}

/** Resolves after `ms`, or early when `signal` aborts (the caller checks which). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
