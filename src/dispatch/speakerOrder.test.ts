import { chooseSpeakers, DEFAULT_TALKATIVENESS, type LastMessage, type OrderMode, type Speaker, type SpeakerOrderInput } from './speakerOrder.js';

const p = (name: string): Speaker => ({ name, userId: `@persona_${name.toLowerCase()}:localhost` });
const ada = p('Ada');
const bob = p('Bob');
const cy = p('Cy');
const roster = [ada, bob, cy];
const alice = '@alice:localhost';

/** Returns the given numbers in turn, then repeats the last one. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
};

const fromPerson = (body: string, extra: Partial<LastMessage> = {}): LastMessage => ({ sender: alice, fromPerson: true, content: { body }, ...extra });
const fromPersona = (who: Speaker, body: string, mentions: string[] = []): LastMessage => ({
  sender: who.userId,
  fromPerson: false,
  content: { body, 'm.mentions': { user_ids: mentions } },
});

function choose(mode: OrderMode, message: LastMessage | null, opts: Partial<SpeakerOrderInput<Speaker>> = {}): string[] {
  return chooseSpeakers<Speaker>({
    mode,
    trigger: 'message',
    present: roster,
    message,
    spokeSincePerson: new Set(),
    talkativeness: () => DEFAULT_TALKATIVENESS,
    random: sequence(0.99),
    ...opts,
  }).map((s) => s.name);
}

const next = (mode: OrderMode, message: LastMessage | null, opts: Partial<SpeakerOrderInput<Speaker>> = {}) => choose(mode, message, { trigger: 'next', ...opts });

describe('chooseSpeakers on a message: mention (default)', () => {
  test('only the mentioned answer, in the order named', () => {
    expect(choose('mention', fromPerson('hello all'))).toEqual([]);
    expect(choose('mention', fromPerson('Cy and Ada, hello'))).toEqual(['Cy', 'Ada']);
  });

  test('a person replying to a persona addresses it; a persona’s reply does not', () => {
    expect(choose('mention', fromPerson('and then?', { repliedToSender: bob.userId }))).toEqual(['Bob']);
    expect(choose('mention', { ...fromPersona(ada, 'indeed'), repliedToSender: bob.userId })).toEqual([]);
  });

  test('a persona never answers itself', () => {
    expect(choose('mention', fromPersona(ada, 'I, Ada, think so', [ada.userId]))).toEqual([]);
  });

  test('room displaynames count as names', () => {
    expect(choose('mention', fromPerson('hi countess'), { namesOf: (s) => (s === bob ? ['Bob', 'Countess'] : [s.name]) })).toEqual(['Bob']);
  });
});

describe('chooseSpeakers on a message: natural', () => {
  test('the named persona speaks, also by its name in the text when m.mentions leaves it out', () => {
    expect(choose('natural', fromPerson('what do you think, Bob?'))).toEqual(['Bob']);
    const intentionalElsewhere = { sender: alice, fromPerson: true, content: { body: 'Cy said so', 'm.mentions': { user_ids: [] } } };
    expect(choose('natural', intentionalElsewhere)).toEqual(['Cy']);
    expect(choose('mention', intentionalElsewhere)).toEqual([]);
  });

  test('nobody named: talkativeness decides, at most one speaks', () => {
    // The shuffle draws first (0.99, 0.99 keep the roster order), then each persona rolls.
    expect(choose('natural', fromPerson('hello'), { random: sequence(0.99, 0.99, 0.7, 0.2) })).toEqual(['Bob']);
    expect(choose('natural', fromPerson('hello'), { random: sequence(0.99, 0.99, 0.1) })).toEqual(['Ada']);
    expect(choose('natural', fromPerson('hello'), { random: sequence(0.99, 0.99, 0.6, 0.6, 0.6) })).toEqual([]);
  });

  test('talkativeness per persona: 0 never speaks unprompted, 1 always does', () => {
    const talk = (s: Speaker) => (s === cy ? 1 : 0);
    for (const r of [0, 0.3, 0.99]) expect(choose('natural', fromPerson('hello'), { talkativeness: talk, random: sequence(r) })).toEqual(['Cy']);
    expect(choose('natural', fromPerson('hello'), { talkativeness: () => 0, random: sequence(0) })).toEqual([]);
    expect(choose('natural', fromPerson('Ada?'), { talkativeness: () => 0 })).toEqual(['Ada']);
  });

  test('a persona’s message: only whom it names speaks, nobody by talkativeness', () => {
    expect(choose('natural', fromPersona(ada, 'I wonder what Cy thinks'))).toEqual(['Cy']);
    expect(choose('natural', fromPersona(ada, 'hello'), { talkativeness: () => 1, random: sequence(0) })).toEqual([]);
  });
});

describe('chooseSpeakers on a message: list, pooled, manual', () => {
  test('list: every present persona answers a person, in roster order', () => {
    expect(choose('list', fromPerson('hello'))).toEqual(['Ada', 'Bob', 'Cy']);
    expect(choose('list', fromPerson('Cy first'))).toEqual(['Ada', 'Bob', 'Cy']);
    expect(choose('list', fromPerson('hello'), { present: [cy, ada] })).toEqual(['Cy', 'Ada']);
  });

  test('list: a persona’s message only makes the one it mentions answer', () => {
    expect(choose('list', fromPersona(ada, 'and Bob?', [bob.userId]))).toEqual(['Bob']);
    expect(choose('list', fromPersona(ada, 'hello'))).toEqual([]);
  });

  test('pooled: one, at random among those that did not speak since the person’s last message', () => {
    const spoke = new Set([ada.userId]);
    expect(choose('pooled', fromPerson('hello'), { spokeSincePerson: spoke, random: sequence(0) })).toEqual(['Bob']);
    expect(choose('pooled', fromPerson('hello'), { spokeSincePerson: spoke, random: sequence(0.99) })).toEqual(['Cy']);
    // Everyone spoke: anyone may.
    const all = new Set(roster.map((s) => s.userId));
    expect(choose('pooled', fromPerson('hello'), { spokeSincePerson: all, random: sequence(0) })).toEqual(['Ada']);
  });

  test('manual: nobody answers a message, not even a mentioned persona', () => {
    expect(choose('manual', fromPerson('Ada, Bob?'))).toEqual([]);
    expect(choose('manual', fromPersona(ada, 'Bob?', [bob.userId]))).toEqual([]);
  });

  test('nobody present, or no message: nobody answers', () => {
    for (const mode of ['mention', 'natural', 'list', 'pooled', 'manual'] as const) {
      expect(choose(mode, fromPerson('Ada?'), { present: [] })).toEqual([]);
      expect(choose(mode, null)).toEqual([]);
    }
  });
});

describe('chooseSpeakers for the next turn (!next, a scene)', () => {
  test('always exactly one when anyone is present, never the last sender unless alone', () => {
    for (const mode of ['mention', 'natural', 'list', 'pooled', 'manual'] as const) {
      for (const r of [0, 0.5, 0.99]) {
        const chosen = next(mode, fromPersona(bob, 'hm'), { random: sequence(r), talkativeness: () => 0 });
        expect(chosen).toHaveLength(1);
        expect(chosen).not.toContain('Bob');
      }
      expect(next(mode, fromPersona(bob, 'hm'), { present: [bob] })).toEqual(['Bob']);
      expect(next(mode, null, { present: [] })).toEqual([]);
    }
  });

  test('list (and mention, manual without a named persona): round after round in roster order', () => {
    for (const mode of ['list', 'mention', 'manual'] as const) {
      expect(next(mode, fromPerson('go on'))).toEqual(['Ada']);
      expect(next(mode, fromPersona(ada, 'one'), { spokeSincePerson: new Set([ada.userId]) })).toEqual(['Bob']);
      expect(next(mode, fromPersona(bob, 'two'), { spokeSincePerson: new Set([ada.userId, bob.userId]) })).toEqual(['Cy']);
      const all = new Set(roster.map((s) => s.userId));
      expect(next(mode, fromPersona(cy, 'three'), { spokeSincePerson: all })).toEqual(['Ada']);
      expect(next(mode, fromPersona(ada, 'four'), { spokeSincePerson: all })).toEqual(['Bob']);
    }
  });

  test('mention and natural: whom the last message names goes first', () => {
    expect(next('mention', fromPersona(ada, 'Cy?', [cy.userId]))).toEqual(['Cy']);
    expect(next('natural', fromPersona(ada, 'what would Cy say'))).toEqual(['Cy']);
  });

  test('natural: nobody named: talkativeness, else one at random', () => {
    expect(next('natural', fromPerson('so?'), { talkativeness: (s) => (s === bob ? 1 : 0), random: sequence(0.5) })).toEqual(['Bob']);
    expect(next('natural', fromPerson('so?'), { talkativeness: () => 0, random: sequence(0.99) })).toEqual(['Cy']);
  });

  test('pooled: at random among those that have not spoken since the person', () => {
    const spoke = new Set([ada.userId, bob.userId]);
    expect(next('pooled', fromPersona(bob, 'hm'), { spokeSincePerson: spoke, random: sequence(0) })).toEqual(['Cy']);
  });
});
