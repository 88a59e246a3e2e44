// The room's order mode on the real Synapse (issue 15): one room, three personas that joined in
// the order Cyd, Ara, Bex (the roster order) and two people. `list`: every persona answers a
// person's message, in roster order. `manual`: a mention gets no answer, `!next Name` makes that
// persona answer, `!next` alone the next in roster order. `natural`: the persona named speaks;
// unnamed, talkativeness decides. `pooled`: one answers each message, never the previous one.
// `!help` lists the room's commands and order; a muted persona never speaks. Each persona's
// prompt says who is present and which of them are personas. Silence is proven by the per-room
// answer queue: an answer that had been queued would arrive before the later one waited for.
import { FakeOpenAI, systemText } from '../fakes/FakeOpenAI.js';
import { taggedPersonaOf as personaOf, timelineOrder, type TestBridge, type TestUser, startGroupRoom, stopGroupRoom } from './helpers/index.js';

let answers = 0;

describe('order modes in a group room (real Synapse)', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  const joinOrder = ['Cyd', 'Ara', 'Bex'];

  beforeAll(async () => {
    // The personas join one at a time in joinOrder: that is the roster order.
    ({ llm, tb, alice, bob, roomId } = await startGroupRoom({
      tag: 'order',
      names: joinOrder,
      respond: (req) => ({ content: `${personaOf(req)} answer ${++answers}` }),
      config: { dispatch: { turn_budget: 10 } },
    }));
  }, 90_000);
  afterAll(() => stopGroupRoom({ llm, tb, alice, bob }));

  const isAfter = timelineOrder(() => alice.events(roomId));
  /** Names of the personas that sent messages after `eventId`, in timeline order. */
  const speakersAfter = (eventId: string): string[] => {
    const personaNames = new Map(joinOrder.map((n) => [tb.personaUserId(n), n]));
    return alice
      .events(roomId)
      .filter((e) => e.type === 'm.room.message' && personaNames.has(e.sender) && isAfter(eventId, e))
      .map((e) => personaNames.get(e.sender)!);
  };
  const answerFrom = (name: string, after: string) =>
    alice.waitForMessage(roomId, (e) => e.sender === tb.personaUserId(name) && isAfter(after, e), undefined, `${name}'s answer`);
  const setting = async (command: string, confirmation: RegExp) => {
    const sent = await alice.sendText(roomId, command);
    await alice.waitForMessage(roomId, (e) => e.sender === tb.botUserId && confirmation.test(e.content.body ?? '') && isAfter(sent, e), undefined, confirmation.source);
  };

  test('list: every persona answers one message, in the order they joined; prompts say who is a persona', async () => {
    await setting('!room set order list', /^Order set to list\.$/);
    const requestsBefore = llm.requests.length;
    const asked = await bob.sendText(roomId, 'hello everyone');
    await answerFrom('Bex', asked);
    expect(speakersAfter(asked)).toEqual(['Cyd', 'Ara', 'Bex']);

    const cydPrompt = systemText(llm.requests.slice(requestsBefore).find((r) => personaOf(r) === 'cyd')!);
    const kinds = /with (.+)\. (\w+) and (\w+) are personas \(AI characters like you\); (\w+) and (\w+) are people\./.exec(cydPrompt);
    expect(kinds).not.toBeNull();
    const [, , p1, p2, h1, h2] = kinds!;
    expect([p1, p2].sort()).toEqual(['Ara', 'Bex']);
    const localpart = (u: TestUser) => u.userId.slice(1, u.userId.indexOf(':'));
    expect([h1, h2].sort()).toEqual([localpart(alice), localpart(bob)].sort());
  }, 60_000);

  test('manual: a mention gets no answer; !next Name makes that persona answer, !next alone the next in roster order', async () => {
    await setting('!room set order manual', /^Order set to manual\.$/);
    const asked = await alice.sendText(roomId, 'Ara, are you there?');
    const next = await alice.sendText(roomId, '!next Bex');
    const bex = await answerFrom('Bex', next);
    // Had Ara been asked, its answer would have been queued (and sent) before Bex's.
    expect(speakersAfter(asked)).toEqual(['Bex']);
    expect(llm.requests.at(-1) && personaOf(llm.requests.at(-1)!)).toBe('bex');

    // Bex spoke since alice wrote: next in roster order is Cyd.
    const nextAlone = await alice.sendText(roomId, '!next');
    await answerFrom('Cyd', nextAlone);
    expect(speakersAfter(bex.event_id)).toEqual(['Cyd']);
    const again = await alice.sendText(roomId, '!next');
    await answerFrom('Ara', again);
    expect(speakersAfter(asked)).toEqual(['Bex', 'Cyd', 'Ara']);
  }, 60_000);

  test('natural: the persona named speaks; unnamed, at most one by talkativeness', async () => {
    await setting('!room set order natural', /^Order set to natural\.$/);
    await setting('!room set talkativeness Cyd 0', /talkativeness set to 0/);
    await setting('!room set talkativeness Ara 0', /talkativeness set to 0/);
    await setting('!room set talkativeness Bex 1', /talkativeness set to 1/);
    // m.mentions empty: natural counts the name in the text all the same.
    const named = await alice.sendText(roomId, 'what would Cyd say?', { 'm.mentions': { user_ids: [] } });
    await answerFrom('Cyd', named);
    const unnamed = await alice.sendText(roomId, 'anyone?');
    const bex = await answerFrom('Bex', unnamed);
    const marker = await alice.sendText(roomId, 'Ara, your turn');
    await answerFrom('Ara', marker);
    expect(speakersAfter(named)).toEqual(['Cyd', 'Bex', 'Ara']);
    expect(isAfter(unnamed, bex)).toBe(true);
  }, 60_000);

  test('pooled: one persona answers each message, never the one that answered the message before', async () => {
    await setting('!room set order pooled', /^Order set to pooled\.$/);
    const anyAnswer = (after: string) =>
      alice.waitForMessage(roomId, (e) => joinOrder.some((n) => e.sender === tb.personaUserId(n)) && isAfter(after, e), undefined, 'an answer');
    const first = await alice.sendText(roomId, 'one');
    const p1 = (await anyAnswer(first)).sender;
    // Each next message is also the marker: a second answer to the one before would come first.
    const second = await alice.sendText(roomId, 'two');
    const p2 = (await anyAnswer(second)).sender;
    const third = await alice.sendText(roomId, 'three');
    const p3 = (await anyAnswer(third)).sender;
    const marker = await alice.sendText(roomId, '!next Ara');
    await answerFrom('Ara', marker);
    expect(p2).not.toBe(p1);
    expect(p3).not.toBe(p2);
    const name = (userId: string) => joinOrder.find((n) => tb.personaUserId(n) === userId);
    expect(speakersAfter(first)).toEqual([name(p1), name(p2), name(p3), 'Ara']);
  }, 60_000);

  test('!help in the group room lists its commands and its order; admin commands only to admins', async () => {
    const asked = await bob.sendText(roomId, '!help');
    const help = await alice.waitForMessage(roomId, (e) => e.sender === tb.botUserId && /^Commands:/.test(e.content.body ?? '') && isAfter(asked, e), undefined, 'the help');
    const body = help.content.body ?? '';
    expect(body).toContain('In this room:\nOrder: pooled — one persona answers each message, at random among those that did not speak');
    for (const command of ['!next [Name]', '!converse <turns> <topic>', '!room settings', '!room set order', '!persona mute <Name>', '!persona unmute <Name>']) expect(body).toContain(command);
    expect(body).not.toContain('!persona spawn');

    await alice.client.invite(roomId, tb.admin.userId);
    await alice.waitForMembership(roomId, tb.admin.userId, 'join');
    const adminAsked = await tb.admin.sendText(roomId, '!help');
    const adminHelp = await alice.waitForMessage(roomId, (e) => e.sender === tb.botUserId && /^Commands:/.test(e.content.body ?? '') && isAfter(adminAsked, e), undefined, "the admin's help");
    expect(adminHelp.content.body).toContain('!persona spawn');
  }, 60_000);

  test('!help in a direct chat with a persona (no bot there): the persona answers with what works there', async () => {
    const dm = await bob.openDm(tb.personaUserId('Ara'));
    await bob.sendText(dm, '!help');
    const help = await bob.waitForMessage(dm, (e) => e.sender === tb.personaUserId('Ara') && e.content.msgtype === 'm.notice', undefined, "Ara's help");
    const body = help.content.body ?? '';
    // Every command that works without the bot (the persona speaks for the bridge), not the
    // group-room ones (a direct chat) nor the admin ones (they need the bot: the note says so).
    expect(body).toMatch(/^Commands:\n/);
    expect(body).toMatch(/^!ping /m);
    expect(body).toContain('In a room with a persona:\n');
    expect(body).toContain('!forget');
    expect(body).toContain(`The bridge bot (${tb.botUserId}) is not in this room`);
    expect(body).not.toMatch(/^!next|^!room set|^!persona spawn/m);
    // `!help` is no message to answer: Ara's only answer is to the later marker.
    await bob.sendText(dm, 'marker');
    await bob.waitForMessage(dm, (e) => e.sender === tb.personaUserId('Ara') && e.content.msgtype === 'm.text', undefined, "Ara's answer");
    expect(bob.events(dm).filter((e) => e.sender === tb.personaUserId('Ara') && e.content.msgtype === 'm.text')).toHaveLength(1);
  }, 60_000);

  test('a muted persona never speaks, whatever the order: list skips it, !next refuses it', async () => {
    await setting('!persona mute Bex', /^Bex is muted in this room\.$/);
    await setting('!room set order list', /^Order set to list\.$/);
    const asked = await alice.sendText(roomId, 'hello again');
    await answerFrom('Ara', asked);
    await setting('!next Bex', /No persona called 'Bex' is in this room \(or it is muted\)/);
    const marker = await alice.sendText(roomId, '!next Cyd');
    await answerFrom('Cyd', marker);
    expect(speakersAfter(asked)).toEqual(['Cyd', 'Ara', 'Cyd']);
  }, 60_000);
});
