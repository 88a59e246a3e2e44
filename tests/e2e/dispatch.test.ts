// Who answers what, end to end: real users on the real Synapse talk to seed personas whose
// LLM is a FakeOpenAI. No assertion waits for "nothing happened": silence is proven by what
// arrives first afterwards (a room's messages are answered in order).



import { FakeOpenAI, systemText, type FakeChatRequest, answeredText } from '../fakes/FakeOpenAI.js';
import { newUser, startTestBridge, type RawEvent, type TestBridge, type TestUser, seedPersonas } from './helpers/index.js';

const LOOP_THRESHOLD = 2;
/** Per test: real Synapse round trips take longer than jest's default. */
const TIMEOUT_MS = 60_000;

/** Which seed persona a chat request is for (its prompt carries a marker). */
const personaOf = (req: FakeChatRequest): string => /\[persona:(\w+)\]/.exec(systemText(req))?.[1] ?? 'unknown';
/** The message being answered: the last line of the last user turn, without its "Name: ". */

/**
 * Personas echo what they answer; told to "keep talking", each addresses the other by @Name,
 * which the bridge sends as a real mention: the loop the dispatcher must stop.
 */
function fakeReply(req: FakeChatRequest): string {
  const me = personaOf(req);
  const text = answeredText(req);
  if (/keep talking|what do you think/i.test(text)) return me === 'ada' ? '@Bob what do you think?' : '@Ada what do you think?';
  return `${me} heard: ${text}`;
}

