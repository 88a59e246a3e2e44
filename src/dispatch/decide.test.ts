import { decideResponders, whyNotATrigger } from './decide.js';
import type { RoomView } from '../pipeline/InboundEvent.js';
import { directoryOf, message, persona } from '../../tests/support/dispatchFixtures.js';

const ada = persona('Ada');
const bob = persona('Bob');
const alice = '@alice:localhost';
const carol = '@carol:localhost';
const personas = directoryOf(ada, bob);
const personaOf = (id: string) => personas.byUserId(id);

const room = (joined: string[], names: Record<string, string> = {}): RoomView => ({ joined, displayName: (id) => names[id] });
const names = (decision: { responders: { name: string }[] }) => decision.responders.map((p) => p.name);

describe('whyNotATrigger', () => {
  const now = Date.now();
  const maxAge = 300_000;
  test.each([
    ['a plain message', message(alice, 'hi'), null],
    ['a notice', message(alice, { msgtype: 'm.notice', body: 'hi' }), 'notice'],
    ['an edit', message(alice, { body: '* hi', 'm.relates_to': { rel_type: 'm.replace', event_id: '$x' } }), 'edit'],
    ['a redaction', { ...message(alice, 'x'), type: 'm.room.redaction', redacts: '$x', content: {} }, 'not a message'],
    ['a state event', { ...message(alice, 'x'), type: 'm.room.name', state_key: '', content: { name: 'n' } }, 'not a message'],
    ['a message with a state_key', { ...message(alice, 'x'), state_key: '' }, 'not a message'],
    ['a reaction', { ...message(alice, 'x'), type: 'm.reaction' }, 'not a message'],
    ['a redacted message', message(alice, {}, { unsigned: { redacted_because: {} } }), 'redacted'],
    ['a message without body', message(alice, { body: 42 }), 'no body'],
    ['an old message', message(alice, 'hi', { origin_server_ts: now - maxAge - 1 }), 'too old'],
    ['a message just inside the age limit', message(alice, 'hi', { origin_server_ts: now - maxAge }), null],
  ])('%s', (_label, event, expected) => expect(whyNotATrigger(event, now, maxAge)).toBe(expected));
});

describe('decideResponders', () => {
  test('two members, a person and a persona: the persona answers everything', () => {
    const decision = decideResponders({ event: message(alice, 'hello'), room: room([alice, ada.userId]), personaOf, repliedToSender: null });
    expect(names(decision)).toEqual(['Ada']);
    expect(decision.isDirect).toBe(true);
  });

  test('a persona never answers itself, even alone with a person', () => {
    const decision = decideResponders({ event: message(ada.userId, 'hello Ada'), room: room([alice, ada.userId]), personaOf, repliedToSender: null });
    expect(names(decision)).toEqual([]);
  });

  test('two personas alone in a room do not answer each other unmentioned', () => {
    const decision = decideResponders({ event: message(ada.userId, 'hello'), room: room([bob.userId, ada.userId]), personaOf, repliedToSender: null });
    expect(names(decision)).toEqual([]);
  });

  test('three members: silent unless mentioned', () => {
    const r = room([alice, carol, ada.userId]);
    expect(names(decideResponders({ event: message(alice, 'hello all'), room: r, personaOf, repliedToSender: null }))).toEqual([]);
    const named = decideResponders({ event: message(alice, 'hello ada'), room: r, personaOf, repliedToSender: null });
    expect(names(named)).toEqual(['Ada']);
    expect(named.isDirect).toBe(false);
  });

  test('three members: a reply to the persona’s message addresses it', () => {
    const event = message(alice, { body: 'and then?', 'm.relates_to': { 'm.in_reply_to': { event_id: '$p' } } });
    const r = room([alice, carol, ada.userId]);
    expect(names(decideResponders({ event, room: r, personaOf, repliedToSender: ada.userId }))).toEqual(['Ada']);
    expect(names(decideResponders({ event, room: r, personaOf, repliedToSender: carol }))).toEqual([]);
  });

  test('a persona answering another persona’s message does not summon it by the reply alone', () => {
    const r = room([alice, ada.userId, bob.userId]);
    const answer = (mentions: string[]) =>
      message(bob.userId, { body: 'good point', 'm.mentions': { user_ids: mentions }, 'm.relates_to': { 'm.in_reply_to': { event_id: '$a' } } });
    expect(names(decideResponders({ event: answer([]), room: r, personaOf, repliedToSender: ada.userId }))).toEqual([]);
    expect(names(decideResponders({ event: answer([ada.userId]), room: r, personaOf, repliedToSender: ada.userId }))).toEqual(['Ada']);
  });

  test('the room displayname is a name too', () => {
    const r = room([alice, carol, ada.userId], { [ada.userId]: 'Countess' });
    expect(names(decideResponders({ event: message(alice, 'hi countess'), room: r, personaOf, repliedToSender: null }))).toEqual(['Ada']);
  });

  test('several mentioned: each answers, in the order they were named', () => {
    const r = room([alice, ada.userId, bob.userId]);
    expect(names(decideResponders({ event: message(alice, 'Bob and Ada, hi'), room: r, personaOf, repliedToSender: null }))).toEqual(['Bob', 'Ada']);
    expect(names(decideResponders({ event: message(alice, 'Ada and Bob, hi'), room: r, personaOf, repliedToSender: null }))).toEqual(['Ada', 'Bob']);
  });

  test('mentioned only through m.mentions: in m.mentions order', () => {
    const event = message(alice, { body: 'you two', 'm.mentions': { user_ids: [bob.userId, ada.userId] } });
    const r = room([alice, ada.userId, bob.userId]);
    expect(names(decideResponders({ event, room: r, personaOf, repliedToSender: null }))).toEqual(['Bob', 'Ada']);
  });

  test('a persona mentioning another in a group makes only that one answer', () => {
    const event = message(ada.userId, 'what do you say, Bob?');
    const r = room([alice, ada.userId, bob.userId]);
    expect(names(decideResponders({ event, room: r, personaOf, repliedToSender: null }))).toEqual(['Bob']);
  });

  test('personas only invited (not joined) do not answer', () => {
    const r = room([alice, carol]);
    expect(names(decideResponders({ event: message(alice, 'Ada?'), room: r, personaOf, repliedToSender: null }))).toEqual([]);
  });
});
