import { estimateTokens } from '../llm/tokens.js';
import type { ActivatedLore } from './activate.js';

/** Lore fitted to a prompt: the text before and after the character's own prompt. */
export interface FittedLore {
  /** Entries that go before the character's prompt (`before_char`), in insertion order. */
  before: string[];
  /** And after it (`after_char`). */
  after: string[];
  /** Estimated tokens, separators included. */
  tokens: number;
  count: number;
}

/**
 * Keeps what fits in `maxTokens` (and in each book's own `token_budget`), the most important
 * first: constant entries, then the highest `priority`, then the highest `insertion_order`
 * (SillyTavern's and the V3 spec's rule: the lowest is dropped first). As SillyTavern does,
 * the first entry that does not fit ends the filling, so a less important one never takes
 * the place of a more important one. What is kept goes in by `insertion_order`, lowest first.
 */
export function fitLore(entries: ActivatedLore[], maxTokens: number): FittedLore {
  const ranked = entries
    .map((entry, index) => ({ entry, index, cost: estimateTokens(`\n${entry.content}`) }))
    .filter((e) => e.entry.content !== '')
    .sort((a, b) => Number(b.entry.constant) - Number(a.entry.constant) || b.entry.priority - a.entry.priority || b.entry.order - a.entry.order || a.index - b.index);
  const kept: typeof ranked = [];
  // Two block separators (the blank lines around the character's prompt) at most.
  let used = 2;
  const perBook = new Map<number, number>();
  const fullBooks = new Set<number>();
  for (const item of ranked) {
    const { book, bookBudget } = item.entry;
    if (fullBooks.has(book)) continue;
    const bookUsed = perBook.get(book) ?? 0;
    if (bookBudget !== undefined && bookUsed + item.cost > bookBudget) {
      fullBooks.add(book);
      continue;
    }
    if (used + item.cost > maxTokens) break;
    used += item.cost;
    perBook.set(book, bookUsed + item.cost);
    kept.push(item);
  }
  if (kept.length === 0) return { before: [], after: [], tokens: 0, count: 0 };
  kept.sort((a, b) => a.entry.order - b.entry.order || a.entry.book - b.entry.book || a.index - b.index);
  const at = (position: ActivatedLore['position']) => kept.filter((k) => k.entry.position === position).map((k) => k.entry.content);
  return { before: at('before_char'), after: at('after_char'), tokens: used, count: kept.length };
}
