import { repliedToEventId, threadRootId } from '../matrix/relations.js';
import fc from 'fast-check';
import { foldName, foldText } from '../util/nameFolding.js';
import { isAddressed, isMentioned, linkedUserIds, mxidPattern, textMentionIndex, wholeWordPattern, type MentionTarget } from './mentions.js';

const ada: MentionTarget = { userId: '@persona_ada:localhost', names: ['Ada'] };

describe('isMentioned without m.mentions (text fallbacks)', () => {
  test.each([
    ['matrix.to pill', { body: 'Ada: hi', formatted_body: '<a href="https://matrix.to/#/@persona_ada:localhost">Ada</a>: hi' }],
    ['URL-encoded pill', { body: 'hi', formatted_body: '<a href="https://matrix.to/#/%40persona_ada%3Alocalhost">x</a> hi' }],
    ['pill with via and HTML-escaped &amp;', { body: 'hi', formatted_body: '<a href="https://matrix.to/#/@persona_ada:localhost?via=a&amp;via=b">x</a>' }],
    ['matrix: URI pill', { body: 'hi', formatted_body: '<a href="matrix:u/persona_ada:localhost?action=chat">x</a> hi' }],
    ['MXID in body', { body: 'ask @persona_ada:localhost.' }],
    ['name, other case', { body: 'what do you think, ADA?' }],
    ['name with @', { body: '@ada tell me' }],
  ])('%s counts', (_label, content) => expect(isMentioned(content, ada)).toBe(true));

  test.each([
    ['name inside another word', { body: 'Adam and Canada are here' }],
    ['someone else’s MXID sharing a prefix', { body: 'ask @persona_ada:localhost.org or @persona_adam:localhost' }],
    ['a pill to someone else', { body: 'hi', formatted_body: '<a href="https://matrix.to/#/@bob:localhost">Bob</a>' }],
    ['the name only in the quoted reply fallback', {
      body: '> <@bob:localhost> Ada said so\n\nreally?',
      formatted_body: '<mx-reply><blockquote>Ada said so</blockquote></mx-reply>really?',
      'm.relates_to': { 'm.in_reply_to': { event_id: '$x' } },
    }],
    ['nothing', { body: 'good morning' }],
  ])('%s does not count', (_label, content) => expect(isMentioned(content, ada)).toBe(false));

  test('a name as people type it: without regard to case or accents, at its place in the text', () => {
    const zoe = { userId: '@persona_zoe:localhost', names: ['Zoë'] };
    expect(isMentioned({ body: 'zoe, are you there?' }, zoe)).toBe(true);
    expect(isMentioned({ body: 'ZOË!' }, zoe)).toBe(true);
    expect(isMentioned({ body: 'Zoey, hi' }, zoe)).toBe(false);
    // Positions are in the original text, whatever the folding did before the name.
    expect(textMentionIndex({ body: 'Ærøskøbing ﬁnds zoe' }, zoe)).toBe('Ærøskøbing ﬁnds '.length);
    const okami = { userId: '@persona_okami:localhost', names: ['Ōkami'] };
    expect(isMentioned({ body: 'okami?' }, okami)).toBe(true);
  });

  test('a displayname with spaces and punctuation matches as a whole', () => {
    const target = { userId: '@persona_who:localhost', names: ['Dr. Who'] };
    expect(isMentioned({ body: 'hello dr. who!' }, target)).toBe(true);
    expect(isMentioned({ body: 'hello dr. whom' }, target)).toBe(false);
  });
});

describe('isMentioned with m.mentions (trusted)', () => {
  test('listed in user_ids counts even without any text', () =>
    expect(isMentioned({ body: 'hi', 'm.mentions': { user_ids: ['@persona_ada:localhost'] } }, ada)).toBe(true));

  test('present but empty: the name in the text does not count', () =>
    expect(isMentioned({ body: 'Ada is great', 'm.mentions': {} }, ada)).toBe(false));

  test('present listing someone else: a pill to Ada in the text does not count', () =>
    expect(
      isMentioned(
        {
          body: 'Ada',
          formatted_body: '<a href="https://matrix.to/#/@persona_ada:localhost">Ada</a>',
          'm.mentions': { user_ids: ['@bob:localhost'] },
        },
        ada,
      ),
    ).toBe(false));
});

