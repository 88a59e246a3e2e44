import { jsonNestingDepth, MAX_JSON_DEPTH, refuseDeepJson } from './boundedJson.js';

describe('jsonNestingDepth', () => {
  test.each([
    ['"flat"', 0],
    ['{"a":[1,{"b":2}]}', 3],
    ['{"a":"[[[{{{ not nesting \\" [[[ still a string"}', 1],
    ['[[],[[]],[]]', 3],
  ])('%s nests %i deep', (text, depth) => expect(jsonNestingDepth(text)).toBe(depth));

  test('reads 1,000,000 levels without recursion', () => {
    expect(jsonNestingDepth('['.repeat(1_000_000) + ']'.repeat(1_000_000))).toBe(1_000_000);
  });
});

describe('refuseDeepJson', () => {
  test('lets MAX_JSON_DEPTH levels through and refuses one more', () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => refuseDeepJson(nested(MAX_JSON_DEPTH), 'card.json')).not.toThrow();
    expect(() => refuseDeepJson(nested(MAX_JSON_DEPTH + 1), 'card.json')).toThrow(`card.json nests ${MAX_JSON_DEPTH + 1} levels deep; at most ${MAX_JSON_DEPTH} are allowed.`);
  });
});
