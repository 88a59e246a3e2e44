// Character cards and PluralKit exports on a real Synapse: an admin imports a V2 PNG card
// (uploaded with the command as its caption), a V2 JSON card (the command as a reply to the
// file) and a PluralKit export (by mxc:// URL); the personas get the card's name, avatar and
// prompt (the fake model's recorded request shows the mapped prompt), greet a new DM with the
// card's first message; an export comes back as a card that imports to the same persona.
import { planImport } from '../../src/portability/importFile.js';
import { readPngText } from '../../src/portability/pngText.js';
import { FakeOpenAI, systemText } from '../fakes/FakeOpenAI.js';
import { cardPng } from '../fakes/pngImage.js';
import { newUser, readState, startTestBridge, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const seraphina = {
  spec: 'chara_card_v2',
  spec_version: '2.0',
  data: {
    name: 'Seraphina',
    description: '{{char}} is the guardian of a hidden glade. She speaks softly to {{user}}.',
    personality: 'gentle, protective',
    scenario: '{{user}} wakes up in the glade.',
    first_mes: '*Seraphina kneels beside {{user}}.* You are safe here.',
    mes_example: '',
    creator_notes: 'SECRET NOTE FOR HUMANS ONLY',
    system_prompt: '',
    post_history_instructions: '',
    alternate_greetings: [],
    tags: ['fantasy'],
    creator: 'tester',
    character_version: '1',
    extensions: { talkativeness: '0.5' },
    character_book: { entries: [{ keys: ['glade'], content: 'The glade hides a spring.', enabled: true, insertion_order: 0 }] },
  },
};

const zoe = {
  spec: 'chara_card_v2',
  spec_version: '2.0',
  data: { name: 'Zoë', description: '{{char}} is a cheerful cartographer who maps dreams.', first_mes: '' },
};

const pluralKit = {
  version: 2,
  name: 'Orbit',
  members: [
    { id: 'aaaaa', name: 'kip', display_name: 'Kip', description: 'Loves engines.', pronouns: 'he/him', avatar_url: null, proxy_tags: [] },
    { id: 'bbbbb', name: 'Ōkami', description: 'A quiet wolf.', avatar_url: null, proxy_tags: [] },
    { id: 'ccccc', name: '小月', pronouns: 'she/her', avatar_url: null, proxy_tags: [] },
  ],
  groups: [],
  switches: [],
};

describe('persona import and export on a real Synapse', () => {
  let tb: TestBridge;
  let llm: FakeOpenAI;
  let admin: TestUser;
  let adminDm: string;
  const others: TestUser[] = [];

  /** Sends content and resolves with the bot's first notice after it in that room. */
  async function ask(content: Record<string, unknown>): Promise<string> {
    const sent = await admin.sendContent(adminDm, content);
    const answer = await admin.waitForMessage(
      adminDm,
      (e) => e.sender === tb.botUserId && e.content.msgtype === 'm.notice' && after(admin, adminDm, e, sent),
      undefined,
      `the answer to ${JSON.stringify(content.body)}`,
    );
    return answer.content.body ?? '';
  }

  const after = (user: TestUser, roomId: string, e: RawEvent, eventId: string) => {
    const timeline = user.events(roomId);
    return timeline.indexOf(e) > timeline.findIndex((x) => x.event_id === eventId);
  };

  async function upload(data: Buffer, name: string, type: string): Promise<string> {
    const res = await admin.client.uploadContent(data, { name, type });
    return res.content_uri;
  }

  async function download(mxc: string): Promise<Buffer> {
    const [server, id] = mxc.replace('mxc://', '').split('/');
    const res = await fetch(`${readState().synapse.baseUrl}/_matrix/client/v1/media/download/${server}/${id}`, {
      headers: { authorization: `Bearer ${admin.accessToken}` },
    });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  const fileMessage = (url: string, filename: string, mimetype: string, size: number, body: string) => ({
    msgtype: 'm.file',
    body,
    filename,
    url,
    info: { mimetype, size },
  });

  beforeAll(async () => {
    llm = await FakeOpenAI.start();
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl });
    admin = tb.admin;
    adminDm = await admin.createRoom({ invite: [tb.botUserId], isDirect: true });
    await admin.waitForMembership(adminDm, tb.botUserId, 'join');
  });
  afterAll(async () => {
    for (const u of others) u.stop();
    await tb?.stop();
    await llm?.stop();
  });

  test('a V2 PNG card uploaded with the command as caption: name, avatar from the PNG, mapped prompt, first message in a new DM', async () => {
    const png = cardPng(seraphina, 'chara', [40, 160, 90]);
    const url = await upload(png, 'seraphina.png', 'image/png');
    const persona = tb.personaUserId('seraphina');
    expect(await ask(fileMessage(url, 'seraphina.png', 'image/png', png.length, '!persona import'))).toBe(
      `character card (chara_card_v2 2.0): created 1 persona: Seraphina (${persona})`,
    );
    const profile = await admin.client.getProfileInfo(persona);
    expect(profile.displayname).toBe('Seraphina');
    const avatar = await download(profile.avatar_url!);
    // The card's image, without the card in it.
    expect(avatar.subarray(0, 8)).toEqual(png.subarray(0, 8));
    expect(readPngText(avatar).size).toBe(0);

    const bob = await newUser();
    others.push(bob);
    const dm = await bob.createRoom({ invite: [persona], isDirect: true });
    const greeting = await bob.waitForMessage(dm, (e) => e.sender === persona, undefined, 'the first message');
    expect(greeting.content.body).toBe(`*Seraphina kneels beside ${bob.localpart}.* You are safe here.`);

    const marker = `Where am I? ${Date.now()}`;
    await bob.sendText(dm, marker);
    await bob.waitForMessage(dm, (e) => e.sender === persona && e.event_id !== greeting.event_id, undefined, 'the answer');
    const request = llm.requests.find((r) => JSON.stringify(r.messages).includes(marker))!;
    const system = systemText(request);
    expect(system).toContain('Seraphina is the guardian of a hidden glade. She speaks softly to the user.');
    expect(system).toContain("Seraphina's personality: gentle, protective");
    expect(system).toContain('Scenario: the user wakes up in the glade.');
    expect(system).not.toContain('SECRET');
    // The greeting is part of the conversation the model sees.
    expect(JSON.stringify(request.messages)).toContain('You are safe here.');
    // The lorebook entry comes only when a message names its key.
    expect(system).not.toContain('The glade hides a spring.');
    const asked = `Tell me about this glade ${Date.now()}`;
    const before = bob.events(dm).length;
    await bob.sendText(dm, asked);
    await bob.waitForMessage(dm, (e) => e.sender === persona && bob.events(dm).indexOf(e) >= before, undefined, 'the answer about the glade');
    const loreRequest = llm.requests.find((r) => JSON.stringify(r.messages).includes(asked))!;
    // After the character's own prompt (the entry's position, after_char by default).
    const loreSystem = systemText(loreRequest);
    expect(loreSystem).toContain('The glade hides a spring.');
    expect(loreSystem.indexOf('The glade hides a spring.')).toBeGreaterThan(loreSystem.indexOf('guardian of a hidden glade'));
  });

  test('a V2 JSON card with the command as a reply to the file; a Unicode name gets a transliterated ID', async () => {
    const json = Buffer.from(JSON.stringify(zoe));
    const url = await upload(json, 'zoe.json', 'application/json');
    const fileEvent = await admin.sendContent(adminDm, fileMessage(url, 'zoe.json', 'application/json', json.length, 'zoe.json'));
    const persona = tb.personaUserId('zoe');
    const answer = await ask({ msgtype: 'm.text', body: '!persona import', 'm.relates_to': { 'm.in_reply_to': { event_id: fileEvent } } });
    expect(answer).toBe(`character card (chara_card_v2 2.0): created 1 persona: Zoë (${persona})`);
    expect((await admin.client.getProfileInfo(persona)).displayname).toBe('Zoë');
    expect(tb.app.services.personas.byUserId(persona)?.prompt).toBe('Zoë is a cheerful cartographer who maps dreams.');
  });

  test('a PluralKit export with 3 members by mxc:// URL creates 3 personas; bad input creates nothing and says why', async () => {
    const json = Buffer.from(JSON.stringify(pluralKit));
    const url = await upload(json, 'pk.json', 'application/json');
    const answer = await ask({ msgtype: 'm.text', body: `!persona import ${url}` });
    expect(answer).toBe(
      `PluralKit export (version 2): created 3 personas: Kip (${tb.personaUserId('kip')}), Ōkami (${tb.personaUserId('okami')}), 小月 (${tb.personaUserId('xiaoyue')})`,
    );
    for (const [id, name] of [['kip', 'Kip'], ['okami', 'Ōkami'], ['xiaoyue', '小月']]) {
      expect((await admin.client.getProfileInfo(tb.personaUserId(id!))).displayname).toBe(name);
    }
    expect(tb.app.services.personas.byUserId(tb.personaUserId('kip'))?.prompt).toBe('You are Kip, one of the system Orbit.\n\nYour pronouns are he/him.\n\nLoves engines.');

    const before = tb.app.services.personas.list().length;
    const plain = await upload(cardPng({ not: 'a card' }, 'comment'), 'photo.png', 'image/png');
    expect(await ask({ msgtype: 'm.text', body: `!persona import ${plain}` })).toBe(
      "Nothing was imported: The PNG has no character card in it (no 'chara' or 'ccv3' text chunk): it is just an image.",
    );
    const future = await upload(Buffer.from(JSON.stringify({ spec: 'chara_card_v4', spec_version: '4.0', data: {} })), 'v4.json', 'application/json');
    expect(await ask({ msgtype: 'm.text', body: `!persona import ${future}` })).toBe(
      'Nothing was imported: Unknown card spec "chara_card_v4": supported are chara_card_v2, chara_card_v3.',
    );
    expect(tb.app.services.personas.list().length).toBe(before);
  });

  test('export round-trips: a JSON and a PNG card, which import again to the same persona', async () => {
    const answer = await ask({ msgtype: 'm.text', body: '!persona export Seraphina' });
    const prefix = tb.personaUserId('seraphina').slice(1).split(':')[0];
    expect(answer).toBe(`Exported Seraphina as a V2 character card: ${prefix}.card.json, ${prefix}.card.png.`);
    const files = admin.events(adminDm).filter((e) => e.sender === tb.botUserId && e.content.msgtype === 'm.file');
    const png = files.find((e) => e.content.body === `${prefix}.card.png`)!;
    const json = files.find((e) => e.content.body === `${prefix}.card.json`)!;
    const original = tb.app.services.personas.byUserId(tb.personaUserId('seraphina'))!;

    const fromJson = planImport(await download(json.content.url as string), 'x.json').personas[0]!;
    expect(fromJson).toMatchObject({ name: 'Seraphina', prompt: original.prompt, firstMessage: '*Seraphina kneels beside {{user}}.* You are safe here.' });
    expect(fromJson.card).toMatchObject({ creator_notes: 'SECRET NOTE FOR HUMANS ONLY', tags: ['fantasy'], extensions: { talkativeness: '0.5' } });
    expect(fromJson.card.character_book?.entries[0]?.content).toBe('The glade hides a spring.');

    // The PNG card, imported again (after the original is gone), is the same persona.
    expect(await ask({ msgtype: 'm.text', body: '!persona despawn Seraphina' })).toMatch(/^Despawned Seraphina/);
    const again = tb.personaUserId('seraphina_2');
    expect(await ask({ msgtype: 'm.text', body: `!persona import ${png.content.url as string}` })).toBe(
      `character card (chara_card_v2 2.0): created 1 persona: Seraphina (${again})`,
    );
    const copy = tb.app.services.personas.byUserId(again)!;
    expect(copy.prompt).toBe(original.prompt);
    expect((await admin.client.getProfileInfo(again)).avatar_url).toMatch(/^mxc:\/\//);
  });
});
