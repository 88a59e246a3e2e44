// Scenes and !next on the real Synapse (issue 15), one room with three personas and two people.
// `!converse 6 …` gives exactly 6 persona messages then stops (a later marker proves there is no
// 7th); a person writing mid-scene (while a slow model is still writing a turn) ends it and is
// answered as usual, and nothing follows; `!stop` ends a scene; a restart ends one and says so;
// `!next` makes the next, or the named, persona answer.
// The turn budget holds when personas mention each other forever (also fanout.test.ts, which
// watches 40 s). A persona invited late never sees earlier messages: group.test.ts.
import { FakeOpenAI, lastUserText, messageText, systemText, type FakeChatRequest, type FakeResponse } from '../fakes/FakeOpenAI.js';
import { LIVE_KEY } from '../../src/matrix/liveMessages.js';
import { taggedPersonaOf, timelineOrder, type RawEvent, type TestBridge, type TestUser, startGroupRoom, stopGroupRoom } from './helpers/index.js';

const NAMES = ['Ara', 'Bex', 'Cyd'];
const personaOf = taggedPersonaOf;
/** The scene direction's topic and turn number, when the request is a scene turn. */
const sceneTurnOf = (req: FakeChatRequest): { topic: string; turn: number } | null => {
  const system = systemText(req);
  const topic = /Scene direction: .* about: (.*)/.exec(system)?.[1];
  const turn = /This is turn (\d+) of/.exec(system)?.[1];
  return topic && turn ? { topic, turn: Number(turn) } : null;
};
/**
 * What the fake says for a scene turn: it mentions the other two (the worst case for loops),
 * the next in roster order first: in the default `mention` order the one named first speaks
 * next, so the turns go round Ara, Bex, Cyd.
 */
const sceneText = (persona: string, topic: string, turn: number): string => {
  const at = NAMES.findIndex((n) => n.toLowerCase() === persona);
  const others = [1, 2].map((k) => NAMES[(at + k) % NAMES.length]);
  return `${others.map((n) => `@${n}`).join(' ')} ${persona} on ${topic}, turn ${turn}.`;
};
const longStory = (): string => Array.from({ length: 200 }, (_, i) => `Sentence ${i} of a slow thought.`).join(' ');

/** Per topic and turn: how the fake answers a scene turn (default: at once). */
const sceneBehaviour = new Map<string, FakeResponse>();
/** Resolvers waiting for a scene turn's request to reach the model. */
const turnWaiters = new Map<string, () => void>();
const reached = (topic: string, turn: number): Promise<void> =>
  new Promise((resolve) => turnWaiters.set(`${topic}#${turn}`, resolve));

function respond(req: FakeChatRequest): FakeResponse {
  const persona = personaOf(req);
  const scene = sceneTurnOf(req);
  const last = lastUserText(req).split('\n').at(-1) ?? '';
  // Fan-out: every answer to a FANOUT message mentions both other personas, forever.
  if (!scene && last.includes('FANOUT')) return { content: `${sceneText(persona, 'FANOUT', 0)}`, delayMs: 50 };
  if (!scene) return { content: `${persona} answers: ${last}` };
  const key = `${scene.topic}#${scene.turn}`;
  turnWaiters.get(key)?.();
  return sceneBehaviour.get(key) ?? { content: sceneText(persona, scene.topic, scene.turn) };
}

