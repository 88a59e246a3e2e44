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
  /**
   * memory.context_tokens, the cap on any prompt: when the window leaves more than it, the cap
   * is what limits the prompt, and raising it helps; when not, only a larger window does.
   */
  promptCap?: number;
}

function source(src: BudgetSource): string {
  return src.contextTokens === null ? `${src.model} (context window unknown)` : `${src.model} (context window ${src.contextTokens} tokens)`;
}

/**
 * What would let the prompt fit, as it applies: a small model's window cannot be argued with
 * (raising memory.context_tokens would change nothing), the setting can.
 */
export function promptFitAdvice(fit: Exclude<PromptFit, { kind: 'fits' }>, src: BudgetSource): string {
  if (src.contextTokens === null) return 'shorten it, or raise memory.context_tokens if the model’s context window is larger';
  if (src.promptCap !== undefined && fit.budgetTokens >= src.promptCap) return 'shorten it, or raise memory.context_tokens';
  return 'shorten it, or give the persona a model with a larger context window';
}

/** The admin's warning or refusal, one line; null when the prompt fits. */
export function promptFitMessage(fit: PromptFit, src: BudgetSource): string | null {
  if (fit.kind === 'fits') return null;
  const advice = promptFitAdvice(fit, src);
  if (fit.kind === 'too_long') {
    return `Refused: the prompt (about ${fit.tokens} tokens) is longer than the whole prompt budget of ${fit.budgetTokens} tokens for ${source(src)}, so it cannot fit: ${advice}.`;
  }
  return `Warning: only the first ${fit.keptChars} of the prompt's ${fit.totalChars} characters reach ${source(src)}: ${advice}.`;
}

/**
 * Seed prompts cut to fit, gathered per model and said in one line for each model, naming the
 * files (a small model cuts every seed prompt, and one line per file said the same thing over
 * and over): the start-up log (PersonaLifecycle.provisionFiles) and `--check` alike.
 */
export class CutPrompts {
  private readonly byModel = new Map<string, { source: BudgetSource; files: string[]; items: { name: string; fit: Exclude<PromptFit, { kind: 'fits' }> }[] }>();

  add(file: string, name: string, fit: Exclude<PromptFit, { kind: 'fits' }>, source: BudgetSource): void {
    const group = this.byModel.get(source.model) ?? { source, files: [], items: [] };
    group.files.push(file);
    group.items.push({ name, fit });
    this.byModel.set(source.model, group);
  }

  /** One per model: its files (`a.yaml, b.yaml`) and what was cut (cutPromptsMessage). */
  lines(): { files: string; message: string }[] {
    return [...this.byModel.values()].map(({ source, files, items }) => ({ files: files.join(', '), message: cutPromptsMessage(items, source) }));
  }
}

/** Seed prompts cut to fit one model, said once for all of them (a small model cuts every one). */
export function cutPromptsMessage(cuts: { name: string; fit: Exclude<PromptFit, { kind: 'fits' }> }[], src: BudgetSource): string {
  const each = cuts.map((c) => `${c.name} (${c.fit.keptChars} of ${c.fit.totalChars} characters)`).join(', ');
  return `prompts cut to fit ${source(src)}: ${each}; ${promptFitAdvice(cuts[0]!.fit, src).replace(/^shorten it/, 'shorten them')}.`;
}
