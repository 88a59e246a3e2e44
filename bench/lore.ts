import type { PromptMessage } from '../src/llm/PromptBuilder.js';
import { activateLore, type ActivatedLore } from '../src/lore/activate.js';
import type { CharacterBook } from '../src/lore/book.js';
import { TOPICS } from './needles.js';

/**
 * What a character with depth brings to every prompt in the benchmarks (issue 27): a lorebook
 * of one constant entry and one entry per needle topic (so the question calls its topic's
 * entry up, and the lore competes for the budget exactly where recall matters), SillyTavern
 * style (secondary keys with NOT ANY, a regular-expression key), and three starred answers as
 * style examples.
 */
export const BENCH_LOREBOOK: CharacterBook = {
  name: 'Bench world',
  scan_depth: 2,
  entries: [
    { keys: [], content: 'The town lies in a valley of three rivers; its people trade by barge and meet at the market on Saturdays.', enabled: true, insertion_order: 1, constant: true },
    ...TOPICS.map((topic, i) => ({
      keys: i % 10 === 0 ? [`/\\b${topic}(e?s)?\\b/i`] : [topic],
      secondary_keys: ['forbidden'],
      selective: true,
      content: `In this town every ${topic} is registered at the guild hall; the guild keeps a ledger of owners, names and repairs, and gossip about ${topic}s travels fast.`,
      enabled: true,
      insertion_order: 100 + i,
      extensions: { selectiveLogic: 2 },
    })),
  ],
};

export const BENCH_EXAMPLES = [
  'Ah, a fine question — let me think it through with you, step by step, and we will find the answer together before the kettle boils.',
  'I remember that well: you told me about it on a rainy evening, and I promised to keep it safe. Here it is, exactly as you said it.',
  'Honestly? I would pick the simpler way. It costs less, it breaks less, and you can always change your mind next spring.',
];

/** The entries the last messages call up, as PersonaResponder asks for them. */
export function benchLore(turns: PromptMessage[], charName: string, userName: string): ActivatedLore[] {
  const newestFirst = turns.slice(-100).reverse().map((t) => `${t.name}: ${t.body}`);
  return activateLore([BENCH_LOREBOOK], { messages: newestFirst, charName, userName, random: () => 0 });
}