describe('scenes and !next (real Synapse)', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let personaIds: string[];

  beforeAll(async () => {
    ({ llm, tb, alice, bob, roomId } = await startGroupRoom({ tag: 'scenes', names: NAMES, respond }));
    personaIds = NAMES.map((n) => tb.personaUserId(n));
  }, 90_000);
  afterAll(() => stopGroupRoom({ llm, tb, alice, bob }));

  /** Sends as `who` and waits until alice's timeline (where everything is counted) has it. */
  const send = async (who: TestUser, text: string, room = roomId): Promise<string> => {
    const eventId = await who.sendText(room, text);
    await alice.waitForEvent(room, (e) => e.event_id === eventId, undefined, `'${text}' in alice's timeline`);
    return eventId;
  };
  const index = (eventId: string): number => alice.events(roomId).findIndex((e) => e.event_id === eventId);
  const isAfter = timelineOrder(() => alice.events(roomId));
  const isEdit = (e: RawEvent): boolean => (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace';
  /** Persona messages (not edits, not notices) after `from` and, if given, before `to`. */
  const personaMessages = (from: string, to?: string): RawEvent[] =>
    alice
      .events(roomId)
      .filter((e) => e.type === 'm.room.message' && personaIds.includes(e.sender) && e.content.msgtype === 'm.text' && !isEdit(e))
      .filter((e) => isAfter(from, e) && (to === undefined || index(e.event_id) < index(to)));
  const nameOf = (e: RawEvent): string => NAMES[personaIds.indexOf(e.sender)]!;
  const botNotice = (pattern: RegExp, after: string, what: string) =>
    alice.waitForMessage(roomId, (e) => e.sender === tb.botUserId && pattern.test(e.content.body ?? '') && isAfter(after, e), undefined, what);
  /** A person's message mentioning `name`, and that persona's answer to it (the marker). */
  const marker = async (who: TestUser, name: string, text: string): Promise<{ sent: string; answer: RawEvent }> => {
    const sent = await send(who, `${name}, ${text}`);
    const answer = await alice.waitForMessage(
      roomId,
      (e) => e.sender === tb.personaUserId(name) && !isEdit(e) && isAfter(sent, e),
      undefined,
      `${name}'s answer to '${text}'`,
    );
    return { sent, answer };
  };
  const scenePrompts = (topic: string): FakeChatRequest[] => llm.requests.filter((r) => sceneTurnOf(r)?.topic === topic);

  test('!converse 6 (started by anyone): exactly 6 persona messages in turn, each seeing the last, then it stops', async () => {
    // Bob is no moderator (power level 0): anyone in the room may start a scene.
    const command = await send(bob, '!converse 6 the best tea');
    await botNotice(/^Scene: 6 turns about "the best tea" between Ara, Bex and Cyd\./, command, 'the scene announcement');
    await botNotice(/^The scene is over \(6 of 6 turns\)\./, command, 'the end of the scene');
    // The marker: had the scene gone on (a 7th turn, or an answer to a turn's mentions), it would
    // be on the room's answer queue ahead of this answer.
    const { sent, answer } = await marker(alice, 'Cyd', 'what is the last word?');
    const scene = personaMessages(command, sent);
    expect(scene.map(nameOf)).toEqual(['Ara', 'Bex', 'Cyd', 'Ara', 'Bex', 'Cyd']);
    expect(personaMessages(sent)).toEqual([answer]);
    expect(scene.every((e, i) => String(e.content.body).endsWith(`on the best tea, turn ${i + 1}.`))).toBe(true);
    // Six model calls, each with the direction; each turn's prompt holds the turn before it.
    const prompts = scenePrompts('the best tea');
    expect(prompts.map((r) => sceneTurnOf(r)!.turn)).toEqual([1, 2, 3, 4, 5, 6]);
    for (let turn = 2; turn <= 6; turn++) {
      const before = prompts[turn - 2]!;
      const text = prompts[turn - 1]!.messages.map(messageText).join('\n');
      expect(text).toContain(`${personaOf(before)} on the best tea, turn ${turn - 1}.`);
    }
  }, 90_000);

  test('a person writing mid-scene ends it (a slow turn is cut off) and is answered as usual; nothing follows', async () => {
    // Turn 3 is a slow model writing a long answer: the person writes while it is on screen.
    sceneBehaviour.set('slow coffee#3', { content: longStory(), chunkDelayMs: 150 });
    const command = await send(alice, '!converse 6 slow coffee');
    const live = await alice.waitForMessage(
      roomId,
      (e) => e.sender === tb.personaUserId('Cyd') && LIVE_KEY in e.content && isAfter(command, e),
      undefined,
      "Cyd's third turn being written",
    );
    const { sent: interruption, answer } = await marker(bob, 'Ara', 'sorry to interrupt, are you there?');
    expect(String(answer.content.body)).toContain('ara answers:');
    const { sent: later, answer: laterAnswer } = await marker(alice, 'Bex', 'anything to add?');
    const scene = personaMessages(command, interruption);
    expect(scene.map(nameOf)).toEqual(['Ara', 'Bex', 'Cyd']);
    expect(scene[2]!.event_id).toBe(live.event_id);
    expect(personaMessages(interruption, later)).toEqual([answer]);
    expect(personaMessages(later)).toEqual([laterAnswer]);
    expect(scenePrompts('slow coffee').map((r) => sceneTurnOf(r)!.turn)).toEqual([1, 2, 3]);
    expect(alice.events(roomId).filter((e) => /^The scene is over/.test(e.content.body ?? '') && isAfter(command, e))).toEqual([]);
  }, 90_000);

  test('!stop ends a running scene', async () => {
    sceneBehaviour.set('juice#2', { hang: true });
    const secondTurn = reached('juice', 2);
    const command = await send(bob, '!converse 5 juice');
    await secondTurn;
    const stop = await send(bob, '!stop');
    await botNotice(/^Scene stopped after 1 of 5 turns\.$/, stop, 'the scene stopped');
    const { sent } = await marker(alice, 'Cyd', 'and now?');
    expect(personaMessages(command, sent).map(nameOf)).toEqual(['Ara']);
    expect(scenePrompts('juice')).toHaveLength(2);
  }, 90_000);

  test('🛑 by anyone on the turn being written stops the scene; what it showed stays, marked stopped', async () => {
    sceneBehaviour.set('lemonade#2', { content: longStory(), chunkDelayMs: 150 });
    const command = await send(alice, '!converse 4 lemonade');
    const live = await alice.waitForMessage(
      roomId,
      (e) => e.sender === tb.personaUserId('Bex') && LIVE_KEY in e.content && isAfter(command, e),
      undefined,
      "Bex's turn being written",
    );
    // Bob neither started the scene nor is an admin.
    await bob.sendContent(roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: live.event_id, key: '🛑' } }, 'm.reaction');
    await botNotice(/^Scene stopped after 1 of 4 turns\.$/, live.event_id, 'the scene stopped');
    await alice.waitForMessage(
      roomId,
      (e) =>
        isEdit(e) &&
        (e.content['m.relates_to'] as { event_id?: string }).event_id === live.event_id &&
        String((e.content['m.new_content'] as { body?: string }).body).endsWith(' … (stopped)'),
      undefined,
      'the stopped turn, marked',
    );
    const { sent } = await marker(alice, 'Cyd', 'and after the lemonade?');
    expect(personaMessages(command, sent).map(nameOf)).toEqual(['Ara', 'Bex']);
    expect(scenePrompts('lemonade')).toHaveLength(2);
  }, 90_000);

  test('!next makes the next persona who has not spoken answer, and !next Name the named one', async () => {
    const hello = await send(alice, 'Hello everyone, nobody in particular');
    const first = await send(alice, '!next');
    const answer1 = await alice.waitForMessage(roomId, (e) => personaIds.includes(e.sender) && !isEdit(e) && isAfter(first, e), undefined, 'the !next answer');
    expect(String(answer1.content.body)).toContain('answers: ');
    expect((answer1.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } })['m.in_reply_to']?.event_id).toBe(hello);
    const second = await send(alice, '!next');
    const answer2 = await alice.waitForMessage(roomId, (e) => personaIds.includes(e.sender) && !isEdit(e) && isAfter(second, e), undefined, 'the second !next answer');
    expect(answer2.sender).not.toBe(answer1.sender);
    const named = await send(bob, '!next Cyd');
    const answer3 = await alice.waitForMessage(roomId, (e) => personaIds.includes(e.sender) && !isEdit(e) && isAfter(named, e), undefined, 'the !next Cyd answer');
    expect(answer3.sender).toBe(tb.personaUserId('Cyd'));
    const unknown = await send(bob, '!next Zed');
    await botNotice(/No persona called 'Zed' is in this room/, unknown, 'the unknown-persona answer');
    expect(personaMessages(hello, unknown)).toEqual([answer1, answer2, answer3]);
  }, 90_000);

  test('the turn budget holds when personas mention each other forever (messages counted up to a later marker)', async () => {
    const trigger = await send(alice, 'Ara, FANOUT: what do the others think?');
    await botNotice(/^Stopping here/, trigger, 'the notice that stops the personas');
    // Persona answers still queued when the room tripped are cancelled; the marker's answer
    // is queued behind anything that was not, so what came before it is all there is.
    const { sent, answer } = await marker(bob, 'Cyd', 'calm down please');
    const fanned = personaMessages(trigger, sent);
    expect(fanned.length).toBeGreaterThanOrEqual(3);
    expect(fanned.length).toBeLessThanOrEqual(10); // 2 × dispatch.loop_threshold (5), the default budget
    expect(fanned.every((e) => String(e.content.body).includes('FANOUT'))).toBe(true);
    const stops = alice.events(roomId).filter((e) => /^Stopping here/.test(e.content.body ?? '') && isAfter(trigger, e) && index(e.event_id) < index(sent));
    expect(stops).toHaveLength(1);
    expect(String(answer.content.body)).toContain('cyd answers:');
  }, 90_000);

  test('bad input is explained: turns beyond the budget, no topic, too few personas', async () => {
    const tooMany = await send(alice, '!converse 11 tea');
    await botNotice(/^The number of turns is a whole number from 1 to 10 \(this room's turn budget\), not '11'\.\nUsage: !converse <turns> <topic>$/, tooMany, 'the range error');
    const noTopic = await send(alice, '!converse 3');
    await botNotice(/^Give the number of turns, then the topic\.\nUsage: !converse <turns> <topic>$/, noTopic, 'the syntax error');
    const solo = await alice.createRoom({ invite: [tb.personaUserId('Ara'), tb.botUserId], name: 'solo' });
    await alice.waitForMembership(solo, tb.botUserId, 'join');
    await alice.waitForMembership(solo, tb.personaUserId('Ara'), 'join');
    const lonely = await send(alice, '!converse 3 tea', solo);
    await alice.waitForMessage(
      solo,
      (e) => e.sender === tb.botUserId && /^A scene needs at least two personas in this room who may speak \(not muted\); there is only one\./.test(e.content.body ?? ''),
      undefined,
      'the too-few-personas answer',
    );
    expect(alice.events(solo).filter((e) => e.sender === tb.personaUserId('Ara') && e.event_id !== lonely && e.type === 'm.room.message')).toEqual([]);
  }, 90_000);

  test('a restart ends the scene, says so, and the scene does not come back', async () => {
    sceneBehaviour.set('cocoa#2', { hang: true });
    const secondTurn = reached('cocoa', 2);
    const command = await send(alice, '!converse 4 cocoa');
    await secondTurn;
    await tb.restart();
    await botNotice(/^The bridge is stopping, so the scene ends here \(1 of 4 turns\); scenes do not resume after a restart\./, command, 'the restart notice');
    const { sent } = await marker(bob, 'Bex', 'back?');
    expect(personaMessages(command, sent).map(nameOf)).toEqual(['Ara']);
    expect(scenePrompts('cocoa')).toHaveLength(2);
  }, 120_000);
});
