import { ReactionDedupe } from './reactionKeys.js';

describe('reaction de-duplication', () => {
  test('de-duplication by the normalised key, per person and message, until redacted', () => {
    const d = new ReactionDedupe();
    expect(d.first('@a', '$m', '🔁', '$r1')).toBe(true);
    expect(d.first('@a', '$m', ' 🔁', '$r2')).toBe(false);
    expect(d.first('@a', '$m', '🔁', '$r1')).toBe(true); // the same reaction again (a replay)
    expect(d.first('@b', '$m', '🔁', '$r3')).toBe(true);
    expect(d.first('@a', '$other', '🔁', '$r4')).toBe(true);
    d.redacted('$r2'); // not the one that counted
    expect(d.first('@a', '$m', '🔁', '$r5')).toBe(false);
    d.redacted('$r1');
    expect(d.first('@a', '$m', '🔁 ', '$r6')).toBe(true);
  });
});
