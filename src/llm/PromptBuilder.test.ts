import { BUDGET_SHARES, buildPrompt, guaranteedRecentTokens, type PromptInput, type PromptMessage, type RecalledMessage } from './PromptBuilder.js';
import { estimateMessageTokens, estimateTokens, REPLY_PRIMING_TOKENS, truncateToTokens } from './tokens.js';

const ada = { name: 'Ada', userId: '@persona_ada:hs', prompt: 'You are Ada, a mathematician.', traits: { openness: 0.9, humour: 'dry' } };
const msg = (sender: string, name: string, body: string, msgtype = 'm.text'): PromptMessage => ({ sender, name, body, msgtype });
const alice = (body: string) => msg('@alice:hs', 'Alice', body);
const bob = (body: string) => msg('@bob:hs', 'Bob', body);
const adaSays = (body: string) => msg(ada.userId, 'Ada', body);

const input = (over: Partial<PromptInput> = {}): PromptInput => ({
  persona: ada,
  isDirect: false,
  roomName: 'Maths',
  participants: ['Alice', 'Bob'],
  inThread: false,
  chapters: [],
  history: [alice('hi Ada'), adaSays('Hello Alice.'), bob('what is 2+2?')],
  budgetTokens: 4096,
  ...over,
});

/** Recomputed independently of the builder's own bookkeeping. */
const sizeOf = (messages: Array<{ content: string }>) => messages.reduce((n, m) => n + estimateMessageTokens(m.content), REPLY_PRIMING_TOKENS);

