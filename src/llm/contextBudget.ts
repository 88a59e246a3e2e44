/**
 * How a model's context window is shared between the prompt and the answer. Pure, so the
 * arithmetic is unit-tested apart from discovery and the network.
 *
 * llama.cpp refuses a prompt longer than its (per-slot) context with HTTP 400, vLLM refuses
 * prompt + max_tokens over its limit, Ollama silently drops the start of the prompt: the
 * prompt must be fitted to the real window, not to a fixed setting.
 */
export interface ContextBudgetInput {
  /** The model's context window in tokens; null when unknown (then the old fixed settings apply). */
  contextTokens: number | null;
  /** llm.max_tokens: the most the answer may take. */
  maxTokens: number;
  /** memory.context_tokens: the most a prompt may take whatever the window (cost, speed). */
  promptCap: number;
  /**
   * Below 1 after the server said a prompt was too long: the token estimate undercounts for
   * this model's tokenizer, so prompts are fitted to this share of the computed budget.
   */
  shrink: number;
}

export interface ContextBudget {
  /** Estimated tokens the prompt may take. */
  promptTokens: number;
  /** max_tokens to send: llm.max_tokens, or less when the window is small. */
  replyTokens: number;
  /** The window this was computed from (null: unknown). */
  contextTokens: number | null;
}

/** The answer may take at most this share of a known window, whatever llm.max_tokens says. */
export const MAX_REPLY_SHARE = 0.25;
/** Kept free of both prompt and answer: tokenizer and chat-template differences. */
export const MARGIN_SHARE = 0.05;
export const MIN_MARGIN_TOKENS = 16;
/** A prompt budget is never smaller than this (the system prompt and the message itself). */
export const MIN_PROMPT_TOKENS = 64;
export const MIN_REPLY_TOKENS = 16;

export function contextBudget(input: ContextBudgetInput): ContextBudget {
  const shrink = Math.min(1, Math.max(0.05, input.shrink));
  if (input.contextTokens === null) {
    return { promptTokens: Math.max(MIN_PROMPT_TOKENS, Math.floor(input.promptCap * shrink)), replyTokens: input.maxTokens, contextTokens: null };
  }
  const window = input.contextTokens;
  const replyTokens = Math.max(MIN_REPLY_TOKENS, Math.min(input.maxTokens, Math.floor(window * MAX_REPLY_SHARE)));
  const margin = Math.max(MIN_MARGIN_TOKENS, Math.ceil(window * MARGIN_SHARE));
  const fits = Math.min(input.promptCap, window - replyTokens - margin);
  return { promptTokens: Math.max(MIN_PROMPT_TOKENS, Math.floor(fits * shrink)), replyTokens, contextTokens: window };
}

/** What a context-exceeded error told us, when the server said it (llama.cpp does). */
export interface ExceededReport {
  /** Real tokens of the refused prompt. */
  promptTokens?: number;
  /** The server's real (per-slot) context. */
  contextTokens?: number;
}

/**
 * The next shrink factor after a prompt estimated at `estimatedTokens` was refused. When the
 * server counted more tokens than we estimated, the estimate is scaled down by that
 * undercount (with a 10% cushion). When it did not (our idea of the window was wrong: the
 * caller learns the real one from the report), the factor stays; with no figures at all it
 * takes a fixed step. Never grows, never below 0.05.
 */
export function nextShrink(current: number, estimatedTokens: number, report: ExceededReport): number {
  let factor = 0.7;
  if (report.promptTokens && report.promptTokens > 0 && estimatedTokens > 0) {
    const undercount = report.promptTokens / estimatedTokens;
    if (undercount > 1) factor = 0.9 / undercount;
    else if (report.contextTokens) factor = 1;
  } else if (report.contextTokens) {
    factor = 1;
  }
  return Math.max(0.05, Math.min(current, current * factor));
}
