import { readFileSync } from 'node:fs';
import { activateLore, MAX_RECURSION_STEPS, type LoreScan } from './activate.js';
import type { CharacterBook, LorebookEntry } from './book.js';
import { worldInfoToBook, type WorldInfoEntry } from './worldInfo.js';

/** A card's book exactly as SillyTavern writes one from World Info entries. */
const stBook = (...entries: WorldInfoEntry[]): CharacterBook =>
  worldInfoToBook({ entries: Object.fromEntries(entries.map((e, uid) => [String(uid), { uid, order: 100, position: 1, selective: true, ...e }])) }, 'test');

/** Contents called up by these messages (newest first), with rolls that always pass. */
const contents = (book: CharacterBook, messages: string[], over: Partial<LoreScan> = {}) =>
  activateLore([book], { messages, charName: 'Seraphina', userName: 'Bob', random: () => 0, ...over }).map((a) => a.content);

describe('lorebook activation (SillyTavern World Info rules on card books)', () => {
  test('a primary key anywhere in the scanned messages, in any case unless case-sensitive', () => {
    const book = stBook({ key: ['glade'], content: 'The glade hides a spring.' }, { key: ['Moon'], caseSensitive: true, content: 'Moon lore.' });
    expect(contents(book, ['Bob: Where is the GLADE?'])).toEqual(['The glade hides a spring.']);
    expect(contents(book, ['Bob: the moon rises'])).toEqual([]);
    expect(contents(book, ['Bob: the Moon rises'])).toEqual(['Moon lore.']);
    expect(contents(book, ['Bob: nothing here'])).toEqual([]);
  });

  test("the spec's own case_sensitive field counts too (V2/V3 cards from other editors)", () => {
    const book: CharacterBook = { entries: [{ keys: ['Moon'], content: 'Moon lore.', enabled: true, insertion_order: 1, case_sensitive: true }] };
    expect(contents(book, ['the moon'])).toEqual([]);
    expect(contents(book, ['the Moon'])).toEqual(['Moon lore.']);
  });

  test.each([
    ['AND ANY (0)', 0, { 'dragon': false, 'dragon cave': true, 'dragon lair': true, 'dragon cave lair': true }],
    ['NOT ALL (1)', 1, { 'dragon': true, 'dragon cave': true, 'dragon lair': true, 'dragon cave lair': false }],
    ['NOT ANY (2)', 2, { 'dragon': true, 'dragon cave': false, 'dragon lair': false, 'dragon cave lair': false }],
    ['AND ALL (3)', 3, { 'dragon': false, 'dragon cave': false, 'dragon lair': false, 'dragon cave lair': true }],
  ])('selective with secondary keys, selectiveLogic %s', (_name, logic, expected) => {
    const book = stBook({ key: ['dragon'], keysecondary: ['cave', 'lair'], selectiveLogic: logic, content: 'Dragon lore.' });
    for (const [text, fires] of Object.entries(expected)) expect([text, contents(book, [text]).length === 1]).toEqual([text, fires]);
    // Secondary keys alone never call an entry up.
    expect(contents(book, ['cave lair'])).toEqual([]);
  });

  test('secondary keys are ignored when the entry is not selective', () => {
    const book = stBook({ key: ['dragon'], keysecondary: ['cave'], selective: false, selectiveLogic: 3, content: 'Dragon lore.' });
    expect(contents(book, ['a dragon'])).toEqual(['Dragon lore.']);
  });

  test('keys written /pattern/flags are regular expressions (their flags decide case); others are plain text', () => {
    const book = stBook(
      { key: ['/\\brun(e|ic)s?\\b/i'], content: 'Runes.' },
      { key: ['/^Bob: hello$/m'], content: 'Greeting.' },
      { key: ['a.c'], content: 'Literal dot.' },
    );
    expect(contents(book, ['Bob: old RUNIC writing'])).toEqual(['Runes.']);
    expect(contents(book, ['Bob: a rune'])).toEqual(['Runes.']);
    expect(contents(book, ['Bob: running'])).toEqual([]);
    expect(contents(book, ['Alice: x', 'Bob: hello'])).toEqual(['Greeting.']);
    expect(contents(book, ['abc'])).toEqual([]);
    expect(contents(book, ['a.c'])).toEqual(['Literal dot.']);
  });

  test('V3 use_regex false keeps /…/ keys plain text', () => {
    const book: CharacterBook = { entries: [{ keys: ['/x/'], content: 'Slashes.', enabled: true, insertion_order: 1, use_regex: false }] };
    expect(contents(book, ['a/x/b'])).toEqual(['Slashes.']);
    expect(contents(book, ['x'])).toEqual([]);
  });

  test('regular expressions run in linear time and unsupported ones never match', () => {
    const book = stBook({ key: ['/(a+)+$/'], content: 'Catastrophic.' }, { key: ['/(?=dragon)d/'], content: 'Look-ahead.' }, { key: ['/(x)\\1/'], content: 'Back-reference.' });
    // A backtracking engine would take ages on this; RE2 answers at once (and there is no match).
    expect(contents(book, [`${'a'.repeat(19_000)}!`])).toEqual([]);
    expect(contents(book, ['aaa'])).toEqual(['Catastrophic.']);
    expect(contents(book, ['dragon xx'])).toEqual([]);
  });

  test('match_whole_words: a one-word key only between non-word characters', () => {
    const book = stBook({ key: ['elf'], matchWholeWords: true, content: 'Elves.' }, { key: ['old elf'], matchWholeWords: true, content: 'Old elves.' });
    expect(contents(book, ['myself'])).toEqual([]);
    expect(contents(book, ['an elf!'])).toEqual(['Elves.']);
    expect(contents(book, ['the old elf'])).toEqual(['Elves.', 'Old elves.']);
  });

  test('constant entries always; disabled entries never; entries with empty content never', () => {
    const book = stBook(
      { key: [], constant: true, content: 'Always.' },
      { key: ['wolf'], disable: true, content: 'Disabled.' },
      { key: ['wolf'], content: '   ' },
    );
    expect(contents(book, ['a wolf'])).toEqual(['Always.']);
  });

  test('@@activate always, @@dont_activate never, cut from the content; @@@ fallbacks apply when the decorator before is unknown', () => {
    const book = stBook(
      { key: [], content: '@@activate\nSecret.' },
      { key: ['moon'], content: '@@dont_activate\nMoons.' },
      { key: ['moon'], constant: true, content: '@@dont_activate\nConstant but not.' },
      { key: [], content: '@@risu_only 3\n@@@activate\nFell back.' },
      { key: [], content: '@@dont_activate\n@@activate\nBoth: activate wins.' },
    );
    expect(contents(book, ['the moon'])).toEqual(['Secret.', 'Fell back.', 'Both: activate wins.']);
  });

  test("scan depth: the book's scan_depth (default 2), an entry's own scan_depth, @@scan_depth", () => {
    const entries = [
      { key: ['harbor'], content: 'Default depth.' },
      { key: ['harbor'], scanDepth: 1, content: 'Depth 1.' },
      { key: ['harbor'], content: '@@scan_depth 3\nDecorator depth 3.' },
    ];
    const messages = (at: number) => Array.from({ length: 5 }, (_, i) => (i === at ? 'the harbor' : 'nothing'));
    expect(contents(stBook(...entries), messages(0))).toEqual(['Default depth.', 'Depth 1.', 'Decorator depth 3.']);
    expect(contents(stBook(...entries), messages(1))).toEqual(['Default depth.', 'Decorator depth 3.']);
    expect(contents(stBook(...entries), messages(2))).toEqual(['Decorator depth 3.']);
    expect(contents({ ...stBook(...entries), scan_depth: 4 }, messages(3))).toEqual(['Default depth.']);
  });

  test('probability: the entry is used when the roll is under it', () => {
    const book = stBook({ key: ['tavern'], probability: 50, useProbability: true, content: 'Rumour.' });
    expect(contents(book, ['the tavern'], { random: () => 0.49 })).toEqual(['Rumour.']);
    expect(contents(book, ['the tavern'], { random: () => 0.51 })).toEqual([]);
    // SillyTavern writes useProbability false for "always".
    expect(contents(stBook({ key: ['tavern'], probability: 10, useProbability: false, content: 'Always.' }), ['tavern'], { random: () => 0.99 })).toEqual(['Always.']);
  });

  test('inclusion groups: one winner, by weight; group_override wins; a member of several groups counts in each', () => {
    const book = stBook(
      { key: ['weather'], group: 'weather', groupWeight: 25, content: 'Rain.' },
      { key: ['weather'], group: 'weather', groupWeight: 75, content: 'Sun.' },
      { key: ['other'], group: 'elsewhere', content: 'Other.' },
    );
    // Scanned in order (highest first; equal orders keep the book's order): rain covers [0, 25).
    expect(contents(book, ['weather'], { random: () => 0.2 })).toEqual(['Rain.']);
    expect(contents(book, ['weather'], { random: () => 0.3 })).toEqual(['Sun.']);
    const withOverride = stBook(
      { key: ['weather'], group: 'weather', order: 1, groupOverride: true, content: 'Low override.' },
      { key: ['weather'], group: 'weather', order: 2, groupOverride: true, content: 'High override.' },
      { key: ['weather'], group: 'weather', order: 3, content: 'Plain.' },
    );
    expect(contents(withOverride, ['weather'], { random: () => 0 })).toEqual(['High override.']);
    const multi = stBook({ key: ['x'], group: 'a, b', content: 'AB.' }, { key: ['x'], group: 'b', order: 99, groupWeight: 0, content: 'B.' });
    expect(contents(multi, ['x'], { random: () => 0.5 })).toEqual(['AB.']);
  });

  test('recursive_scanning: called-up text calls up more, bounded; exclude_recursion, prevent_recursion, delay_until_recursion', () => {
    const entries = [
      { key: ['king'], content: 'King Aldric wears the Ember Crown.' },
      { key: ['crown'], content: 'The Ember Crown was forged in the Ashen Forge.' },
      { key: ['forge'], excludeRecursion: true, content: 'Excluded.' },
      { key: ['crown'], preventRecursion: true, content: 'Crowns glow with ash.' },
      { key: ['ash'], content: 'Ash falls in winter.' },
      { key: ['king'], delayUntilRecursion: true, content: 'Delayed.' },
      { key: ['ember'], delayUntilRecursion: true, content: 'Embers recall the war.' },
    ];
    expect(contents(stBook(...entries), ['the king'])).toEqual(['King Aldric wears the Ember Crown.']);
    const recursive = { ...stBook(...entries), recursive_scanning: true };
    expect(contents(recursive, ['the king'])).toEqual([
      'King Aldric wears the Ember Crown.',
      'The Ember Crown was forged in the Ashen Forge.',
      'Crowns glow with ash.',
      'Delayed.',
      'Embers recall the war.',
      'Ash falls in winter.',
    ]);
    // A chain longer than the bound stops there.
    const chain = Array.from({ length: 10 }, (_, i) => ({ key: [`link${i}`], content: `link${i + 1}` }));
    expect(contents({ ...stBook(...chain), recursive_scanning: true }, ['link0'])).toHaveLength(MAX_RECURSION_STEPS + 1);
  });

  test('{{char}} and {{user}} are filled in, in keys and content', () => {
    const book = stBook({ key: ['{{char}}'], content: '{{user}} trusts {{char}}; <USER> and <BOT>.' });
    expect(contents(book, ['hello Seraphina'])).toEqual(['Bob trusts Seraphina; Bob and Seraphina.']);
  });

  test('what an entry brings: position, order, priority, constant, its book and budget', () => {
    const book: CharacterBook = {
      token_budget: 300,
      entries: [{ keys: ['x'], content: 'X.', enabled: true, insertion_order: 7, priority: 3, position: 'before_char' } as LorebookEntry],
    };
    expect(activateLore([undefined, book], { messages: ['x'], charName: 'C', userName: 'U' })).toEqual([
      { content: 'X.', position: 'before_char', order: 7, priority: 3, constant: false, book: 1, bookBudget: 300 },
    ]);
  });
});