describe('buildPrompt', () => {
  test('images go with their message, placed after its line in the merged turn, and count against the budget', () => {
    const image = { url: 'data:image/jpeg;base64,AAAA', tokens: 765 };
    const history = [{ ...alice('look [image: cat.png]'), images: [image] }, bob('nice cat'), alice('what colour is it?')];
    const built = buildPrompt(input({ history, senseNotes: ['You cannot listen to audio.'] }));
    const turn = built.messages[1]!;
    expect(turn.content).toBe('Alice: look [image: cat.png]\nBob: nice cat\nAlice: what colour is it?');
    expect(turn.images).toEqual([{ url: image.url, tokens: 765, at: 'Alice: look [image: cat.png]'.length }]);
    expect(built.messages[0]!.content).toContain('You cannot listen to audio.');
    const withoutImage = buildPrompt(input({ history: history.map(({ images: _images, ...m }) => m), senseNotes: ['You cannot listen to audio.'] }));
    expect(built.estimatedTokens - withoutImage.estimatedTokens).toBe(765);
    // A budget with no room for the image keeps the text of its message.
    const tight = buildPrompt(input({ history, budgetTokens: 600 }));
    expect(tight.messages.some((m) => m.images?.length)).toBe(false);
    expect(tight.estimatedTokens).toBeLessThanOrEqual(600);
  });

  test('system message first (prompt, traits, room and members), then the turns in order', () => {
    const { messages } = buildPrompt(input());
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    const system = messages[0]!.content;
    expect(system.startsWith('You are Ada, a mathematician.')).toBe(true);
    expect(system).toContain('Your traits: openness: 0.9; humour: dry.');
    expect(system).toContain('You are in the room "Maths" with Alice and Bob.');
    expect(system.indexOf('mathematician')).toBeLessThan(system.indexOf('traits'));
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Alice: hi Ada' },
      { role: 'assistant', content: 'Hello Alice.' },
      { role: 'user', content: 'Bob: what is 2+2?' },
    ]);
  });

  test('the talkativeness trait (for the natural order) is not shown to the model', () => {
    const system = buildPrompt(input({ persona: { ...ada, traits: { humour: 'dry', talkativeness: 0.9 } } })).messages[0]!.content;
    expect(system).toContain('Your traits: humour: dry.');
    expect(system).not.toContain('talkativeness');
  });

  test('a DM names the other party; a thread says so', () => {
    const system = buildPrompt(input({ isDirect: true, participants: ['Alice'], inThread: true })).messages[0]!.content;
    expect(system).toContain('This is a private conversation with Alice. The messages below are a thread in that room.');
  });

  test('a group room says which of those present are personas and which are people', () => {
    const system = (over: Partial<PromptInput>) => buildPrompt(input(over)).messages[0]!.content;
    expect(system({ participants: ['Alice', 'Bo', 'Bob', 'Cy'], personaParticipants: ['Bo', 'Cy'] })).toContain(
      'You are in the room "Maths" with Alice, Bo, Bob and Cy. Bo and Cy are personas (AI characters like you); Alice and Bob are people.',
    );
    expect(system({ participants: ['Alice', 'Bo'], personaParticipants: ['Bo'] })).toContain('Bo is a persona (an AI character like you); Alice is a person.');
    expect(system({ participants: ['Alice', 'Bob'], personaParticipants: [] })).toContain('with Alice and Bob. Alice and Bob are people.');
    expect(system({ participants: ['Bo'], personaParticipants: ['Bo'] })).toContain('with Bo. Bo is a persona (an AI character like you).');
    // Without the information, nothing is claimed.
    expect(system({ participants: ['Alice', 'Bob'] })).not.toMatch(/person|people/);
  });

  test('big rooms name the first members and count the rest', () => {
    const participants = Array.from({ length: 25 }, (_, i) => `User${i}`);
    expect(buildPrompt(input({ participants })).messages[0]!.content).toContain('User18, User19 and 5 others.');
  });

  test('consecutive messages of others merge into one user turn, each line named', () => {
    const { messages } = buildPrompt(input({ history: [alice('one'), bob('two'), msg('@carol:hs', 'Carol', 'waves', 'm.emote')] }));
    expect(messages[1]).toEqual({ role: 'user', content: 'Alice: one\nBob: two\nCarol: *waves*' });
    expect(messages).toHaveLength(2);
  });

  test('other personas are named user turns; only this persona speaks as the assistant', () => {
    const { messages } = buildPrompt(input({ history: [msg('@persona_bo:hs', 'Bo', 'I am Bo'), adaSays('Hi Bo'), alice('hm')] }));
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Bo: I am Bo' },
      { role: 'assistant', content: 'Hi Bo' },
      { role: 'user', content: 'Alice: hm' },
    ]);
  });

  test('two senders with the same display name are told apart by user id', () => {
    const { messages } = buildPrompt(input({ history: [msg('@sam:a', 'Sam', 'x'), msg('@sam:b', 'Sam', 'y')] }));
    expect(messages[1]!.content).toBe('Sam (@sam:a): x\nSam (@sam:b): y');
  });

  test("lorebook entries sit around the persona's prompt (before_char before it, after_char after it); people's own descriptions come before the notes, style examples after them", () => {
    const lore = (content: string, position: 'before_char' | 'after_char', order: number) => ({ content, position, order, priority: 0, constant: false, book: 0 });
    const { messages, notesIncluded, loreIncluded, examplesIncluded } = buildPrompt(
      input({
        lore: [lore('The glade hides a spring.', 'after_char', 2), lore('The year is 1820.', 'before_char', 1), lore('Wolves roam.', 'after_char', 1)],
        people: [{ name: 'Bob', text: 'I am a botanist.' }],
        notes: ['Bob is allergic to cats.'],
        examples: ['Two and two make four, as surely as spring follows winter.'],
        chapters: ['They met.'],
      }),
    );
    const system = messages[0]!.content;
    expect(system.startsWith('The year is 1820.\n\nYou are Ada, a mathematician.\n\nWolves roam.\nThe glade hides a spring.\n\nYour traits')).toBe(true);
    expect(system).toContain('What people here told you about themselves:\nAbout Bob: I am a botanist.');
    expect(system).toContain('that people liked (examples of your style only, not part of this conversation):\n- Two and two make four');
    const order = ['About Bob', 'Notes you were asked', 'people liked', 'Summary of the earlier'].map((s) => system.indexOf(s));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect([notesIncluded, loreIncluded, examplesIncluded]).toEqual([1, 3, 1]);
    const plain = buildPrompt(input()).messages[0]!.content;
    expect(plain).not.toContain('told you about themselves');
    expect(plain).not.toContain('people liked');
  });

  test('lorebook entries, style examples and descriptions stay within their shares of the budget', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ content: `Lore fact number ${i} about the valley and its rivers.`, position: 'after_char' as const, order: i, priority: 0, constant: false, book: 0 }));
    const examples = Array.from({ length: 50 }, (_, i) => `A fine answer number ${i}, written with care and wit.`);
    const built = buildPrompt(input({ lore: many, examples, budgetTokens: 2000 }));
    const system = built.messages[0]!.content;
    const left = 2000 - REPLY_PRIMING_TOKENS - estimateMessageTokens(system.slice(0, 0));
    expect(built.loreIncluded).toBeGreaterThan(0);
    expect(built.loreIncluded).toBeLessThan(200);
    const loreText = many.slice(0).filter((l) => system.includes(l.content)).map((l) => `\n${l.content}`).join('');
    expect(estimateTokens(loreText)).toBeLessThanOrEqual(left * BUDGET_SHARES.lore);
    // The most important (highest order) entries are the ones kept.
    expect(system).toContain('Lore fact number 199 ');
    expect(system).not.toContain('Lore fact number 0 ');
    expect(built.examplesIncluded).toBeGreaterThan(0);
    expect(built.examplesIncluded).toBeLessThan(50);
    expect(system).toContain('A fine answer number 0,');
    expect(built.estimatedTokens).toBeLessThanOrEqual(2000);
  });

  test('summaries go into the system message, oldest first, before the recent turns', () => {
    const { messages, chaptersIncluded } = buildPrompt(input({ chapters: ['Alice introduced herself.', 'They discussed primes.'] }));
    expect(chaptersIncluded).toBe(2);
    expect(messages[0]!.content).toMatch(/Summary of the earlier conversation, oldest first:\nAlice introduced herself.\nThey discussed primes.$/);
  });

  test('with a long history only the newest messages that fit are kept, within budget', () => {
    const history = Array.from({ length: 401 }, (_, i) => (i % 2 ? adaSays(`reply number ${i}`) : alice(`message number ${i} `.repeat(5))));
    const built = buildPrompt(input({ history, budgetTokens: 600 }));
    expect(built.estimatedTokens).toBeLessThanOrEqual(600);
    expect(sizeOf(built.messages)).toBeLessThanOrEqual(600);
    expect(built.historyOmitted).toBeGreaterThan(300);
    expect(built.historyIncluded + built.historyOmitted).toBe(401);
    const text = built.messages.map((m) => m.content).join('\n');
    expect(text).toContain('message number 398');
    expect(text).toContain('reply number 399');
    expect(text).not.toContain('message number 0 ');
    // What is kept is the contiguous newest tail.
    expect(built.messages.at(-1)!.content).toBe(`Alice: ${'message number 400 '.repeat(5)}`);
  });

  test('summaries take at most a third of the budget and the newest chapters win', () => {
    const chapters = Array.from({ length: 30 }, (_, i) => `Chapter ${i}: ${'things happened. '.repeat(10)}`);
    const built = buildPrompt(input({ chapters, budgetTokens: 900 }));
    const system = built.messages[0]!.content;
    expect(built.chaptersIncluded).toBeGreaterThan(0);
    expect(built.chaptersIncluded).toBeLessThan(30);
    expect(system).toContain('Chapter 29:');
    expect(system).not.toContain('Chapter 0:');
    expect(estimateTokens(system.slice(system.indexOf('Summary of')))).toBeLessThanOrEqual(300);
    expect(sizeOf(built.messages)).toBeLessThanOrEqual(900);
  });

  test('an oversized message being answered is cut, not dropped, and the budget holds', () => {
    const built = buildPrompt(input({ history: [alice('earlier'), bob('x'.repeat(20_000))], budgetTokens: 512 }));
    const last = built.messages.at(-1)!;
    expect(last.content.startsWith('Bob: xxxx')).toBe(true);
    expect(last.content.endsWith('[…]')).toBe(true);
    expect(sizeOf(built.messages)).toBeLessThanOrEqual(512);
  });

  test('an oversized persona prompt is cut to half the budget', () => {
    const persona = { ...ada, prompt: 'You are verbose. '.repeat(2000) };
    const built = buildPrompt(input({ persona, budgetTokens: 1000 }));
    expect(sizeOf(built.messages)).toBeLessThanOrEqual(1000);
    expect(built.messages.at(-1)!.content).toBe('Bob: what is 2+2?');
  });

  test('notes and recalled messages go into the system message with who said what and when, oldest first', () => {
    const recalled: RecalledMessage[] = [
      { id: 7, ts: Date.UTC(2026, 10, 2, 9, 30), ...alice('my cat is called Biscuit') },
      { id: 3, ts: Date.UTC(2026, 10, 1, 8, 0), ...bob('I have a cat allergy') },
    ];
    const history = [{ id: 20, ...alice('what was my cat called?') }];
    const built = buildPrompt(input({ history, notes: ['Alice is vegetarian.'], chapters: ['They met.'], recalled }));
    const system = built.messages[0]!.content;
    expect(system).toMatch(
      /Notes you were asked to keep about this conversation:\n- Alice is vegetarian\.\n\nSummary of the earlier conversation, oldest first:\nThey met\.\n\n/,
    );
    expect(system).toMatch(
      /Earlier in this room \(older messages that may be relevant, oldest first\):\n\[2026-11-01 08:00 UTC\] Bob: I have a cat allergy\n\[2026-11-02 09:30 UTC\] Alice: my cat is called Biscuit$/,
    );
    expect(built.notesIncluded).toBe(1);
    expect(built.recalledIncluded).toEqual([7, 3]);
  });

  test('a recalled message that is among the recent turns is not repeated', () => {
    const history = [{ id: 5, ...alice('the code is 1234') }, { id: 6, ...bob('what was the code?') }];
    const recalled = [{ id: 5, ts: 0, ...alice('the code is 1234') }];
    const built = buildPrompt(input({ history, recalled }));
    expect(built.recalledIncluded).toEqual([]);
    expect(built.messages[0]!.content).not.toContain('Earlier in this room');
    expect(built.messages.map((m) => m.content).join('\n').match(/the code is 1234/g)).toHaveLength(1);
  });

  test('with a long history, recalled messages keep their share and are all older than the recent turns', () => {
    const history = Array.from({ length: 400 }, (_, i) => ({ id: i + 1000, ...alice(`recent message ${i} `.repeat(3)) }));
    const recalled = Array.from({ length: 20 }, (_, i) => ({ id: 1390 - i * 50, ts: 0, ...bob(`old fact ${i} `.repeat(8)) }));
    const built = buildPrompt(input({ history, recalled, budgetTokens: 2000 }));
    expect(sizeOf(built.messages)).toBeLessThanOrEqual(2000);
    expect(built.recalledIncluded.length).toBeGreaterThan(0);
    const oldestRecent = 1000 + built.historyOmitted;
    expect(built.recalledIncluded.every((id) => id < oldestRecent)).toBe(true);
    // Best first: the first candidates that are older than the recent turns.
    const eligible = recalled.filter((r) => r.id < oldestRecent).map((r) => r.id);
    expect(built.recalledIncluded).toEqual(eligible.slice(0, built.recalledIncluded.length));
    const system = built.messages[0]!.content;
    expect(estimateTokens(system.slice(system.indexOf('\n\nEarlier in this room')))).toBeLessThanOrEqual(2000 * BUDGET_SHARES.recalled);
  });

  test('the recent turns get at least the guaranteed share whatever notes, summaries and recalled messages there are', () => {
    const persona = { ...ada, prompt: 'Persona prompt. '.repeat(100) };
    const history = Array.from({ length: 300 }, (_, i) => ({ id: i, ...alice(`line ${i}`) }));
    const many = (label: string) => Array.from({ length: 50 }, (_, i) => `${label} ${i} ${'words '.repeat(30)}`);
    const built = buildPrompt(
      input({
        persona,
        history,
        budgetTokens: 3000,
        notes: many('note'),
        chapters: many('chapter'),
        recalled: many('recalled').map((text, i) => ({ id: -1 - i, ts: 0, ...bob(text) })),
      }),
    );
    // As the builder accounts for a line (turn framing and a joining newline each), so merging cannot hide a shortfall.
    const lineCost = (m: PromptMessage) => estimateMessageTokens(`${m.name}: ${m.body}`) + 1;
    const recentTokens = history.slice(-built.historyIncluded).reduce((n, m) => n + lineCost(m), 0);
    expect(recentTokens).toBeGreaterThanOrEqual(guaranteedRecentTokens(3000, estimateTokens(persona.prompt)) - lineCost(history[0]!));
    expect(built.notesIncluded).toBeGreaterThan(0);
    expect(built.chaptersIncluded).toBeGreaterThan(0);
    expect(built.recalledIncluded.length).toBeGreaterThan(0);
  });

  test('never exceeds the budget, whatever the mix (randomised)', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const words = ['hello', 'Ünïcödé', '数学', '🙂', 'a', 'longerword', '\n', 'x'.repeat(50)];
    const text = (n: number) => Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(' ');
    for (let run = 0; run < 200; run++) {
      const history = Array.from({ length: 1 + Math.floor(rand() * 60) }, () =>
        rand() < 0.3 ? adaSays(text(Math.floor(rand() * 80))) : alice(text(Math.floor(rand() * 300))),
      );
      const budgetTokens = 256 + Math.floor(rand() * 3000);
      const withIds = history.map((m, i) => ({ ...m, id: 1000 + i * 3 }));
      // Recalled candidates anywhere in the id range, some of them also in the history.
      const recalled = Array.from({ length: Math.floor(rand() * 12) }, () => {
        const id = Math.floor(rand() * (1000 + history.length * 3));
        return { id, ts: Math.floor(rand() * 2e12), ...bob(text(Math.floor(rand() * 120))) };
      });
      const useIds = rand() < 0.5;
      const built = buildPrompt(
        input({
          history: useIds ? withIds : history,
          budgetTokens,
          chapters: Array.from({ length: Math.floor(rand() * 5) }, () => text(200)),
          notes: Array.from({ length: Math.floor(rand() * 6) }, () => text(Math.floor(rand() * 60))),
          recalled,
          persona: { ...ada, prompt: text(400) },
        }),
      );
      expect(sizeOf(built.messages)).toBeLessThanOrEqual(budgetTokens);
      expect(built.estimatedTokens).toBe(sizeOf(built.messages));
      expect(built.historyIncluded).toBeGreaterThanOrEqual(1);
      expect(built.historyIncluded + built.historyOmitted).toBe(history.length);
      expect(new Set(built.recalledIncluded).size).toBe(built.recalledIncluded.length);
      const recalledIds = new Set(recalled.map((r) => r.id));
      expect(built.recalledIncluded.every((id) => recalledIds.has(id))).toBe(true);
      // With ids, every recalled message is older than every recent turn in the prompt.
      if (useIds) {
        const oldestRecent = withIds[withIds.length - built.historyIncluded]!.id;
        expect(built.recalledIncluded.every((id) => id < oldestRecent)).toBe(true);
      }
    }
  });
});