describe('dispatcher on a real Synapse', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let carol: TestUser;
  let ada: string;
  let bob: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith(fakeReply);
    const personasDir = seedPersonas('dispatch', [{ name: 'Ada', prompt: 'You are Ada. [persona:ada]' }, { name: 'Bob', prompt: 'You are Bob. [persona:bob]' }]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { dispatch: { loop_threshold: LOOP_THRESHOLD } } });
    ada = tb.personaUserId('Ada');
    bob = tb.personaUserId('Bob');
    [alice, carol] = await Promise.all([newUser(), newUser()]);
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    carol?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  const messagesFrom = (user: TestUser, roomId: string, sender: string, msgtype = 'm.text'): RawEvent[] =>
    user.events(roomId).filter((e) => e.type === 'm.room.message' && e.sender === sender && e.content.msgtype === msgtype);

  /** Waits for `sender`'s answer to exactly this text (the fake echoes it). */
  const answerTo = (user: TestUser, roomId: string, sender: string, text: string): Promise<RawEvent> =>
    user.waitForMessage(
      roomId,
      (e) => e.sender === sender && e.content.body === `${sender === ada ? 'ada' : 'bob'} heard: ${text}`,
      undefined,
      `${sender} answering "${text}"`,
    );

  async function groupWith(...personas: string[]): Promise<string> {
    const roomId = await alice.createRoom({ invite: [carol.userId, ...personas] });
    for (const userId of [carol.userId, ...personas]) await alice.waitForMembership(roomId, userId, 'join');
    return roomId;
  }

  test('a DM is always answered', async () => {
    const roomId = await alice.openDm(ada);
    await alice.sendText(roomId, 'hello there');
    await answerTo(alice, roomId, ada, 'hello there');
    await alice.sendText(roomId, 'no name needed');
    await answerTo(alice, roomId, ada, 'no name needed');
    expect(messagesFrom(alice, roomId, ada)).toHaveLength(2);
  }, TIMEOUT_MS);

  test('a group stays silent until the persona is mentioned by name, by pill and by reply', async () => {
    const roomId = await groupWith(ada);
    await alice.sendText(roomId, 'morning all');
    await carol.sendText(roomId, 'morning alice');
    await alice.sendText(roomId, 'what do you say, ada?');
    const byName = await answerTo(alice, roomId, ada, 'what do you say, ada?');
    // Answered in order: had the chatter triggered Ada, those answers would have come first.
    expect(messagesFrom(alice, roomId, ada)).toEqual([byName]);

    await carol.sendContent(roomId, {
      msgtype: 'm.text',
      body: 'Countess: thoughts?',
      format: 'org.matrix.custom.html',
      formatted_body: `<a href="https://matrix.to/#/${ada}">Countess</a>: thoughts?`,
    });
    await answerTo(alice, roomId, ada, 'Countess: thoughts?');

    await alice.sendText(roomId, 'why is that', { 'm.relates_to': { 'm.in_reply_to': { event_id: byName.event_id } } });
    await answerTo(alice, roomId, ada, 'why is that');
    expect(messagesFrom(alice, roomId, ada)).toHaveLength(3);
  }, TIMEOUT_MS);

  test('two personas told to address each other stop after the threshold; a human lets them speak again', async () => {
    const roomId = await groupWith(ada, bob);
    await alice.sendText(roomId, 'Ada, keep talking');
    // Ada, Bob, Ada, Bob: the sequence has repeated LOOP_THRESHOLD times; Ada's next answer is withheld.
    const notice = await alice.waitForMessage(roomId, (e) => e.content.msgtype === 'm.notice' && /loop/.test(e.content.body ?? ''), undefined, 'the loop notice');
    const personaTexts = () => [...messagesFrom(alice, roomId, ada), ...messagesFrom(alice, roomId, bob)];
    expect(personaTexts()).toHaveLength(2 * LOOP_THRESHOLD);
    expect(notice.content.body).toMatch(/Ada and Bob/);
    // Their replies were real mentions: that is how the other persona was triggered.
    expect(messagesFrom(alice, roomId, bob)[0]?.content['m.mentions']).toEqual({ user_ids: [ada] });
    expect(tb.app.services.dispatcher.stats.suppressedLoops).toBe(1);

    await carol.sendText(roomId, 'Bob, keep talking');
    await alice.waitForMessage(
      roomId,
      () => alice.events(roomId).filter((e) => e.content.msgtype === 'm.notice' && /loop/.test(e.content.body ?? '')).length === 2,
      undefined,
      'a second loop notice',
    );
    expect(personaTexts()).toHaveLength(4 * LOOP_THRESHOLD);
  }, TIMEOUT_MS);

  test('a replayed transaction produces one reply', async () => {
    const roomId = await alice.openDm(ada);
    const eventId = await alice.sendText(roomId, 'answer me once');
    await answerTo(alice, roomId, ada, 'answer me once');
    const original = await alice.waitForEvent(roomId, (e) => e.event_id === eventId);
    const replay = (txnId: string) =>
      fetch(`${tb.appserviceUrl}/_matrix/app/v1/transactions/${txnId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tb.registration.getHomeserverToken()}` },
        body: JSON.stringify({ events: [original] }),
      });
    // The same transaction twice, then the same event in a new transaction.
    const txnId = `dispatch-replay-${Date.now()}`;
    for (const id of [txnId, txnId, `${txnId}-again`]) expect((await replay(id)).status).toBe(200);
    await alice.sendText(roomId, 'after the replay');
    await answerTo(alice, roomId, ada, 'after the replay');
    // The room is answered in order: a reply to the replayed event would have come first.
    expect(messagesFrom(alice, roomId, ada).map((e) => e.content.body)).toEqual(['ada heard: answer me once', 'ada heard: after the replay']);
  }, TIMEOUT_MS);

  test('a transaction replayed after a bridge restart is not answered again', async () => {
    const roomId = await alice.openDm(ada);
    const eventId = await alice.sendText(roomId, 'answer me once, restart or not');
    await answerTo(alice, roomId, ada, 'answer me once, restart or not');
    const original = await alice.waitForEvent(roomId, (e) => e.event_id === eventId);
    // A new process with the same database: what it has handled is remembered on disk.
    await tb.restart();
    // Synapse retries a transaction it saw fail (or time out) with the same txnId; the first
    // process acknowledged it, so only the persisted event_id can stop a second answer.
    const res = await fetch(`${tb.appserviceUrl}/_matrix/app/v1/transactions/restart-replay-${Date.now()}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tb.registration.getHomeserverToken()}` },
      body: JSON.stringify({ events: [original] }),
    });
    expect(res.status).toBe(200);
    await alice.sendText(roomId, 'after the restart replay');
    await answerTo(alice, roomId, ada, 'after the restart replay');
    expect(messagesFrom(alice, roomId, ada).map((e) => e.content.body)).toEqual([
      'ada heard: answer me once, restart or not',
      'ada heard: after the restart replay',
    ]);
    expect(llm.requests.filter((r) => answeredText(r) === 'answer me once, restart or not')).toHaveLength(1);
  }, TIMEOUT_MS);
});
