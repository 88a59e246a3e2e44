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
});
