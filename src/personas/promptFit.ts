/**
 * Does a persona's prompt fit the model it will be sent to? The prompt builder gives the
 * persona's own prompt at most half of the prompt budget (personaPromptLimit) and cuts the
 * rest, so a long prompt would lose its end without anyone noticing (a 60,000-character prompt
 * reached the model as its first ~7,100 characters). Checked when a persona is spawned, its
 * prompt or model changed, and seed files loaded: a prompt that would be cut gets a warning, one
 * longer than the whole prompt budget (it cannot fit even with no conversation) is refused.
 * Pure; the wording of every outcome lives here.
 */
import type { ContextBudget } from '../llm/contextBudget.js';
import { personaPromptLimit } from '../llm/PromptBuilder.js';
import { estimateTokens, truncateToTokens } from '../llm/tokens.js';

export type PromptFit =
  | { kind: 'fits'; tokens: number; limit: number }
  /** Longer than its share: the model gets only the first `keptChars` characters. */
  | { kind: 'cut'; tokens: number; limit: number; budgetTokens: number; keptChars: number; totalChars: number }
  /** Longer than the whole prompt budget. */
  | { kind: 'too_long'; tokens: number; limit: number; budgetTokens: number; keptChars: number; totalChars: number };

export function personaPromptFit(prompt: string, budget: Pick<ContextBudget, 'promptTokens'>): PromptFit {
  const text = prompt.trim();
  const tokens = estimateTokens(text);
  const limit = personaPromptLimit(budget.promptTokens);
  if (tokens <= limit) return { kind: 'fits', tokens, limit };
  const kept = truncateToTokens(text, limit);
  const figures = { tokens, limit, budgetTokens: budget.promptTokens, keptChars: [...kept].length, totalChars: [...text].length };
  return tokens > budget.promptTokens ? { kind: 'too_long', ...figures } : { kind: 'cut', ...figures };
}

/** Where the budget came from, for the message: `model` (and backend) and the window, if known. */
export interface BudgetSource {
  model: string;
  /** The model's context window; null when unknown (memory.context_tokens applies). */
  contextTokens: number | null;
}

const HOW_TO_FIX = 'shorten the prompt, or raise memory.context_tokens (and llm.context, if the model has a larger window than it reports)';

function source(src: BudgetSource): string {
  return src.contextTokens === null ? `${src.model} (context window unknown; memory.context_tokens applies)` : `${src.model} (context window ${src.contextTokens} tokens)`;
}

/** The admin's warning or refusal; null when the prompt fits. */
export function promptFitMessage(fit: PromptFit, src: BudgetSource): string | null {
  if (fit.kind === 'fits') return null;
  const size = `the prompt is about ${fit.tokens} tokens (${fit.totalChars} characters)`;
  if (fit.kind === 'too_long') {
    return (
      `Refused: ${size}, more than the whole prompt budget of ${fit.budgetTokens} tokens for ${source(src)}, so it cannot fit. ` +
      `A persona prompt may take up to ${fit.limit} tokens (about the first ${fit.keptChars} characters of this one); ${HOW_TO_FIX}.`
    );
  }
  return (
    `Warning: ${size}, more than the ${fit.limit} tokens a persona prompt may take with ${source(src)}: ` +
    `only its first ${fit.keptChars} characters reach the model. To keep all of it, ${HOW_TO_FIX}.`
  );
}
