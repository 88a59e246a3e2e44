import fc from 'fast-check';
import { choosePersonaId, displayNameProblem, personaIdProblem, suggestPersonaId } from './personaId.js';

describe('display names', () => {
  test.each(['Ada', 'Zoë', 'Ōkami', '小月', 'Ünïcode', 'Ada Lovelace', "O'Brien", 'R2-D2', '👩‍🚀 Sally', '❤️‍🔥 Blaze', '🏳️‍🌈', '👍🏽 Pat'])('%s is a valid display name', (name) =>
    expect(displayNameProblem(name)).toBeNull(),
  );

  test.each([
    ['', 'the name is empty'],
    ['   ', 'the name is empty'],
    [' Ada', 'the name starts or ends with a space'],
    ['x'.repeat(65), 'the name is 65 characters long; at most 64 are allowed'],
    ['Ada\nEve', 'the name contains invisible or control characters (U+000A)'],
    ['Ada\u202Eevil', 'the name contains invisible or control characters (U+202E)'],
    ['A\u0000b', 'the name contains invisible or control characters (U+0000)'],
    // Default_Ignorable_Code_Point, not a hand list: each of these displays like the name without it.
    ['Fe\u200Brn', 'the name contains invisible or control characters (U+200B)'],
    ['Fe\u200Drn', 'the name contains invisible or control characters (U+200D)'],
    ['Fern\u2060', 'the name contains invisible or control characters (U+2060)'],
    ['F\u034Fern', 'the name contains invisible or control characters (U+034F)'],
    ['Fern\uFE0F', 'the name contains invisible or control characters (U+FE0F)'],
    ['Fern\u{E0041}', 'the name contains invisible or control characters (U+E0041)'],
    ['\u115FFern', 'the name contains invisible or control characters (U+115F)'],
  ])('%j is refused: %s', (name, reason) => expect(displayNameProblem(name)).toBe(reason));

  test('length counts characters, not UTF-16 units', () => expect(displayNameProblem('小'.repeat(64))).toBeNull());
});

describe('IDs', () => {
  test.each([
    ['Zoë', 'zoe'],
    ['Ōkami', 'okami'],
    ['小月', 'xiaoyue'],
    ['Ünïcode', 'unicode'],
    ['Ada Lovelace', 'ada_lovelace'],
    ["O'Brien", 'obrien'],
    ['Маша', 'masha'],
    // Every name valid before Unicode names keeps the ID it always had.
    ['R2-D2', 'r2-d2'],
    ['mr_smith', 'mr_smith'],
    ['Ada', 'ada'],
  ])('%s -> %s', (name, id) => expect(suggestPersonaId(name)).toBe(id));

  test('nothing usable left gives null', () => {
    expect(suggestPersonaId('???')).toBeNull();
    expect(suggestPersonaId('...')).toBeNull();
  });

  test('any suggestion is a valid ID', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (name) => {
        const id = suggestPersonaId(name);
        return id === null || personaIdProblem(id) === null;
      }),
    );
  });

  test('bad explicit IDs name the characters', () => {
    expect(personaIdProblem('Zoe')).toBe("IDs may only contain a-z, 0-9, '.', '_', '=' and '-' (not 'Z')");
    expect(personaIdProblem('')).toBe('the ID is empty');
  });
});

describe('choosing an ID', () => {
  const taken = (ids: string[]) => (id: string) => ids.includes(id);

  test('the suggestion when free, de-duplicated when not', () => {
    expect(choosePersonaId('Zoë', taken([]))).toEqual({ ok: true, id: 'zoe' });
    expect(choosePersonaId('Zoë', taken(['zoe']))).toEqual({ ok: true, id: 'zoe_2' });
    expect(choosePersonaId('Zoe', taken(['zoe', 'zoe_2']))).toEqual({ ok: true, id: 'zoe_3' });
  });

  test('--id is used as given, refused when taken or invalid', () => {
    expect(choosePersonaId('小月', taken([]), 'moon')).toEqual({ ok: true, id: 'moon' });
    expect(choosePersonaId('小月', taken(['moon']), 'moon')).toEqual({ ok: false, error: "The ID 'moon' is already taken; choose another --id." });
    expect(choosePersonaId('x', taken([]), 'Moon!')).toEqual({
      ok: false,
      error: "Invalid --id 'Moon!': IDs may only contain a-z, 0-9, '.', '_', '=' and '-' (not 'M' '!').",
    });
  });

  test('a name that cannot become an ID asks for --id', () => {
    expect(choosePersonaId('???', taken([]))).toEqual({
      ok: false,
      error: "Cannot make a Matrix ID from the name '???'; give one with --id (a-z, 0-9, '.', '_', '=', '-').",
    });
  });
});
