// Long-term memory end to end: a persona answers with what was said long ago in the room
// (retrieved from the full-text index into its prompt), never with a redacted message.
// Real users on the real Synapse; the model is a FakeOpenAI whose requests are read back.



import { FakeOpenAI, messageText, systemText, type FakeChatRequest, answeredText } from '../fakes/FakeOpenAI.js';
import { newUser, startTestBridge, type TestBridge, type TestUser, seedPersonas } from './helpers/index.js';

/** The text a request asks the persona to answer: the last line of the last user turn, without "Name: ". */
/** Only the chat prompts (summaries are requests too). */
const isChat = (req: FakeChatRequest): boolean => !systemText(req).startsWith('You keep the memory of');

const TIMEOUT_MS = 180_000;
/** Messages between the fact and the question: far more than a prompt's recent turns hold. */
const FILLER = 300;

describe('long-term memory on a real Synapse', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;
  let bo: string;

  beforeAll(async () => {
    // Ada echoes what she answers (so each answer is recognisable), except the secret: an
    // echo of it would be a second, unredacted copy.
    llm = (await FakeOpenAI.start()).respondWith((req) => {
      if (!isChat(req)) return 'A chapter of small talk.';
      const text = answeredText(req);
      return text.includes('locker code is') ? 'Noted.' : `ok: ${text}`;
    });
    const personasDir = seedPersonas('recall', [{ name: 'Ada', prompt: 'You are Ada, who remembers everything.' }, { name: 'Bo', prompt: 'You are Bo.' }]);
    // Alice sends hundreds of messages here: the per-user answer limit is not what is tested.
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { dispatch: { user_rate_limit: { messages: 10_000 } } } });
    ada = tb.personaUserId('Ada');
    bo = tb.personaUserId('Bo');
    alice = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  /** The one chat request that answered `text`. */
  const requestFor = (text: string): FakeChatRequest => {
    const found = llm.requests.filter((r) => isChat(r) && answeredText(r) === text);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const turns = (req: FakeChatRequest): string => req.messages.slice(1).map(messageText).join('\n');
  const answered = (roomId: string, text: string) =>
    alice.waitForMessage(roomId, (e) => e.sender === ada && e.content.body === `ok: ${text}`, 120_000, `Ada answering "${text}"`);

  /**
   * Delivers messages to the bridge as Synapse would (one PUT transaction), quickly: as
   * notices, which personas do not answer, so the test does not wait for hundreds of answers.
   * They are conversation all the same: remembered, and in later prompts.
   */
  async function pushNotices(roomId: string, sender: string, bodies: string[]): Promise<void> {
    const stamp = Date.now();
    const events = bodies.map((body, i) => ({
      type: 'm.room.message',
      room_id: roomId,
      sender,
      event_id: `$recall-filler-${stamp}-${i}`,
      origin_server_ts: stamp + i,
      content: { msgtype: 'm.notice', body },
    }));
    const res = await fetch(`${tb.appserviceUrl}/_matrix/app/v1/transactions/recall-${stamp}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tb.registration.getHomeserverToken()}` },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(200);
  }

  test('a fact said early is in the prompt 300 messages later; a redacted one never is', async () => {
    const dm = await alice.openDm(ada);
    const fact = 'My sister Xandria keeps three ferrets called Pip, Rolo and Mochi.';
    await alice.sendText(dm, fact);
    const secret = await alice.sendText(dm, 'My locker code is 4417, the locker by the gym.');
    await answered(dm, fact);
    await pushNotices(dm, alice.userId, Array.from({ length: FILLER }, (_, i) => `Filler ${i}: the weather was mild and the tea was hot.`));
    await alice.client.redactEvent(dm, secret);

    const question = 'Which pets does my sister have?';
    await alice.sendText(dm, question);
    await answered(dm, question);
    const asked = requestFor(question);
    // Retrieved, with who said it and when: not among the recent turns, long out of the window.
    expect(systemText(asked)).toMatch(/Earlier in this room \(older messages that may be relevant, oldest first\):\n(.*\n)*\[\d{4}-\d\d-\d\d \d\d:\d\d UTC\] [^:\n]+: My sister Xandria keeps three ferrets called Pip, Rolo and Mochi\./);
    expect(turns(asked)).not.toContain('Xandria');
    expect(turns(asked)).toContain(`Filler ${FILLER - 1}:`);
    expect(turns(asked)).not.toContain('Filler 0:');

    const lockerQuestion = 'What was my locker code again?';
    await alice.sendText(dm, lockerQuestion);
    await answered(dm, lockerQuestion);
    const lockerPrompt = requestFor(lockerQuestion).messages.map(messageText).join('\n');
    expect(lockerPrompt).not.toContain('4417');
    expect(lockerPrompt).not.toContain('by the gym');
    // Only the redacted message spoke of a locker or a code: nothing is recalled at all.
    expect(systemText(requestFor(lockerQuestion))).not.toContain('Earlier in this room');
  }, TIMEOUT_MS);

  test('!remember, !recall, !search and !forget note work in a DM and refuse bad input; notes are in every prompt', async () => {
    const dm = await alice.openDm(ada);
    /** Sends a command and returns Ada's answer to it (the next message from her). */
    const command = async (body: string): Promise<string> => {
      const before = alice.events(dm).length;
      await alice.sendText(dm, body);
      const answer = await alice.waitForMessage(dm, (e) => e.sender === ada && alice.events(dm).indexOf(e) >= before, 30_000, `Ada answering ${body}`);
      return answer.content.body ?? '';
    };
    const spoken = await alice.sendText(dm, 'The spare key is under the blue flowerpot.');
    await answered(dm, 'The spare key is under the blue flowerpot.');

    expect(await command('!remember Alice takes her tea without sugar')).toMatch(/^Noted \(#\d+\)\./);
    const listed = await command('!recall flowerpot');
    expect(listed).toMatch(/^Notes I keep for this room \(1\):\n#\d+ \(\d{4}-\d\d-\d\d \d\d:\d\d UTC, https:\/\/matrix\.to\/#\/[^)]+\): Alice takes her tea without sugar/);
    expect(listed).toContain(`https://matrix.to/#/${encodeURIComponent(dm)}/${encodeURIComponent(spoken)}`);
    expect(listed).toMatch(/Best matches for "flowerpot" in this room's history:\n(.*\n)*\d\. \d{4}-\d\d-\d\d \d\d:\d\d UTC — [^:\n]+: The spare key is under the blue flowerpot\./);
    const searched = await command('!search where is the spare key?');
    expect(searched).toContain('The spare key is under the blue flowerpot.');
    expect(searched).toContain(encodeURIComponent(spoken));

    // The note is in the prompt of the next answer.
    await alice.sendText(dm, 'How do I like my tea?');
    await answered(dm, 'How do I like my tea?');
    expect(systemText(requestFor('How do I like my tea?'))).toContain('Notes you were asked to keep about this conversation:\n- Alice takes her tea without sugar');

    expect(await command('!remember')).toBe('What should I remember? Put it after the command.\nUsage: !remember <text>');
    expect(await command('!search')).toBe('Search for what? Put the words after the command.\nUsage: !search <words>');
    expect(await command('!forget note twelve')).toMatch(/^'twelve' is not a note number.*\nUsage: !forget note <number>$/);
    expect(await command('!forget note 99999')).toBe('I keep no note #99999 in this room.');
    const id = /#(\d+)/.exec(listed)![1]!;
    expect(await command(`!forget note ${id}`)).toBe(`Removed note #${id}: "Alice takes her tea without sugar"`);
    expect(await command('!recall')).toMatch(/^I keep no notes for this room yet\./);
  }, TIMEOUT_MS);

  test('!search in a group room finds only what the persona was present for', async () => {
    const carol = await newUser();
    // Bo is there from the start (so the room is remembered); Ada joins later.
    const group = await alice.createRoom({ name: 'recall group', invite: [carol.userId, bo] });
    await alice.waitForMembership(group, carol.userId, 'join');
    await alice.waitForMembership(group, bo, 'join');
    const before = await alice.sendText(group, 'The treasure map was drawn before Ada came.');
    await alice.client.invite(group, ada);
    await alice.waitForMembership(group, ada, 'join');
    const after = await alice.sendText(group, 'The treasure chest is buried under the old oak.');
    const ask = async (persona: string, body: string): Promise<string> => {
      const seen = alice.events(group).length;
      await alice.sendText(group, body, { 'm.mentions': { user_ids: [persona] } });
      const answer = await alice.waitForMessage(group, (e) => e.sender === persona && alice.events(group).indexOf(e) >= seen, 30_000, `${persona} answering ${body}`);
      return answer.content.body ?? '';
    };
    // Bo was there all along: both messages.
    const boFound = await ask(bo, '!search Bo treasure');
    expect(boFound).toContain(encodeURIComponent(after));
    expect(boFound).toContain(encodeURIComponent(before));
    const found = await ask(ada, '!search Ada treasure');
    expect(found).toContain('The treasure chest is buried under the old oak.');
    expect(found).toContain(encodeURIComponent(after));
    expect(found).not.toContain('drawn before Ada came');
    expect(found).not.toContain(encodeURIComponent(before));
    carol.stop();
  }, TIMEOUT_MS);
});
