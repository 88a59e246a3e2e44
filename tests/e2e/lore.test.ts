// Lorebooks on a real Synapse (issue 27): an imported V3 card's entries reach the persona's
// prompt exactly when their keys and logic match (AND ANY, NOT ANY, a /regex/ key), and a
// standalone lorebook (a SillyTavern World Info export) attached to a room reaches every
// persona there and no other room. The fake model's recorded requests show the prompts.
import { readFileSync } from 'node:fs';
import { FakeOpenAI, answeredText, systemText, type FakeChatRequest } from '../fakes/FakeOpenAI.js';
import { newUser, seedPersonas, startTestBridge, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 90_000;

/** A V3 card as a V3 editor writes it: one entry per rule under test, scanning the newest message only. */
const mira = {
  spec: 'chara_card_v3',
  spec_version: '3.0',
  data: {
    name: 'Mira',
    description: '{{char}} is a ranger of the northern woods.',
    tags: [],
    creator: 'tester',
    character_version: '1',
    mes_example: '',
    extensions: {},
    system_prompt: '',
    post_history_instructions: '',
    first_mes: '',
    alternate_greetings: [],
    personality: '',
    scenario: '',
    creator_notes: '',
    group_only_greetings: [],
    character_book: {
      name: 'Northern woods',
      scan_depth: 1,
      extensions: {},
      entries: [
        { keys: ['dragon'], secondary_keys: ['cave', 'lair'], selective: true, content: 'LORE-AND-ANY: the dragon sleeps in its cave.', enabled: true, insertion_order: 1, use_regex: true, extensions: { selectiveLogic: 0 } },
        { keys: ['dragon'], secondary_keys: ['cave', 'lair'], selective: true, content: 'LORE-NOT-ANY: dragons fly over the open plains.', enabled: true, insertion_order: 2, use_regex: true, extensions: { selectiveLogic: 2 } },
        { keys: ['/\\bwol(f|ves)\\b/i'], content: 'LORE-REGEX: wolves guard the northern pass.', enabled: true, insertion_order: 3, use_regex: true, extensions: {} },
      ],
    },
  },
};
const MARKERS = ['LORE-AND-ANY', 'LORE-NOT-ANY', 'LORE-REGEX'];

describe('lorebooks on a real Synapse', () => {
  let tb: TestBridge;
  let llm: FakeOpenAI;
  let admin: TestUser;
  let adminDm: string;
  let bob: TestUser;

  /** Sends content to the bot and resolves with its first notice after it. */
  async function ask(roomId: string, content: Record<string, unknown>): Promise<string> {
    const sent = await admin.sendContent(roomId, content);
    const answer = await admin.waitForMessage(roomId, (e) => e.sender === tb.botUserId && e.content.msgtype === 'm.notice' && after(admin, roomId, e, sent), undefined, `the answer to ${String(content.body)}`);
    return answer.content.body ?? '';
  }
  const after = (user: TestUser, roomId: string, e: RawEvent, eventId: string) => {
    const timeline = user.events(roomId);
    return timeline.indexOf(e) > timeline.findIndex((x) => x.event_id === eventId);
  };
  const upload = async (data: Buffer, name: string) => (await admin.client.uploadContent(data, { name, type: 'application/json' })).content_uri;
  const fileMessage = (url: string, filename: string, size: number, body: string) => ({ msgtype: 'm.file', body, filename, url, info: { mimetype: 'application/json', size } });

  /** Sends `text` (unique) and resolves with the prompt `persona` answered it with, once the answer is in the room. */
  async function promptFor(user: TestUser, roomId: string, persona: string, text: string): Promise<string> {
    await user.sendText(roomId, text);
    await user.waitForMessage(roomId, (e) => e.sender === persona && e.content.body === `echo: ${text}`, undefined, `${persona} answering "${text}"`);
    return systemText(llm.requests.find((r: FakeChatRequest) => answeredText(r) === text)!);
  }

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `echo: ${answeredText(req)}`);
    const personasDir = seedPersonas('lore', [
      { name: 'Ada', prompt: 'You are Ada. [persona:ADA]' },
      { name: 'Bo', prompt: 'You are Bo. [persona:BO]' },
    ]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir });
    admin = tb.admin;
    adminDm = await admin.createRoom({ invite: [tb.botUserId], isDirect: true });
    await admin.waitForMembership(adminDm, tb.botUserId, 'join');
    bob = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    bob?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  test("an imported V3 card's entries reach the prompt exactly when their keys and logic match", async () => {
    const json = Buffer.from(JSON.stringify(mira));
    const url = await upload(json, 'mira.json');
    expect(await ask(adminDm, { msgtype: 'm.text', body: `!persona import ${url}` })).toMatch(/^character card \(chara_card_v3 3\.0\): created 1 persona: Mira/);
    const miraId = tb.personaUserId('mira');
    const dm = await bob.createRoom({ invite: [miraId], isDirect: true });
    await bob.waitForMembership(dm, miraId, 'join');
    const lore = async (text: string) => {
      const system = await promptFor(bob, dm, miraId, text);
      expect(system).toContain('ranger of the northern woods');
      return MARKERS.filter((m) => system.includes(m));
    };
    expect(await lore('I saw a dragon today')).toEqual(['LORE-NOT-ANY']);
    expect(await lore('The dragon went back to its cave')).toEqual(['LORE-AND-ANY']);
    expect(await lore('A dragon lair, up in a cave')).toEqual(['LORE-AND-ANY']);
    expect(await lore('WOLVES howl at night')).toEqual(['LORE-REGEX']);
    expect(await lore('a wolfish grin, no beasts')).toEqual([]);
    expect(await lore('a wolf and a dragon')).toEqual(['LORE-NOT-ANY', 'LORE-REGEX']);
  }, TIMEOUT_MS);

  test('a SillyTavern World Info export attached to a room reaches every persona there, and no other room', async () => {
    const data = readFileSync(new URL('../fixtures/sillytavern-world-info.json', import.meta.url));
    const url = await upload(data, 'Eldoria.json');
    expect(await ask(adminDm, fileMessage(url, 'Eldoria.json', data.length, '!lore import'))).toBe(
      "Imported lorebook 'Eldoria' (SillyTavern World Info): 15 entries, 1 disabled.\nAttach it with !lore attach Eldoria <persona name | room>.",
    );
    const [ada, bo] = [tb.personaUserId('Ada'), tb.personaUserId('Bo')];
    const room = await admin.createRoom({ invite: [tb.botUserId, ada, bo], name: 'Eldoria tavern' });
    for (const userId of [tb.botUserId, ada, bo]) await admin.waitForMembership(room, userId, 'join');
    expect(await ask(room, { msgtype: 'm.text', body: '!lore attach Eldoria room' })).toBe("Lorebook 'Eldoria' is now used by every persona in this room.");

    const question = 'Ada and Bo: tell me of the dragon';
    await admin.sendText(room, question, { 'm.mentions': { user_ids: [ada, bo] } });
    // Bo answers second, with Ada's answer as the newest line of its prompt: it echoes that.
    for (const persona of [ada, bo]) await admin.waitForMessage(room, (e) => e.sender === persona && String(e.content.body).endsWith(question), undefined, `${persona}'s answer`);
    const prompts = llm.requests.filter((r) => JSON.stringify(r.messages).includes(question)).map(systemText);
    expect(prompts).toHaveLength(2);
    for (const system of prompts) {
      // The constant world rule before the character's prompt, the dragon (NOT ANY cave) after it.
      expect(system.indexOf('Eldoria is a land of three moons')).toBeLessThan(system.indexOf('You are '));
      expect(system.indexOf('Dragons of Eldoria hunt over the open plains')).toBeGreaterThan(system.indexOf('You are '));
    }
    expect(prompts.map((p) => /\[persona:(\w+)\]/.exec(p)?.[1]).sort()).toEqual(['ADA', 'BO']);

    // Ada's direct chat is another room: no Eldoria there.
    const dm = await bob.createRoom({ invite: [ada], isDirect: true });
    await bob.waitForMembership(dm, ada, 'join');
    const elsewhere = await promptFor(bob, dm, ada, 'tell me of the dragon, Ada');
    expect(elsewhere).toContain('[persona:ADA]');
    expect(elsewhere).not.toContain('Eldoria');

    // Detached, the room's personas no longer have it.
    expect(await ask(room, { msgtype: 'm.text', body: '!lore detach Eldoria room' })).toBe("Lorebook 'Eldoria' is no longer used by every persona in this room.");
    const again = 'Ada: the dragon once more';
    await admin.sendText(room, again, { 'm.mentions': { user_ids: [ada] } });
    await admin.waitForMessage(room, (e) => e.sender === ada && e.content.body === `echo: ${again}`, undefined, "Ada's second answer");
    expect(systemText(llm.requests.find((r) => answeredText(r) === again)!)).not.toContain('Eldoria');
  }, TIMEOUT_MS);
});
