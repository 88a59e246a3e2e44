// People and their personas on a real Synapse (issue 27): `!me` reaches a persona's prompt only
// when its person speaks; an admin's ⭐ puts an answer among the next prompt's style examples
// (a guest's does not); `!memories`, `!forget <n>` and `!forget me` work and survive a restart;
// the AI disclosure appears once per person and persona, also across a restart. The fake
// model echoes what it answers; its recorded requests show the prompts.
import { FakeOpenAI, answeredText, systemText, type FakeChatRequest } from '../fakes/FakeOpenAI.js';
import { newUser, seedPersonas, startTestBridge, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 120_000;
const EXAMPLES = 'Answers of yours that people liked';

describe('people and their personas on a real Synapse', () => {
  let tb: TestBridge;
  let llm: FakeOpenAI;
  let ada: string;
  const users: TestUser[] = [];
  const user = async () => {
    const u = await newUser();
    users.push(u);
    return u;
  };

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `echo: ${answeredText(req)}`);
    tb = await startTestBridge({
      llmBaseUrl: llm.baseUrl,
      personasDir: seedPersonas('people', [{ name: 'Ada', prompt: 'You are Ada.' }]),
      config: { disclosure: 'first_contact' },
    });
    ada = tb.personaUserId('Ada');
  }, TIMEOUT_MS);
  afterAll(async () => {
    for (const u of users) u.stop();
    await tb?.stop();
    await llm?.stop();
  });

  const after = (u: TestUser, roomId: string, e: RawEvent, eventId: string) => {
    const timeline = u.events(roomId);
    return timeline.indexOf(e) > timeline.findIndex((x) => x.event_id === eventId);
  };
  /** Sends `text` (unique) and resolves with Ada's answer event and the prompt it came from. */
  async function talk(u: TestUser, roomId: string, text: string, extra: Record<string, unknown> = {}): Promise<{ answer: RawEvent; system: string }> {
    await u.sendText(roomId, text, extra);
    const answer = await u.waitForMessage(roomId, (e) => e.sender === ada && String(e.content.body).startsWith(`echo: ${text}`), undefined, `Ada answering "${text}"`);
    const request = llm.requests.find((r: FakeChatRequest) => answeredText(r) === text)!;
    return { answer, system: systemText(request) };
  }
  /** Sends a command and resolves with the notice that answers it. */
  async function command(u: TestUser, roomId: string, body: string, from = ada): Promise<string> {
    const sent = await u.sendText(roomId, body);
    const notice = await u.waitForMessage(roomId, (e) => e.sender === from && e.content.msgtype === 'm.notice' && after(u, roomId, e, sent), undefined, `the answer to ${body}`);
    return String(notice.content.body);
  }
  async function dmWithAda(u: TestUser): Promise<string> {
    const roomId = await u.createRoom({ invite: [ada], isDirect: true });
    await u.waitForMembership(roomId, ada, 'join');
    return roomId;
  }
  const react = (u: TestUser, roomId: string, eventId: string, key: string) => u.sendContent(roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key } }, 'm.reaction');

  let carol: TestUser;
  let carolDm: string;

  test('the disclosure comes with the first answer to each person, and only then', async () => {
    carol = await user();
    carolDm = await dmWithAda(carol);
    const first = await talk(carol, carolDm, 'hello Ada');
    expect(first.answer.content.body).toBe('echo: hello Ada\n\nℹ️ Ada is an AI character run by localhost: its answers are written by a language model.');
    const second = await talk(carol, carolDm, 'hello again');
    expect(second.answer.content.body).toBe('echo: hello again');
    // What Ada remembers saying is the answer alone: the next prompt has no note.
    expect(JSON.stringify(llm.requests.at(-1)!.messages)).not.toContain('AI character run by');
  }, TIMEOUT_MS);

  test('!me reaches the prompt only when its person speaks', async () => {
    const [alice, bob] = [tb.admin, await user()];
    const bobDm = await dmWithAda(bob);
    expect(await command(bob, bobDm, '!me I am Bob, a botanist who loves ferns.')).toBe(
      'Noted. The personas will know this about you when you speak, in every room. Nobody else is shown it.',
    );
    const room = await alice.createRoom({ invite: [bob.userId, ada], name: 'Greenhouse' });
    for (const u of [bob.userId, ada]) await alice.waitForMembership(room, u, 'join');
    const mention = { 'm.mentions': { user_ids: [ada] } };
    const quiet = await talk(alice, room, 'Ada, what grows here?', mention);
    expect(quiet.system).not.toContain('botanist');
    const spoken = await talk(bob, room, 'Ada, which fern is this?', mention);
    expect(spoken.system).toContain(`About ${bob.localpart}: I am Bob, a botanist who loves ferns.`);
  }, TIMEOUT_MS);

  test("an admin's ⭐ puts the answer among the next prompt's style examples; a guest's does not", async () => {
    const admin = tb.admin;
    const adminDm = await dmWithAda(admin);
    const starred = await talk(admin, adminDm, 'tell me a fine proverb');
    await react(admin, adminDm, starred.answer.event_id, '⭐️');
    const next = await talk(admin, adminDm, 'and another one');
    expect(next.system).toContain(`${EXAMPLES} (examples of your style only, not part of this conversation):\n- echo: tell me a fine proverb`);

    const guest = await talk(carol, carolDm, 'a guest answer to star');
    await react(carol, carolDm, guest.answer.event_id, '⭐');
    const after = await talk(carol, carolDm, 'what now');
    expect(after.system).toContain('- echo: tell me a fine proverb');
    expect(after.system).not.toContain('- echo: a guest answer to star');
  }, TIMEOUT_MS);

  test('!memories, !forget <n> and !forget me work and survive a restart', async () => {
    const dave = await user();
    const dm = await dmWithAda(dave);
    await talk(dave, dm, 'my cat is called Whiskerton');
    expect(await command(dave, dm, '!me Dave, a night-shift nurse.')).toMatch(/^Noted\./);
    expect(await command(dave, dm, '!remember Dave is allergic to peanuts')).toMatch(/^Noted \(#\d+\)/);
    const listed = await command(dave, dm, '!memories');
    expect(listed).toMatch(/^What the personas keep about you \(numbered for forgetting\):\n1\. your !me \(everywhere\): Dave, a night-shift nurse\.\n2\. note #\d+ in !\S+ \(Ada's\): Dave is allergic to peanuts/);
    expect(listed).toContain('And 1 of your message in 1 room');
    expect(await command(dave, dm, '!forget 2')).toMatch(/^Forgotten: 2\. note #\d+/);
    expect(await command(dave, dm, '!memories')).not.toContain('peanuts');

    await tb.restart();
    // After the restart: the note stays forgotten, the rest is there; then everything goes.
    const kept = await command(dave, dm, '!memories');
    expect(kept).toContain('1. your !me (everywhere): Dave, a night-shift nurse.');
    expect(kept).not.toContain('peanuts');
    expect(await command(dave, dm, '!forget me')).toMatch(/^Forget everything about you across every persona/);
    const done = await command(dave, dm, '!forget me --yes');
    expect(done).toMatch(/^Done: the personas have forgotten you\.\nRemoved 1 message from memory and search \(1 room; in 1 where nobody else wrote, the personas' answers too\), 0 notes, the !me description, /);
    expect(done).toContain("What remains: Matrix keeps the rooms' history itself");

    await tb.restart();
    expect(await command(dave, dm, '!memories')).toMatch(/^The personas keep no notes, summaries or description of yours that concern you\./);
    const fresh = await talk(dave, dm, 'do you remember my cat?');
    expect(fresh.system).not.toContain('night-shift');
    expect(JSON.stringify(llm.requests.find((r) => answeredText(r) === 'do you remember my cat?')!.messages)).not.toContain('Whiskerton');

    // The disclosure, given before the restarts, is not repeated to Carol.
    const later = await talk(carol, carolDm, 'still there?');
    expect(later.answer.content.body).toBe('echo: still there?');
  }, TIMEOUT_MS * 2);
});