describe("a SillyTavern World Info export (tests/fixtures/sillytavern-world-info.json)", () => {
  const file = JSON.parse(readFileSync(new URL('../../tests/fixtures/sillytavern-world-info.json', import.meta.url), 'utf8'));
  const book = worldInfoToBook(file, 'Eldoria');
  // In activation order (highest order first), which says nothing of the prompt's order (lore/fitLore.ts).
  const fired = (...messages: string[]) => contents(book, messages, { random: () => 0.99 });
  const ALWAYS = ['Eldoria is a land of three moons; magic is rare and feared.', 'The narrator never reveals the prophecy.'];

  test('converted as SillyTavern writes a card: every entry, its logic and position in extensions', () => {
    expect(book.name).toBe('Eldoria');
    expect(book.entries).toHaveLength(15);
    expect(book.entries[0]).toMatchObject({ id: 0, keys: ['dragon'], secondary_keys: ['cave'], selective: true, insertion_order: 100, enabled: true, use_regex: true, position: 'after_char' });
    expect(book.entries[0]!.extensions).toMatchObject({ selectiveLogic: 2, position: 1, useProbability: true, probability: 100 });
    expect(book.entries[6]).toMatchObject({ constant: true, position: 'before_char' });
  });

  test('each rule of the export, as SillyTavern applies it', () => {
    expect(fired('Bob: hello')).toEqual(ALWAYS);
    expect(fired('Bob: a dragon!')).toEqual(['Dragons of Eldoria hunt over the open plains at dusk.', ...ALWAYS]);
    expect(fired('Bob: a dragon in its cave')).toEqual(['A dragon in its cave sleeps on a hoard of copper coins.', ...ALWAYS]);
    expect(fired('Bob: a silver sword')).toEqual(['Common swords of Eldoria are forged in Brennhold.', ...ALWAYS]);
    expect(fired('Bob: an enchanted silver sword')).toEqual(['The enchanted silver sword Duskbane cuts through shadow.', ...ALWAYS]);
    expect(fired('Bob: ancient RUNES')).toEqual(['Runes are carved by the Order of the Quiet Hand.', ...ALWAYS]);
    expect(fired('Bob: king aldric')).toEqual(ALWAYS);
    expect(fired('Bob: King Aldric')).toEqual(['King Aldric wears the Ember Crown.', ...ALWAYS]);
    expect(fired('Bob: a wolf, the moon')).toEqual(ALWAYS);
    expect(fired('Bob: the weather?')).toHaveLength(ALWAYS.length + 1);
    expect(fired('Bob: the weather?')[0]).toMatch(/^(Rain has fallen|The sun has not set)/);
    expect(fired('Bob: the tavern')).toEqual(ALWAYS);
    expect(contents(book, ['Bob: the tavern'], { random: () => 0.1 })).toContain('Rumour says the tavern keeper is a retired assassin.');
    expect(fired('Bob: by myself')).toEqual(ALWAYS);
    expect(fired('Bob: an elf')).toEqual(['Elves of Eldoria live in the Silverwood.', ...ALWAYS]);
    expect(fired('Bob: ok', 'Bob: the harbor')).toEqual(ALWAYS);
    expect(fired('Bob: the harbor', 'Bob: ok')).toEqual(['The harbor of Saltmere freezes in winter.', ...ALWAYS]);
  });

  test('positions: the constant world rule goes before the character, the rest after', () => {
    const all = activateLore([book], { messages: ['Bob: dragon'], charName: 'S', userName: 'Bob', random: () => 0.99 });
    expect(all.filter((a) => a.position === 'before_char').map((a) => a.content)).toEqual(['Eldoria is a land of three moons; magic is rare and feared.']);
  });
});