describe('token estimate', () => {
  test('is pessimistic for prose, digits and symbols, and counts non-ASCII characters by their UTF-8 length', () => {
    expect(estimateTokens('The quick brown fox jumps over the lazy dog.')).toBeGreaterThanOrEqual(11);
    expect(estimateTokens('1729')).toBe(4);
    expect(estimateTokens('{}();')).toBe(5);
    expect(estimateTokens('déjà')).toBe(3);
    expect(estimateTokens('数学很有趣')).toBe(10);
    expect(estimateTokens('🎉🚀')).toBe(8);
  });

  test('counts per code point: a surrogate pair is one astral character, a lone surrogate a BMP one, whatever surrounds it', () => {
    // The rule as first written (per code point, a regular expression per ASCII character).
    const byCodePoint = (text: string) => {
      let cost = 0;
      for (const ch of text) {
        const code = ch.codePointAt(0)!;
        if (code < 128) cost += /[A-Za-z\s]/.test(ch) ? 0.3 : 1;
        else if (code < 0x800) cost += 1;
        else if (code < 0x10000) cost += 2;
        else cost += 4;
      }
      return Math.ceil(cost);
    };
    const pieces = ['a', 'Z', ' ', '\t', '\n', '7', '{', '\u007f', 'é', 'ж', '数', '🎉', '\ud83c', '\udf89', '\uffff', '\u0800', '\u07ff'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 500; n++) {
      const text = Array.from({ length: next() % 40 }, () => pieces[next() % pieces.length]).join('');
      expect(estimateTokens(text)).toBe(byCodePoint(text));
    }
    expect(estimateTokens('\ud83c')).toBe(2);
    expect(estimateTokens('x\udf89\ud83c')).toBe(5);
    expect(estimateTokens('🎉\ud83c')).toBe(6);
  });

  test('truncation stays within the limit and marks the cut', () => {
    const cut = truncateToTokens('word '.repeat(1000), 50);
    expect(estimateTokens(cut)).toBeLessThanOrEqual(50);
    expect(cut.endsWith(' […]')).toBe(true);
    expect(truncateToTokens('short', 50)).toBe('short');
  });
});
