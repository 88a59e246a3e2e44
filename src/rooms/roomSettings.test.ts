import {
  describeOrder,
  describeRoomSettings,
  isMuted,
  levelOf,
  maySendMessages,
  parseRoomSettings,
  requiredLevel,
  ROOM_SETTINGS_EVENT,
  talkativenessIn,
  withMuted,
} from './roomSettings.js';

describe('room settings content', () => {
  test('valid content is kept as is', () => {
    const content = { order: 'list', turn_budget: 6, muted: ['Bob'], talkativeness: { Ada: 0.3 } };
    expect(parseRoomSettings(content)).toEqual({ ok: true, settings: content });
    expect(parseRoomSettings({})).toEqual({ ok: true, settings: {} });
  });

  test('invalid content names every problem by key', () => {
    const parsed = parseRoomSettings({ order: 'random', turn_budget: -1, muted: 'Bob', talkativeness: { Ada: 2 }, colour: 'red' });
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'order: must be one of: mention, natural, list, pooled, manual',
        'turn_budget: must be >= 0',
        'muted: must be of type array',
        'talkativeness.Ada: must be <= 1',
        'colour: unknown key',
      ]),
    );
  });

  test('muting compares names case-insensitively and keeps the other keys', () => {
    const muted = withMuted({ order: 'list', muted: ['Ada'] }, 'Bob', true);
    expect(muted).toEqual({ order: 'list', muted: ['Ada', 'Bob'] });
    expect(isMuted(muted, 'bob')).toBe(true);
    expect(withMuted(withMuted(muted, 'ada', false), 'BOB', false)).toEqual({ order: 'list' });
    expect(isMuted(undefined, 'Ada')).toBe(false);
  });

  test('the description shows defaults as such', () => {
    expect(describeRoomSettings({}, 6)).toBe(
      'Order: mention (default) — a persona answers when it is mentioned or replied to; several mentioned answer in turn\nTurn budget: 6 (default) persona messages since a person last spoke\nMuted: nobody\nTalkativeness: default',
    );
    expect(describeRoomSettings({ order: 'pooled', turn_budget: 3, muted: ['Bob'], talkativeness: { Ada: 0.5 } }, 6)).toContain(
      'Order: pooled — one persona answers each message, at random among those that did not speak since the last one\nTurn budget: 3 persona messages since a person last spoke\nMuted: Bob\nTalkativeness: Ada 0.5',
    );
  });
});

describe('power levels', () => {
  test('changing needs the event level, else state_default, else 50', () => {
    expect(requiredLevel(null)).toBe(50);
    expect(requiredLevel({ state_default: 30 })).toBe(30);
    expect(requiredLevel({ state_default: 30, events: { [ROOM_SETTINGS_EVENT]: 75 } })).toBe(75);
  });

  test('a user has their own level, else users_default, else 0', () => {
    expect(levelOf({ users: { '@a:x': 100 }, users_default: 10 }, '@a:x')).toBe(100);
    expect(levelOf({ users: { '@a:x': 100 }, users_default: 10 }, '@b:x')).toBe(10);
    expect(levelOf(null, '@b:x')).toBe(0);
  });

  test('sending messages needs the m.room.message level, else events_default', () => {
    expect(maySendMessages(null, '@p:x')).toBe(true);
    expect(maySendMessages({ events_default: 0 }, '@p:x')).toBe(true);
    expect(maySendMessages({ events_default: 10 }, '@p:x')).toBe(false);
    expect(maySendMessages({ events_default: 10, users: { '@p:x': 10 } }, '@p:x')).toBe(true);
    expect(maySendMessages({ events: { 'm.room.message': 50 }, users_default: 20 }, '@p:x')).toBe(false);
  });
});

describe('talkativenessIn', () => {
  const ada = { name: 'Ada', traits: {} as Record<string, unknown> };
  test("the room's override (any case), else the persona's trait, else undefined", () => {
    expect(talkativenessIn({ talkativeness: { ada: 0.9 } }, { ...ada, traits: { talkativeness: 0.1 } })).toBe(0.9);
    expect(talkativenessIn({ talkativeness: { Bob: 0.9 } }, { ...ada, traits: { talkativeness: 0.1 } })).toBe(0.1);
    expect(talkativenessIn({}, { ...ada, traits: { talkativeness: '0.3' } })).toBe(0.3);
    expect(talkativenessIn(undefined, ada)).toBeUndefined();
    for (const bad of [2, -1, 'loud', '', null]) expect(talkativenessIn({}, { ...ada, traits: { talkativeness: bad } })).toBeUndefined();
  });
});

describe('describeOrder', () => {
  test('the mode, whether it is the default, and what it does, with the prefix in use', () => {
    expect(describeOrder({})).toBe('Order: mention (default) — a persona answers when it is mentioned or replied to; several mentioned answer in turn.');
    expect(describeOrder({ order: 'manual' }, '.')).toBe('Order: manual — personas speak only when asked with .next [Name].');
  });
});