describe('replies', () => {
  const reply = (eventId: string, extra: Record<string, unknown> = {}) => ({
    body: 'sure',
    'm.relates_to': { 'm.in_reply_to': { event_id: eventId }, ...extra },
  });

  test('a reply to the persona’s own message addresses it, even with empty m.mentions', () => {
    expect(isAddressed({ ...reply('$1'), 'm.mentions': {} }, ada, '@persona_ada:localhost')).toBe(true);
    expect(isAddressed(reply('$1'), ada, '@bob:localhost')).toBe(false);
  });

  test('the thread fallback reply is no reply', () => {
    expect(repliedToEventId(reply('$1'))).toBe('$1');
    expect(repliedToEventId(reply('$1', { rel_type: 'm.thread', event_id: '$root', is_falling_back: true }))).toBeNull();
    expect(repliedToEventId(reply('$1', { rel_type: 'm.thread', event_id: '$root', is_falling_back: false }))).toBe('$1');
    expect(repliedToEventId({ body: 'x', 'm.relates_to': 'nonsense' })).toBeNull();
  });

  test('threadRootId', () => {
    expect(threadRootId({ 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } })).toBe('$root');
    expect(threadRootId(reply('$1'))).toBeNull();
  });
});

describe('textMentionIndex and linkedUserIds', () => {
  test('positions follow the text', () => {
    const bob = { userId: '@persona_bob:localhost', names: ['Bob'] };
    const content = { body: 'Bob, then Ada' };
    expect(textMentionIndex(content, bob)).toBeLessThan(textMentionIndex(content, ada));
    expect(textMentionIndex({ body: 'none' }, ada)).toBe(-1);
  });

  test('the same name and MXID checked against message after message give each its own answer (patterns compiled once keep no state)', () => {
    const bodies = ['well, Ada?', 'Ada!', 'no one here', 'ping @persona_ada:localhost', 'ada', '@persona_ada:localhost.evil'];
    const expected = [6, 0, -1, 5, 0, -1];
    for (let round = 0; round < 3; round++) expect(bodies.map((body) => textMentionIndex({ body }, ada))).toEqual(expected);
  });

  test('one message read once for every persona checked: each still gets its own answer, and a changed text is read again', () => {
    const bob = { userId: '@persona_bob:localhost', names: ['Bob'] };
    const zoe = { userId: '@persona_zoe:localhost', names: ['Zoë'] };
    const content: Record<string, unknown> = {
      body: 'ZOE and Ada',
      formatted_body: 'ZOE and <a href="https://matrix.to/#/@persona_bob:localhost">Bob</a> and <a href="https://matrix.to/#/@persona_BOB:localhost">B</a>',
    };
    const pill = (content.formatted_body as string).indexOf('matrix.to');
    expect([ada, bob, zoe].map((p) => textMentionIndex(content, p))).toEqual([8, 'ZOE and Ada'.length + pill, 0]);
    content.body = 'Ada first, then zoe';
    expect([ada, bob, zoe].map((p) => textMentionIndex(content, p))).toEqual([0, 'Ada first, then zoe'.length + pill, 16]);
    content.formatted_body = 'nobody linked';
    expect(textMentionIndex(content, bob)).toBe(-1);
  });

  test('the substring check before the patterns never misses what the patterns alone would find', () => {
    const targets: MentionTarget[] = [ada, { userId: '@persona_kit:localhost', names: ['Kit', 'İlse'] }, { userId: '@persona_zoe:localhost', names: ['Zoë'] }];
    // The patterns alone, as textMentionIndex used them before the check (names and MXIDs only: no pills in these texts).
    const patternsAlone = (body: string, t: MentionTarget): number => {
      const found: number[] = [];
      const mxid = mxidPattern(t.userId).exec(body);
      if (mxid) found.push(mxid.index);
      const folded = foldText(body);
      for (const name of t.names) {
        const m = wholeWordPattern(foldName(name)).exec(folded.folded);
        if (m) found.push(folded.origin[m.index]!);
      }
      return found.length ? Math.min(...found) : -1;
    };
    const pieces = ['Ada', 'ADA', 'ａｄａ', 'Ａda', 'Kit', 'KİT', 'kıt', '\u212Ait', 'ſ', 'İlse', 'ilse', 'Zoe', 'ZOË', '@persona_ada:localhost', '@PERSONA_KIT:LOCALHOST', '@persona_zoe:localhost.x', ' ', ', ', '!', 'x'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 8 }), (parts) => {
        const body = parts.join('');
        for (const t of targets) expect(textMentionIndex({ body }, t)).toBe(patternsAlone(body, t));
      }),
      { numRuns: 500 },
    );
  });

  test('malformed percent-encoding is skipped, not thrown', () =>
    expect(linkedUserIds('<a href="https://matrix.to/#/%40bad%E0%A4%A">x</a> https://matrix.to/#/@ok:hs')).toEqual([
      { userId: '@ok:hs', index: expect.any(Number) },
    ]));
});
