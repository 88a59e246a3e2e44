import fc from 'fast-check';
import { AmbiguousName, findByName, foldName, foldText, matchName } from './nameFolding.js';

describe('foldName', () => {
  test('Zoë = Zoe = zoe = ZOË = ZOE', () => {
    for (const typed of ['Zoe', 'zoe', 'ZOË', 'ZOE', 'zoë', 'Zoë']) expect(foldName(typed)).toBe('zoe');
    // Composed and decomposed ë are one letter.
    expect(foldName('Zoe\u0308')).toBe('zoe');
  });

  test('accents of Latin, Greek and Cyrillic, ligatures, full-width letters, ß', () => {
    expect(foldName('Ōkami')).toBe('okami');
    expect(foldName('Nguyễn')).toBe('nguyen');
    expect(foldName('Ἀθηνᾶ')).toBe(foldName('ΑΘΗΝΑ'));
    expect(foldName('ﬁona')).toBe('fiona');
    expect(foldName('Ｚｏｅ')).toBe('zoe');
    expect(foldName('Straße')).toBe(foldName('STRASSE'));
    expect(foldName('İlkay')).toBe('ilkay');
  });

  test('marks that are letters of their script are kept: different names stay different', () => {
    expect(foldName('राम')).not.toBe(foldName('रम'));
    expect(foldName('ガイ')).not.toBe(foldName('カイ'));
    expect(foldName('小月')).toBe('小月');
  });
});

describe('foldText', () => {
  test('each folded character points back to where it came from', () => {
    const text = 'Hé, ZOË!';
    const { folded, origin } = foldText(text);
    expect(folded).toBe('he, zoe!');
    const at = folded.indexOf('zoe');
    expect(text.slice(origin[at])).toBe('ZOË!');
  });

  test('folding a text at once is folding each name in it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(foldText(a + b).folded).toBe(foldName(a) + foldName(b));
        expect(foldText(a).origin).toHaveLength(foldText(a).folded.length);
      }),
    );
  });
});

describe('folding shortcuts', () => {
  test('ASCII is folded as the full folding would (NFKD, upper- then lower-case), in ASCII-only and mixed text', () => {
    for (let code = 0; code < 0x80; code++) {
      const ch = String.fromCharCode(code);
      const full = ch.normalize('NFKD').toUpperCase().toLowerCase();
      expect(foldText(ch).folded).toBe(full);
      expect(foldText(`${ch}É`).folded).toBe(`${full}e`);
      expect(foldText(`${ch}É`).origin).toEqual([0, 1]);
    }
  });

  test('a folded name is the same from the cache, for more names than the cache keeps', () => {
    const names = Array.from({ length: 10_050 }, (_, i) => `Zoë ${i} ﬁ`);
    const first = names.map(foldName);
    expect(first[7]).toBe('zoe 7 fi');
    expect(names.map(foldName)).toEqual(first);
    expect(names.map((n) => foldText(n).folded)).toEqual(first);
  });
});

describe('matchName', () => {
  const names = (...n: string[]) => n.map((name) => ({ name }));
  const match = (typed: string, items: { name: string }[]) => matchName(typed, items, (i) => i.name);

  test('without regard to case or accents', () => {
    expect(match('Zoe', names('Zoë', 'Ada'))).toEqual({ kind: 'one', item: { name: 'Zoë' } });
    expect(match('ZOË', names('Zoë'))).toEqual({ kind: 'one', item: { name: 'Zoë' } });
    expect(match('Bob', names('Zoë'))).toEqual({ kind: 'none' });
  });

  test('the closest agreement wins: the exact name, then the same letters in another case', () => {
    expect(match('Zoe', names('Zoë', 'Zoe'))).toEqual({ kind: 'one', item: { name: 'Zoe' } });
    expect(match('zoë', names('ZOË', 'Zoe'))).toEqual({ kind: 'one', item: { name: 'ZOË' } });
  });

  test('several at the same level: ambiguous, with the candidates', () => {
    expect(match('Zoe', names('Zoë', 'Zoé', 'Ada'))).toEqual({ kind: 'ambiguous', items: names('Zoë', 'Zoé') });
    expect(() => findByName('Zoe', names('Zoë', 'Zoé'), (i) => i.name)).toThrow(AmbiguousName);
    expect(() => findByName('Zoe', names('Zoë', 'Zoé'), (i) => i.name)).toThrow("'Zoe' could be 'Zoë' or 'Zoé': write the name as it is spelled.");
  });
});
