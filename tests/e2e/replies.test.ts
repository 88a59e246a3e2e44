// Persona replies end to end: real users on the real Synapse talk to a seed persona whose
// LLM is a FakeOpenAI. What the model was asked is read from the fake's request log; what
// the room saw is read from the users' synced timelines.



import * as sdk from 'matrix-js-sdk';
import { FakeOpenAI, messageText, systemText, type FakeChatRequest, answeredText } from '../fakes/FakeOpenAI.js';
import { newUser, startTestBridge, type RawEvent, type TestBridge, type TestUser, seedPersonas } from './helpers/index.js';

/** The text a request asks the persona to answer: the last line of the last user turn, without "Name: ". */

/** The fake model repeats what it answers, so each answer is recognisable. */
const fakeReply = (req: FakeChatRequest): string => `Ada heard: ${answeredText(req)}`;

/** Per test: real Synapse round trips (and a bridge restart) take longer than jest's default. */
const TIMEOUT_MS = 60_000;

describe('persona replies on a real Synapse', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith(fakeReply);
    const personasDir = seedPersonas('replies', [{ name: 'Ada', prompt: 'You are Ada, a patient maths tutor.', traits: { patience: 'high' } }]);
    // Retries on: an outage must still produce a single notice.
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { llm: { max_retries: 2, stream: true } } });
    ada = tb.personaUserId('Ada');
    alice = await newUser();
  }, TIMEOUT_MS);
  // The outage test stops the fake model; whatever happens there, the next test has one.
  afterEach(() => llm.start());
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  /** The chat request whose message to answer was `text`. */
  const requestFor = (text: string): FakeChatRequest => {
    const found = llm.requests.filter((r) => answeredText(r) === text);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const turns = (req: FakeChatRequest): string[] => req.messages.slice(1).map((m) => `${m.role}> ${messageText(m)}`);
  const answerTo = (user: TestUser, roomId: string, text: string): Promise<RawEvent> =>
    user.waitForMessage(roomId, (e) => e.sender === ada && e.content.body === `Ada heard: ${text}`, undefined, `Ada answering "${text}"`);
  const fromAda = (user: TestUser, roomId: string): RawEvent[] => user.events(roomId).filter((e) => e.type === 'm.room.message' && e.sender === ada);


  /**
   * Resolves once an m.receipt from `userId` on `eventId` arrives in the room (read from the
   * raw receipt event: the receipt follows a fast answer, and the client counts the persona's
   * own later message as its read position anyway).
   */
  function receiptFor(user: TestUser, roomId: string, userId: string, eventId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no read receipt by ${userId} on ${eventId}`)), 30_000);
      const onReceipt = (event: sdk.MatrixEvent, room: sdk.Room): void => {
        const content = event.getContent() as Record<string, Record<string, Record<string, unknown>>>;
        if (room.roomId !== roomId || !content[eventId]?.['m.read']?.[userId]) return;
        clearTimeout(timer);
        user.client.off(sdk.RoomEvent.Receipt, onReceipt);
        resolve();
      };
      user.client.on(sdk.RoomEvent.Receipt, onReceipt);
    });
  }

  // Every test opens the rooms it uses, so each one also runs alone (-t) and a failure in one
  // never leaves the next with a half-finished conversation.
  test('a DM reply carries the persona prompt and the earlier messages; read receipt', async () => {
    const dm = await alice.openDm(ada);
    const first = await alice.sendText(dm, 'My name is Alice and I like owls.');
    const receipt = receiptFor(alice, dm, ada, first);
    const firstAnswer = await answerTo(alice, dm, 'My name is Alice and I like owls.');
    await receipt;
    await alice.sendText(dm, 'What do I like?');
    const answer = await answerTo(alice, dm, 'What do I like?');

    const req = requestFor('What do I like?');
    expect(req.stream).toBe(true);
    expect(systemText(req)).toMatch(/^You are Ada, a patient maths tutor\./);
    expect(systemText(req)).toContain('Your traits: patience: high.');
    expect(systemText(req)).toMatch(/This is a private conversation with \S+\./);
    expect(turns(req)).toEqual([
      expect.stringMatching(/^user> .+: My name is Alice and I like owls\.$/),
      `assistant> ${firstAnswer.content.body}`,
      expect.stringMatching(/^user> .+: What do I like\?$/),
    ]);
    // In a DM the answer is a plain message: no reply relation.
    expect(answer.content['m.relates_to']).toBeUndefined();
    expect(answer.content.msgtype).toBe('m.text');
  }, TIMEOUT_MS);

  test('history survives a restart of the bridge', async () => {
    const dm = await alice.openDm(ada);
    await alice.sendText(dm, 'Remember this: I collect teapots.');
    await answerTo(alice, dm, 'Remember this: I collect teapots.');
    await tb.restart();
    await alice.sendText(dm, 'Do you still remember me?');
    await answerTo(alice, dm, 'Do you still remember me?');
    const remembered = turns(requestFor('Do you still remember me?'));
    expect(remembered).toEqual([
      expect.stringMatching(/^user> .+: Remember this: I collect teapots\.$/),
      'assistant> Ada heard: Remember this: I collect teapots.',
      expect.stringMatching(/^user> .+: Do you still remember me\?$/),
    ]);
  }, TIMEOUT_MS);

  test('a thread message is answered in the thread, with the thread as context', async () => {
    const carol = await newUser();
    try {
      const group = await alice.createRoom({ invite: [ada, carol.userId] });
      await alice.waitForMembership(group, ada, 'join');
      await alice.waitForMembership(group, carol.userId, 'join');
      const root = await alice.sendText(group, 'Thread: the analytical engine');
      await carol.sendText(group, 'unrelated main timeline chatter');
      const inThread = { 'm.relates_to': { rel_type: 'm.thread', event_id: root, is_falling_back: true, 'm.in_reply_to': { event_id: root } } };
      await carol.sendText(group, 'It had a mill and a store.', inThread);
      const question = await alice.sendText(group, 'Ada, what did the mill do?', { ...inThread, 'm.mentions': { user_ids: [ada] } });
      const answer = await answerTo(alice, group, 'Ada, what did the mill do?');
      expect(answer.content['m.relates_to']).toEqual({
        rel_type: 'm.thread',
        event_id: root,
        is_falling_back: true,
        'm.in_reply_to': { event_id: question },
      });
      const context = turns(requestFor('Ada, what did the mill do?')).join('\n');
      expect(context).toMatch(/: Thread: the analytical engine\n.+: It had a mill and a store\.\n.+: Ada, what did the mill do\?$/);
      expect(context).not.toContain('unrelated');
      expect(systemText(requestFor('Ada, what did the mill do?'))).toContain('The messages below are a thread in that room.');
    } finally {
      carol.stop();
    }
  }, TIMEOUT_MS);

  test('an LLM outage yields one notice, the bridge keeps serving, and replies resume when the LLM is back', async () => {
    const dm = await alice.openDm(ada);
    await llm.stop();
    const before = fromAda(alice, dm).length;
    await alice.sendText(dm, 'Hello, anyone home?');
    const notice = await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.msgtype === 'm.notice', undefined, 'the outage notice');
    expect(notice.content.body).toBe("I can't think right now — the model endpoint is unavailable (model test-model).");

    // Still serving while the LLM is down: the bot answers commands.
    const botDm = await tb.admin.openDm(tb.botUserId);
    await tb.admin.sendText(botDm, '!ping');
    await tb.admin.waitForMessage(botDm, (e) => e.sender === tb.botUserId && /^Pong!/.test(e.content.body ?? ''));

    await llm.start();
    await alice.sendText(dm, 'And now?');
    await answerTo(alice, dm, 'And now?');
    // A room's answers come in order, so anything else the outage caused (a notice per retry,
    // say) would be among these.
    expect(fromAda(alice, dm).slice(before).map((e) => e.content.msgtype)).toEqual(['m.notice', 'm.text']);
    // The question asked during the outage is part of what the model sees now; the notice is not.
    const context = turns(requestFor('And now?')).join('\n');
    expect(context).toMatch(/: Hello, anyone home\?\n.+: And now\?$/);
    expect(context).not.toContain("can't think");
  }, TIMEOUT_MS);

  test('!summary and !forget are answered by the persona', async () => {
    const dm = await alice.openDm(ada);
    await alice.sendText(dm, 'Something to forget.');
    await answerTo(alice, dm, 'Something to forget.');
    await alice.sendText(dm, '!summary');
    const summary = await alice.waitForMessage(dm, (e) => e.sender === ada && /no summary of this room yet/.test(e.content.body ?? ''));
    expect(summary.content.msgtype).toBe('m.notice');

    await alice.sendText(dm, '!forget');
    await alice.waitForMessage(dm, (e) => e.sender === ada && /forgotten our conversation/.test(e.content.body ?? ''));
    await alice.sendText(dm, 'Who am I?');
    await answerTo(alice, dm, 'Who am I?');
    expect(turns(requestFor('Who am I?'))).toEqual([expect.stringMatching(/^user> .+: Who am I\?$/)]);
  }, TIMEOUT_MS);
});
