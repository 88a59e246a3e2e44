import { cardPng, solidPng } from '../../tests/fakes/pngImage.js';
import { cardFilename, cardJson, cardPng as exportPng, personaToCard, type ExportablePersona } from './cardExport.js';
import { greet } from './cardPrompt.js';
import { ImportError, MAX_IMPORT_BYTES } from './ImportError.js';
import { describePlan, planImport } from './importFile.js';
import { readPngText } from './pngText.js';

const v2 = (data: Record<string, unknown>) => ({ spec: 'chara_card_v2', spec_version: '2.0', data: { name: 'Seraphina', ...data } });
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

function importError(data: Buffer, filename?: string): ImportError {
  try {
    planImport(data, filename);
  } catch (err) {
    if (err instanceof ImportError) return err;
    throw err;
  }
  throw new Error('expected an ImportError');
}

const seraphina = v2({
  description: '{{char}} is a guardian of the forest. She protects <USER> and {{user}}.',
  personality: 'kind, protective',
  scenario: '{{user}} wakes up in {{Char}}\'s glade.',
  first_mes: '*{{char}} smiles at {{user}}.* You are safe now.',
  mes_example: '<START>\n{{user}}: Who are you?\n{{char}}: I am <BOT>.',
  system_prompt: '{{original}} Write as {{char}}.',
  post_history_instructions: 'Stay in character as {{char}}.',
  creator_notes: 'SECRET CREATOR NOTE',
  creator: 'someone',
  tags: ['fantasy'],
  alternate_greetings: ['Hello again, {{user}}.'],
  character_book: { name: 'Forest lore', entries: [{ keys: ['glade'], content: 'The glade is hidden.', enabled: true, insertion_order: 1, extra: 7 }] },
  extensions: { talkativeness: '0.5', depth_prompt: { depth: 4, prompt: 'x' } },
});

describe('V2 character cards', () => {
  test('the fields map into the prompt with {{char}}/{{user}} substituted, creator notes left out', () => {
    const plan = planImport(json(seraphina), 'seraphina.json');
    expect(plan.format).toBe('character card (chara_card_v2 2.0)');
    expect(plan.skipped).toEqual([]);
    const [draft] = plan.personas;
    expect(draft!.name).toBe('Seraphina');
    expect(draft!.prompt).toBe(
      [
        'Write as Seraphina.',
        'Seraphina is a guardian of the forest. She protects the user and the user.',
        "Seraphina's personality: kind, protective",
        "Scenario: the user wakes up in Seraphina's glade.",
        'Examples of how Seraphina writes (style only, not part of the conversation):\n<START>\nthe user: Who are you?\nSeraphina: I am Seraphina.',
        'Stay in character as Seraphina.',
      ].join('\n\n'),
    );
    expect(draft!.prompt).not.toContain('SECRET');
    expect(draft!.prompt).not.toContain('someone');
    expect(draft!.prompt).not.toContain('fantasy');
    // {{user}} stays for whoever opens the DM.
    expect(draft!.firstMessage).toBe('*Seraphina smiles at {{user}}.* You are safe now.');
    expect(greet(draft!.firstMessage!, 'Zoë $&')).toBe('*Seraphina smiles at Zoë $&.* You are safe now.');
    expect(draft!.avatar).toBeNull();
    // Kept for the export, unknown keys included.
    expect(draft!.card.character_book!.entries[0]).toMatchObject({ keys: ['glade'], content: 'The glade is hidden.', extra: 7 });
    expect(draft!.card).toMatchObject({ creator_notes: 'SECRET CREATOR NOTE', creator: 'someone', tags: ['fantasy'] });
    expect(draft!.card.extensions).toEqual({ talkativeness: '0.5', depth_prompt: { depth: 4, prompt: 'x' } });
    // SillyTavern's talkativeness is the persona's default for the natural order.
    expect(draft!.traits).toEqual({ talkativeness: 0.5 });
  });

  test('a PNG card: the JSON from the chara chunk, the image (without the card) as avatar', () => {
    const png = cardPng(seraphina);
    const plan = planImport(png, 'Seraphina.png');
    const draft = plan.personas[0]!;
    expect(draft.name).toBe('Seraphina');
    expect(draft.avatar).toMatchObject({ kind: 'image', contentType: 'image/png', filename: 'Seraphina.png' });
    const avatar = (draft.avatar as { data: Buffer }).data;
    expect(readPngText(avatar).size).toBe(0);
    expect(avatar.length).toBeLessThan(png.length);
  });

  test('V3: the ccv3 chunk is preferred, the nickname fills {{char}}', () => {
    const v3 = { spec: 'chara_card_v3', spec_version: '3.0', data: { name: 'Ōkami', nickname: 'Oka', description: '{{char}} runs.', assets: [] } };
    // Both chunks, as V3 writers do; the V2 one is a fallback with other text.
    const png = solidPng([1, 2, 3], 4, {
      chara: Buffer.from(JSON.stringify(v2({ description: 'old' }))).toString('base64'),
      ccv3: Buffer.from(JSON.stringify(v3)).toString('base64'),
    });
    const draft = planImport(png).personas[0]!;
    expect(draft).toMatchObject({ name: 'Ōkami', prompt: 'Oka runs.', source: 'chara_card_v3' });
  });

  test('V3 JSON with an icon asset URL takes it as the avatar', () => {
    const v3 = {
      spec: 'chara_card_v3',
      spec_version: '3.0',
      data: { name: '小月', description: 'moon', assets: [{ type: 'icon', name: 'main', uri: 'https://example.org/moon.png', ext: 'png' }] },
    };
    expect(planImport(json(v3)).personas[0]!.avatar).toEqual({ kind: 'url', url: 'https://example.org/moon.png' });
  });

  test('V1 cards (fields at the top level) are read too', () => {
    const draft = planImport(json({ name: 'Zoë', description: 'A {{char}}.', first_mes: 'Hi' })).personas[0]!;
    expect(draft).toMatchObject({ name: 'Zoë', prompt: 'A Zoë.', firstMessage: 'Hi', source: 'chara_card_v1' });
  });
});

