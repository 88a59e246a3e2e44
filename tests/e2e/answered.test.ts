// Nothing met with silence (issue 24), on the real Synapse: every command addressed to the
// bridge gets an answer. In the bot's direct chat `!status` and a typo (`!hlep`) are answered;
// in a group room people made with the personas they wanted and no bridge bot, `!converse 4 …`
// gives exactly 4 persona messages (a persona speaks for the bridge), `!remember` without a
// persona name is answered and reaches the prompt, and a name typed without its accent
// ("zoe, are you there?") gets Zoë's answer.
import { FakeOpenAI, lastUserText, systemText, type FakeChatRequest, type FakeResponse } from '../fakes/FakeOpenAI.js';
import { newUser, seedPersonas, startTestBridge, taggedPersonaOf, timelineOrder, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const sceneTurnOf = (req: FakeChatRequest): number | null => Number(/This is turn (\d+) of/.exec(systemText(req))?.[1] ?? NaN) || null;

function respond(req: FakeChatRequest): FakeResponse {
  const persona = taggedPersonaOf(req);
  const turn = sceneTurnOf(req);
  if (turn !== null) return { content: `${persona} speaks, turn ${turn}.` };
  return { content: `${persona} answers: ${lastUserText(req).split('\n').at(-1) ?? ''}` };
}

const isEdit = (e: RawEvent): boolean => (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace';

describe('nothing met with silence (real Synapse)', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let bob: TestUser;
  let group: string;
  let zoe: string;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith(respond);
    // Tagged prompts (taggedPersonaOf) in ASCII: the fake answers as `zoe`.
    const personasDir = seedPersonas('answered', [
      { name: 'Zoë', prompt: 'You are Zoë. [persona:zoe]' },
      { name: 'Ada', prompt: 'You are Ada. [persona:ada]' },
    ]);
    // The model the fake lists, so `!status` finds it served.
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { llm: { model: 'fake-model' } } });
    // Zoë's user ID is derived from her name: zoe.
    [zoe, ada] = [tb.personaUserId('zoe'), tb.personaUserId('Ada')];
    bob = await newUser();
    // The room people make: the personas they want, not the bridge bot.
    group = await bob.createRoom({ invite: [zoe, ada], name: 'no bot here' });
    for (const persona of [zoe, ada]) await bob.waitForMembership(group, persona, 'join');
  }, 90_000);
  afterAll(async () => {
    bob?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  const isAfter = (user: TestUser, roomId: string) => timelineOrder(() => user.events(roomId));
  /** The first message from one of `senders` after `after` in `user`'s view of the room. */
  const answerTo = (user: TestUser, roomId: string, after: string, senders: string[], what: string) =>
    user.waitForMessage(roomId, (e) => senders.includes(e.sender) && !isEdit(e) && isAfter(user, roomId)(after, e), undefined, what);

  test("!status, !hlep and other typos in the bot's direct chat are answered; anyone may list the personas", async () => {
    const admin = tb.admin;
    const dm = await admin.openDm(tb.botUserId);
    const status = await admin.sendText(dm, '!status');
    const full = await answerTo(admin, dm, status, [tb.botUserId], 'the answer to !status');
    expect(full.content.body).toMatch(/^Up \d+ (s|min)[^\n]*\. 2 personas: Ada, Zoë\.\nModels:\n- fake-model at http:\/\/127\.0\.0\.1:\d+\/v1 \(Ada, Zoë\): answers\nTool servers:\n- memory \(built-in\): ready, 2 tools\nEncryption: off/);
    const typo = await admin.sendText(dm, '!hlep');
    expect((await answerTo(admin, dm, typo, [tb.botUserId], 'the answer to !hlep')).content.body).toBe(
      'Unknown command !hlep. Did you mean !help? !help lists the commands that apply here.',
    );
    const sub = await admin.sendText(dm, '!persona lst');
    expect((await answerTo(admin, dm, sub, [tb.botUserId], 'the answer to !persona lst')).content.body).toBe(
      'Unknown command !persona lst. Did you mean !persona list or !persona set? !help lists the commands that apply here.',
    );
    const show = await admin.sendText(dm, '!persona show Zoe');
    expect((await answerTo(admin, dm, show, [tb.botUserId], 'the answer to !persona show Zoe')).content.body).toMatch(/^Zoë \(@/);

    // Bob is no admin: the short status, and the personas with their models, read-only.
    const bobDm = await bob.openDm(tb.botUserId);
    const short = await bob.sendText(bobDm, '!status');
    expect((await answerTo(bob, bobDm, short, [tb.botUserId], "the answer to bob's !status")).content.body).toMatch(
      /^Up \d+ (s|min)[^.]*\. 2 personas\. The model answers\. Encryption: off\. (Nothing|\d+ answers?) waiting\.$/,
    );
    const list = await bob.sendText(bobDm, '!persona list');
    expect((await answerTo(bob, bobDm, list, [tb.botUserId], "the answer to bob's !persona list")).content.body).toBe(
      `2 personas:\nAda — ${ada} — model fake-model\nZoë — ${zoe} — model fake-model`,
    );
  }, 90_000);

  test('"zoe, are you there?" (no accent, no pill) gets Zoë\'s answer', async () => {
    const asked = await bob.sendText(group, 'zoe, are you there?');
    const answer = await answerTo(bob, group, asked, [zoe, ada], "Zoë's answer");
    expect(answer.sender).toBe(zoe);
    expect(answer.content.body).toMatch(/^zoe answers: .*zoe, are you there\?$/);
  }, 60_000);

  test('!converse 4 in a room with two personas and no bot: 4 persona messages, the bridge speaking through a persona', async () => {
    const command = await bob.sendText(group, '!converse 4 the far side of the moon', { 'm.mentions': {} });
    const started = await answerTo(bob, group, command, [zoe, ada, tb.botUserId], 'the scene announcement');
    expect(started.content.msgtype).toBe('m.notice');
    expect(started.content.body).toMatch(/^Scene: 4 turns about "the far side of the moon" between /);
    await bob.waitForMessage(group, (e) => /^The scene is over \(4 of 4 turns\)/.test(e.content.body ?? '') && isAfter(bob, group)(command, e), undefined, 'the end of the scene');
    // The marker: a 5th turn would be queued ahead of this answer.
    const marker = await bob.sendText(group, 'Ada, one more thing');
    await answerTo(bob, group, marker, [ada], "Ada's answer to the marker");
    const order = isAfter(bob, group);
    const events = bob.events(group);
    const markerAt = events.findIndex((e) => e.event_id === marker);
    const turns = events.filter(
      (e, i) => i < markerAt && order(command, e) && [zoe, ada].includes(e.sender) && e.content.msgtype === 'm.text' && !isEdit(e),
    );
    expect(turns.map((e) => String(e.content.body).replace(/^\w+ speaks, /, ''))).toEqual(['turn 1.', 'turn 2.', 'turn 3.', 'turn 4.']);
    expect(events.some((e) => e.sender === tb.botUserId)).toBe(false);
  }, 90_000);

  test('!remember without a persona name in a group room is answered, and the note reaches the prompt', async () => {
    const remember = await bob.sendText(group, '!remember the meeting is at five', { 'm.mentions': {} });
    const noted = await answerTo(bob, group, remember, [zoe, ada, tb.botUserId], 'the answer to !remember');
    expect(noted.content.msgtype).toBe('m.notice');
    expect(noted.content.body).toMatch(/^Noted \(#\d+\)\. .*every persona in this room/);
    const asked = await bob.sendText(group, 'Ada, when is the meeting?');
    await answerTo(bob, group, asked, [ada], "Ada's answer");
    const prompt = llm.requests.filter((r) => taggedPersonaOf(r) === 'ada').at(-1)!;
    expect(systemText(prompt)).toContain('the meeting is at five');
  }, 60_000);
});
