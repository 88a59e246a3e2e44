import { estimateTokens } from '../llm/tokens.js';
import type { ActivatedLore } from './activate.js';
import { fitLore } from './fitLore.js';

const entry = (content: string, over: Partial<ActivatedLore> = {}): ActivatedLore => ({ content, position: 'after_char', order: 100, priority: 0, constant: false, book: 0, ...over });
const cost = (text: string) => estimateTokens(`\n${text}`);

describe('fitLore', () => {
  test('kept in insertion order (lowest first), split by position', () => {
    const fitted = fitLore([entry('C', { order: 3 }), entry('A', { order: 1, position: 'before_char' }), entry('B', { order: 2 })], 1000);
    expect(fitted).toMatchObject({ before: ['A'], after: ['B', 'C'], count: 3 });
  });

  test('when short of room: constant first, then the highest priority, then the highest order; the first misfit ends it', () => {
    const text = (n: number) => `entry ${'x'.repeat(30)} ${n}`;
    const one = cost(text(1));
    const entries = [
      entry(text(1), { order: 1 }),
      entry(text(2), { order: 50 }),
      entry(text(3), { order: 10, constant: true }),
      entry(text(4), { order: 5, priority: 9 }),
      entry('tiny', { order: 0 }),
    ];
    const fitted = fitLore(entries, 2 + one * 3);
    // Constant (3), priority 9 (4), then order 50 (2); order 1 does not fit and ends it, so "tiny" (order 0) does not squeeze in.
    expect(fitted.after).toEqual([text(4), text(3), text(2)]);
    expect(fitted.tokens).toBeLessThanOrEqual(2 + one * 3);
  });

  test("a book's own token_budget caps its entries; other books go on", () => {
    const fitted = fitLore([entry('a'.repeat(40), { book: 0, bookBudget: 20, order: 3 }), entry('b'.repeat(40), { book: 0, bookBudget: 20, order: 2 }), entry('c', { book: 1, order: 1 })], 1000);
    expect(fitted.after).toEqual(['c', 'a'.repeat(40)]);
  });

  test('nothing fits: nothing', () => {
    expect(fitLore([entry('a long entry indeed')], 3)).toEqual({ before: [], after: [], tokens: 0, count: 0 });
    expect(fitLore([], 100).count).toBe(0);
  });
});