/** A V2 card whose extensions hold arrays nested `depth` deep. */
const deepCard = (depth: number): string =>
  `{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"DeepJson","description":"x","extensions":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;

describe('bad input: a clear error naming the problem', () => {
  test.each([
    ['an oversized file', Buffer.alloc(MAX_IMPORT_BYTES + 1, 0x20), 'too_large', /^big\.json is 8\.0 MiB; imports are limited to 8\.0 MiB\.$/],
    ['an empty file', Buffer.alloc(0), 'empty', /^big\.json is empty\.$/],
    ['a PNG without a card', solidPng(), 'no_card', /no character card in it \(no 'chara' or 'ccv3' text chunk\)/],
    ['a truncated PNG', cardPng(seraphina).subarray(0, 60), 'bad_png', /^The PNG cannot be read: /],
    ['a chara chunk that is not JSON', solidPng(undefined, 4, { chara: 'bm90IGpzb24=' }), 'bad_json', /'chara' chunk is not base64-encoded JSON/],
    ['invalid JSON', Buffer.from('{"spec": '), 'bad_json', /^big\.json is neither a PNG nor valid JSON: /],
    ['a JSON array', json([1]), 'unknown_format', /holds JSON array, not a card or an export/],
    ['an unknown spec', json({ spec: 'chara_card_v9', data: {} }), 'unknown_format', /^Unknown card spec "chara_card_v9": supported are chara_card_v2, chara_card_v3\.$/],
    ['an unknown spec version', json({ spec: 'chara_card_v2', spec_version: '7.1', data: { name: 'x' } }), 'unknown_format', /spec_version "7\.1" for chara_card_v2: expected 2\.x/],
    ['a card without a name', json({ spec: 'chara_card_v2', spec_version: '2.0', data: { description: 'x' } }), 'invalid', /data\.name is required but missing/],
    ['a field of the wrong type', json(v2({ description: 42 })), 'invalid', /data\.description must be of type string/],
    ['a huge field', json(v2({ description: 'x'.repeat(100_001) })), 'invalid', /data\.description is longer than 100000 characters/],
    ['a name with a bidi override', json(v2({ name: 'Evil\u202Egnp.exe', description: 'x' })), 'bad_name', /contains invisible or control characters \(U\+202E\)/],
    ['a name with a newline', json(v2({ name: 'Ada\nadmin: yes', description: 'x' })), 'bad_name', /U\+000A/],
    ['a name with a zero-width space (displays like another)', json(v2({ name: 'Fe\u200Brn', description: 'x' })), 'bad_name', /invisible or control characters \(U\+200B\)/],
    ['a name with a Hangul filler', json(v2({ name: 'Fern\u3164', description: 'x' })), 'bad_name', /U\+3164/],
    ['a card nested 100,000 deep (refused before parsing)', Buffer.from(deepCard(100_000)), 'too_deep', /^big\.json nests 100,00\d levels deep; at most 64 are allowed\.$/],
    ['a PNG whose card nests too deep', solidPng(undefined, 4, { chara: Buffer.from(deepCard(1_000)).toString('base64') }), 'too_deep', /^The PNG's 'chara' chunk nests 1,00\d levels deep/],
    ['a card with nothing to prompt from', json(v2({ first_mes: 'hi' })), 'invalid', /nothing to build a prompt from/],
    ['some other JSON', json({ hello: 'world' }), 'unknown_format', /not a character card \(chara_card_v2\/v3\), a PluralKit export or a Tupperbox export/],
    ['a zip (charx)', Buffer.from('PK\x03\x04rest', 'latin1'), 'unknown_format', /zip archive/],
  ])('%s', (_what, data, code, message) => {
    const err = importError(data, 'big.json');
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});

describe('PluralKit and Tupperbox exports', () => {
  const pk = {
    version: 2,
    name: 'The Stars',
    members: [
      { id: 'abcde', name: 'zoe', display_name: 'Zoë', description: 'Loves tea.', pronouns: 'she/her', avatar_url: 'https://cdn.example/z.png', proxy_tags: [] },
      { id: 'bcdef', name: 'Ōkami', description: null, avatar_url: null },
      { id: 'cdefg', name: '小月', pronouns: 'they/them', avatar_url: 'javascript:alert(1)' },
      { id: 'defgh', name: '' },
      { id: 'efghi', name: 'zoë' },
      { id: 'fghij', name: 'Bad\u0007Bell' },
    ],
    groups: [],
    switches: [],
  };

  test('one persona per member; the unusable ones skipped with the reason', () => {
    const plan = planImport(json(pk), 'pk.json');
    expect(plan.format).toBe('PluralKit export (version 2)');
    expect(plan.personas.map((p) => p.name)).toEqual(['Zoë', 'Ōkami', '小月']);
    expect(plan.personas[0]).toMatchObject({
      prompt: 'You are Zoë, one of the system The Stars.\n\nYour pronouns are she/her.\n\nLoves tea.',
      avatar: { kind: 'url', url: 'https://cdn.example/z.png' },
      traits: { pronouns: 'she/her' },
      source: 'pluralkit',
    });
    expect(plan.personas[2]!.avatar).toBeNull();
    expect(plan.skipped).toEqual([
      { name: '(unnamed)', reason: 'it has no name' },
      { name: 'zoë', reason: 'another member of this export has the same name' },
      { name: 'Bad\u0007Bell', reason: 'the name contains invisible or control characters (U+0007)' },
    ]);
    expect(describePlan(plan)).toBe(
      'PluralKit export (version 2): 3 personas (Zoë, Ōkami, 小月)\n' +
        "skipped 3: (unnamed) (it has no name); zoë (another member of this export has the same name); Bad\u0007Bell (the name contains invisible or control characters (U+0007))",
    );
  });

  test('an unsupported PluralKit version is refused', () => {
    expect(importError(json({ version: 9, members: [] })).message).toBe('PluralKit export version 9 is not supported (versions 1 and 2 are).');
  });

  test('a PluralKit export whose members are not objects is refused, naming the path', () => {
    expect(importError(json({ version: 2, members: ['x'] })).message).toBe('Invalid PluralKit export: members[0] must be of type object.');
  });

  test('Tupperbox: nick is the name shown, the group goes into the prompt', () => {
    const tb = {
      tuppers: [
        { name: 'Mags', nick: 'Captain Mags', avatar_url: 'https://cdn.example/m.png', brackets: ['m:', ''], description: 'A pirate cook.', group_id: 7 },
        { name: 'Fern', avatar_url: '', brackets: ['f:', ''], description: null, group_id: null },
      ],
      groups: [{ id: 7, name: 'Crew' }],
    };
    const plan = planImport(json(tb));
    expect(plan.format).toBe('Tupperbox export');
    expect(plan.personas.map((p) => [p.name, p.prompt])).toEqual([
      ['Captain Mags', 'You are Captain Mags, one of the group Crew.\n\nA pirate cook.'],
      ['Fern', 'You are Fern.'],
    ]);
  });
});

describe('export', () => {
  const persona: ExportablePersona = {
    name: 'Seraphina',
    userId: '@persona_seraphina:example.org',
    prompt: 'You are Seraphina.',
    firstMessage: 'Hello {{user}}.',
    traits: { openness: 0.9 },
    model: 'm1',
    temperature: 0.5,
    avatarUrl: 'mxc://example.org/abc',
    card: { creator_notes: 'notes', character_book: { entries: [{ keys: ['a'], content: 'b', enabled: true, insertion_order: 0 }] }, extensions: { other: 1 } },
  };

  test('a V2 card with every required field; importing it again gives the same persona', () => {
    const card = personaToCard(persona);
    expect(card.spec).toBe('chara_card_v2');
    expect(Object.keys(card.data)).toEqual(
      expect.arrayContaining(['name', 'description', 'personality', 'scenario', 'first_mes', 'mes_example', 'creator_notes', 'system_prompt', 'post_history_instructions', 'alternate_greetings', 'tags', 'creator', 'character_version', 'extensions']),
    );
    const again = planImport(cardJson(card)).personas[0]!;
    expect(again).toMatchObject({
      name: 'Seraphina',
      prompt: 'You are Seraphina.',
      firstMessage: 'Hello {{user}}.',
      traits: { openness: 0.9 },
      model: 'm1',
      temperature: 0.5,
      avatar: { kind: 'url', url: 'mxc://example.org/abc' },
    });
    expect(again.card).toEqual(persona.card);
  });

  test('the PNG carries the card in a chara chunk and round-trips; a previous card in the image is replaced', () => {
    const card = personaToCard(persona);
    const png = exportPng(card, cardPng(v2({ description: 'stale' }), 'ccv3'))!;
    expect([...readPngText(png).keys()]).toEqual(['chara']);
    const again = planImport(png, cardFilename(persona.userId, 'png')).personas[0]!;
    expect(again).toMatchObject({ name: 'Seraphina', prompt: 'You are Seraphina.', avatar: { kind: 'image', filename: 'persona_seraphina.card.png' } });
  });

  test('a non-PNG avatar gives no PNG card', () => {
    expect(exportPng(personaToCard(persona), Buffer.from([0xff, 0xd8, 0xff, 0]))).toBeNull();
  });
});
