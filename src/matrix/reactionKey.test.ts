import { normalizeReactionKey } from './reactionKey.js';

describe('normalizeReactionKey', () => {
  test('variation selectors, skin tones and spaces do not change the reaction', () => {
    expect(normalizeReactionKey('👍')).toBe('👍');
    expect(normalizeReactionKey(' 👍\uFE0F ')).toBe('👍');
    expect(normalizeReactionKey('👍🏽')).toBe('👍');
    expect(normalizeReactionKey('⭐\uFE0F')).toBe('⭐');
    expect(normalizeReactionKey('⏹\uFE0F')).toBe('⏹');
    expect(normalizeReactionKey('+1')).toBe('+1');
  });

  test('white space anywhere and default-ignorable code points (zero-width, joiners) go too (issue 22 #3)', () => {
    for (const key of ['🔁', ' 🔁', '🔁  ', '\t🔁\n', '🔁\u200b', '\u2060🔁', '🔁\ufe0f', '\u00a0🔁']) expect(normalizeReactionKey(key)).toBe('🔁');
  });
});
