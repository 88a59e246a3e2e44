// Group rooms on the real Synapse (issue 15): one room, three personas and two people. Room
// settings live in room state: a non-moderator cannot change them, a moderator mutes a persona
// (which then stays silent), and the setting survives a bridge restart because it is read back
// from the room. Two mentioned personas answer in turn, the second seeing the first's answer;
// a persona invited late sees nothing from before it joined.
import { FakeOpenAI, messageText } from '../fakes/FakeOpenAI.js';
import { ROOM_SETTINGS_EVENT } from '../../src/rooms/roomSettings.js';
import { startGroupRoom, stopGroupRoom, taggedPersonaOf as personaOf, timelineOrder, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

let answers = 0;

describe('group rooms (real Synapse)', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  const names = ['Ara', 'Bex', 'Cyd'];

  beforeAll(async () => {
    // Alice (the creator, 100) is the moderator; the bot gets the power to store the settings.
    ({ llm, tb, alice, bob, roomId } = await startGroupRoom({ tag: 'group', names, respond: (req) => ({ content: `${personaOf(req)} answer ${++answers}` }) }));
  }, 90_000);
  afterAll(() => stopGroupRoom({ llm, tb, alice, bob }));

  const fromBot = (pattern: RegExp, after: string) => (e: RawEvent) =>
    e.sender === tb.botUserId && pattern.test(e.content.body ?? '') && isAfter(after, e);
  const isAfter = timelineOrder(() => alice.events(roomId));
  const personaMessagesAfter = (eventId: string, name: string): RawEvent[] =>
    alice.events(roomId).filter((e) => e.type === 'm.room.message' && e.sender === tb.personaUserId(name) && isAfter(eventId, e));

  test('two mentioned personas answer in turn; the second prompt holds the first answer', async () => {
    const asked = await alice.sendText(roomId, 'Ara and Bex, what do you think?');
    const first = await alice.waitForMessage(roomId, (e) => e.sender === tb.personaUserId('Ara') && isAfter(asked, e), undefined, "Ara's answer");
    const second = await alice.waitForMessage(roomId, (e) => e.sender === tb.personaUserId('Bex') && isAfter(asked, e), undefined, "Bex's answer");
    expect(isAfter(first.event_id, second)).toBe(true);
    const bexPrompt = llm.requests.filter((r) => personaOf(r) === 'bex').at(-1)!;
    expect(bexPrompt.messages.map(messageText).join('\n')).toContain(first.content.body);
  }, 60_000);

  test('a non-moderator cannot change the settings; nothing is written', async () => {
    const asked = await bob.sendText(roomId, '!persona mute Cyd');
    await alice.waitForMessage(roomId, fromBot(/Only this room's moderators \(power level 50 or more; yours is 0\)/, asked), undefined, 'the refusal');
    await expect(alice.client.getStateEvent(roomId, ROOM_SETTINGS_EVENT, '')).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
  }, 60_000);

  test('a muted persona stays silent, also after a restart (the setting is in room state)', async () => {
    const muted = await alice.sendText(roomId, '!persona mute Cyd');
    await alice.waitForMessage(roomId, fromBot(/^Cyd is muted in this room\.$/, muted), undefined, 'the mute confirmation');
    expect(await alice.client.getStateEvent(roomId, ROOM_SETTINGS_EVENT, '')).toEqual({ muted: ['Cyd'] });

    // Cyd is named first: had it answered, its message would come before Ara's (one queue per room).
    const asked = await alice.sendText(roomId, 'Cyd and Ara, hello');
    await alice.waitForMessage(roomId, (e) => e.sender === tb.personaUserId('Ara') && isAfter(asked, e), undefined, "Ara's answer");
    expect(personaMessagesAfter(asked, 'Cyd')).toEqual([]);

    await tb.restart();
    const again = await bob.sendText(roomId, 'Cyd and Bex, still there?');
    await alice.waitForMessage(roomId, (e) => e.sender === tb.personaUserId('Bex') && isAfter(again, e), undefined, "Bex's answer after the restart");
    expect(personaMessagesAfter(again, 'Cyd')).toEqual([]);
    const shown = await alice.sendText(roomId, '!room settings');
    await alice.waitForMessage(roomId, fromBot(/Muted: Cyd/, shown), undefined, 'the settings');
    expect(llm.requests.filter((r) => personaOf(r) === 'cyd')).toEqual([]);
  }, 90_000);

  test('a persona invited late never sees earlier messages in its prompt', async () => {
    const late = await alice.createRoom({ invite: [tb.personaUserId('Ara'), bob.userId], name: 'late' });
    await alice.waitForMembership(late, tb.personaUserId('Ara'), 'join');
    const told = await alice.sendText(late, 'Ara, the password is swordfish');
    await alice.waitForMessage(late, (e) => e.sender === tb.personaUserId('Ara') && e.event_id !== told, undefined, "Ara's answer");
    await alice.client.invite(late, tb.personaUserId('Bex'));
    await alice.waitForMembership(late, tb.personaUserId('Bex'), 'join');
    const before = llm.requests.length;
    await alice.sendText(late, 'Ara and Bex, what is the password?');
    await alice.waitForMessage(late, (e) => e.sender === tb.personaUserId('Bex'), undefined, "Bex's answer");
    const prompts = llm.requests.slice(before);
    const text = (who: string) => prompts.filter((r) => personaOf(r) === who).map((r) => r.messages.map(messageText).join('\n')).join('\n');
    expect(text('ara')).toContain('swordfish');
    expect(text('bex')).toContain('what is the password?');
    expect(text('bex')).not.toContain('swordfish');
  }, 60_000);
});
