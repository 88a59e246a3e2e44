// Live answers end to end (issue 14): a slow streamed answer is one message edited in place,
// 🛑 stops it, 🔁 regenerates it, a fast answer is one message with no typing, and what a
// person edits or redacts is what the next prompt holds. Real Synapse, fake model.



import * as sdk from 'matrix-js-sdk';
import { FakeOpenAI, messageText, type FakeChatRequest, answeredText } from '../fakes/FakeOpenAI.js';
import { newUser, startTestBridge, type RawEvent, type TestBridge, type TestUser, seedPersonas } from './helpers/index.js';

const TIMEOUT_MS = 90_000;
const LIVE = 'org.matrix.msc4357.live';
/** A long answer the fake model streams word by word. */
const story = (tag: string): string => `${tag}. ${Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ')} the end.`;

describe('live answers on a real Synapse', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `Ada heard: ${answeredText(req)}`);
    const personasDir = seedPersonas('live', [{ name: 'Ada', prompt: 'You are Ada.' }]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { llm: { stream: true } } });
    ada = tb.personaUserId('Ada');
    alice = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  const isEditOf = (e: RawEvent, eventId: string): boolean =>
    (e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined)?.rel_type === 'm.replace' &&
    (e.content['m.relates_to'] as { event_id?: string }).event_id === eventId;
  const newBody = (e: RawEvent): string => String((e.content['m.new_content'] as { body?: string }).body);
  const requestFor = (text: string): FakeChatRequest => llm.requests.filter((r) => answeredText(r) === text).at(-1)!;

  test('a slow answer is one message edited in place, ending with the full text', async () => {
    const dm = await alice.openDm(ada);
    const text = story('Slow story');
    llm.respondWith({ content: text, chunkDelayMs: 40 });
    await alice.sendText(dm, 'tell me a slow story');
    const live = await alice.waitForMessage(dm, (e) => e.sender === ada && LIVE in e.content, undefined, 'the live message');
    expect(text.startsWith(String(live.content.body))).toBe(true);
    expect(String(live.content.body).length).toBeLessThan(text.length);
    const final = await alice.waitForEvent(dm, (e) => isEditOf(e, live.event_id) && newBody(e) === text, undefined, 'the final edit');
    expect(final.content['m.new_content']).not.toHaveProperty(LIVE);
    expect(final.content).not.toHaveProperty(LIVE);
    const edits = alice.events(dm).filter((e) => isEditOf(e, live.event_id));
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.length).toBeLessThanOrEqual(21);
    // One message from Ada, however many edits.
    const messages = alice.events(dm).filter((e) => e.sender === ada && e.type === 'm.room.message' && !e.content['m.relates_to']);
    expect(messages.map((e) => e.event_id)).toEqual([live.event_id]);
  }, TIMEOUT_MS);

  test('a fast answer is one message, and no typing', async () => {
    const dm = await alice.openDm(ada);
    llm.respondWith((req) => `Ada heard: ${answeredText(req)}`);
    const typing: boolean[] = [];
    const onTyping = (_e: sdk.MatrixEvent, member: sdk.RoomMember): void => {
      if (member.userId === ada && member.roomId === dm) typing.push(member.typing);
    };
    alice.client.on(sdk.RoomMemberEvent.Typing, onTyping);
    for (const text of ['quick one', 'quick two']) {
      await alice.sendText(dm, text);
      await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === `Ada heard: ${text}`);
    }
    alice.client.off(sdk.RoomMemberEvent.Typing, onTyping);
    expect(typing).not.toContain(true);
    expect(alice.events(dm).filter((e) => e.sender === ada && e.type === 'm.room.message')).toHaveLength(2);
  }, TIMEOUT_MS);

  test('a slow model shows typing until its answer is visible', async () => {
    const dm = await alice.openDm(ada);
    llm.respondWith({ content: 'Thought about it.', delayMs: 2500 });
    const typed = new Promise<void>((resolve) => {
      const onTyping = (_e: sdk.MatrixEvent, member: sdk.RoomMember): void => {
        if (member.userId !== ada || member.roomId !== dm || !member.typing) return;
        alice.client.off(sdk.RoomMemberEvent.Typing, onTyping);
        resolve();
      };
      alice.client.on(sdk.RoomMemberEvent.Typing, onTyping);
    });
    await alice.sendText(dm, 'think slowly');
    await typed;
    await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'Thought about it.');
  }, TIMEOUT_MS);

  test('🛑 on the answer being written stops it; what was written stays, marked stopped', async () => {
    const dm = await alice.openDm(ada);
    const text = story('Endless story');
    llm.respondWith({ content: text, chunkDelayMs: 150 });
    await alice.sendText(dm, 'tell me an endless story');
    const live = await alice.waitForMessage(dm, (e) => e.sender === ada && LIVE in e.content, undefined, 'the live message');
    await alice.sendContent(dm, { 'm.relates_to': { rel_type: 'm.annotation', event_id: live.event_id, key: '🛑' } }, 'm.reaction');
    const stopped = await alice.waitForEvent(dm, (e) => isEditOf(e, live.event_id) && newBody(e).endsWith('(stopped)'), undefined, 'the stopped edit');
    expect(newBody(stopped).length).toBeLessThan(text.length);
    // The next prompt holds the answer as the room shows it.
    llm.respondWith((req) => `Ada heard: ${answeredText(req)}`);
    await alice.sendText(dm, 'ok, next');
    await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'Ada heard: ok, next');
    const turns = requestFor('ok, next').messages.map((m) => messageText(m));
    expect(turns.some((t) => t.startsWith('Endless story.') && !t.includes('the end.'))).toBe(true);
  }, TIMEOUT_MS);

  test('🔁 on the latest answer regenerates it in place', async () => {
    const dm = await alice.openDm(ada);
    llm.respondWith('First try.');
    await alice.sendText(dm, 'pick a colour');
    const answer = await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'First try.');
    llm.respondWith('Second try: teal.');
    await alice.sendContent(dm, { 'm.relates_to': { rel_type: 'm.annotation', event_id: answer.event_id, key: '🔁' } }, 'm.reaction');
    await alice.waitForEvent(dm, (e) => isEditOf(e, answer.event_id) && newBody(e) === 'Second try: teal.', undefined, 'the regenerated answer');
    // The regeneration's prompt did not hold the answer it replaces.
    const regen = requestFor('pick a colour');
    expect(regen.messages.map((m) => messageText(m)).some((t) => t.includes('First try.'))).toBe(false);
    // And memory now holds the new version.
    llm.respondWith((req) => `Ada heard: ${answeredText(req)}`);
    await alice.sendText(dm, 'and now?');
    await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'Ada heard: and now?');
    const turns = requestFor('and now?').messages.map((m) => messageText(m));
    expect(turns).toContain('Second try: teal.');
    expect(turns.some((t) => t.includes('First try.'))).toBe(false);
  }, TIMEOUT_MS);

  test("a person's edit and redaction change what the next prompt holds", async () => {
    const dm = await alice.openDm(ada);
    llm.respondWith((req) => `Ada heard: ${answeredText(req)}`);
    const cat = await alice.sendText(dm, 'My cat is called Tom.');
    await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'Ada heard: My cat is called Tom.');
    const secret = await alice.sendText(dm, 'My locker code is 4711.');
    await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'Ada heard: My locker code is 4711.');
    await alice.sendContent(dm, {
      msgtype: 'm.text',
      body: '* My cat is called Max.',
      'm.new_content': { msgtype: 'm.text', body: 'My cat is called Max.' },
      'm.relates_to': { rel_type: 'm.replace', event_id: cat },
    });
    await alice.client.redactEvent(dm, secret);
    // The edit gets no answer of its own: the next answer is to the next message.
    await alice.sendText(dm, 'What is my cat called?');
    await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'Ada heard: What is my cat called?');
    // Alice's own turns, as the room now shows them (Ada's earlier answers quote what she heard then).
    const said = requestFor('What is my cat called?')
      .messages.filter((m) => m.role === 'user')
      .map((m) => messageText(m))
      .join('\n');
    expect(said).toContain('My cat is called Max.');
    expect(said).not.toContain('Tom');
    expect(said).not.toContain('4711');
    expect(llm.requests.some((r) => answeredText(r).includes('* My cat'))).toBe(false);
  }, TIMEOUT_MS);
});
