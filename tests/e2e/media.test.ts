// Personas that see and hear, on the real Synapse, in a plain DM and an encrypted DM: images
// reach the model as image_url parts at the configured size, voice messages are transcribed
// and answered with voice, bad files get one clear notice each.
//
// Real: Synapse, its media repository (authenticated media), matrix-js-sdk's encryption, and
// the speech endpoint — tools/speech's adapter around Debian's espeak-ng + opusenc (speech)
// and opusdec + pocketsphinx (transcription), the same tools that make the test's voice
// messages. A protocol-faithful fake: the chat model (FakeOpenAI, which reads the images it
// is sent with sharp to describe their colour). No vision model runs on this machine's CPU in
// CI time (llama-server needs a multimodal model and its projector, which Debian does not ship).
import sharp from 'sharp';
import { SENSE_NOTE_NO_VISION, CANNOT_SEE } from '../../src/media/messages.js';
import { chrootRunner, SpeechAdapter } from '../../tools/speech/SpeechAdapter.js';
import { FakeOpenAI, answeredText, messageText, systemText, type FakeChatRequest } from '../fakes/FakeOpenAI.js';
import { hugePng } from '../fakes/hugePng.js';
import { silentOggOpus } from '../fakes/oggOpus.js';
import { SPEECH_SCRIPT } from '../harness/speech.js';
import { attachment, newUser, seedPersonas, startTestBridge, upload, uploadEncrypted, uploadStreamed, waitUntil, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 240_000;
const DESCRIBE = 'Describe this image';

/** The image_url parts of a request's messages. */
function imageUrls(req: FakeChatRequest): string[] {
  const parts = req.messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<{ image_url?: { url: string } }>) : []));
  return parts.flatMap((p) => (p.image_url ? [p.image_url.url] : []));
}
const isDescribe = (req: FakeChatRequest) => systemText(req).startsWith(DESCRIBE);
const decode = (url: string) => Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
const allText = (req: FakeChatRequest) => req.messages.map(messageText).join('\n');

/** A real PNG of one colour. */
const png = (width: number, height: number, rgb: [number, number, number]) =>
  sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();

describe('images, files and voice messages', () => {
  let llm: FakeOpenAI;
  let speech: SpeechAdapter;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;
  let bea: string;

  let carol: TestUser;
  let dave: TestUser;
  /** "what colour is the sky", spoken by espeak-ng and encoded by opusenc: made once, sent twice. */
  let skyVoice: Buffer;

  // Everything the tests need is made at once: the servers, the bridge, the users (one with
  // crypto), the voice message. Most of it waits on Synapse or a child process, not the CPU.
  beforeAll(async () => {
    [llm, speech] = await Promise.all([FakeOpenAI.start(), SpeechAdapter.start(chrootRunner(SPEECH_SCRIPT))]);
    // The fake model answers with what it was asked, and describes an image by its colour (to
    // the nearest 64: JPEG shifts a flat colour by a few levels).
    llm.respondWith(async (req) => {
      if (isDescribe(req)) {
        const { dominant } = await sharp(decode(imageUrls(req)[0]!)).stats();
        return `a picture of one colour, about rgb(${Math.round(dominant.r / 64) * 64}, ${Math.round(dominant.g / 64) * 64}, ${Math.round(dominant.b / 64) * 64})`;
      }
      return `${systemText(req).includes('You are Bea.') ? 'Bea' : 'Ada'} heard: ${answeredText(req)}`;
    });
    const personasDir = seedPersonas('media', [
      { name: 'Ada', prompt: 'You are Ada.', voice: 'en-us' },
      { name: 'Bea', prompt: 'You are Bea.', model: 'blind' },
    ]);
    [tb, alice, carol, dave, skyVoice] = await Promise.all([
      startTestBridge({
        llmBaseUrl: llm.baseUrl,
        personasDir,
        config: {
          encryption: { enabled: true },
          // Generous timeout: the test machine may be loaded.
          llm: { vision: true, timeout_seconds: 60, backends: { blind: { base_url: llm.baseUrl, model: 'blind-model' } } },
          media: { image_max_side: 256, images_in_prompt: 2, max_mb: 20, audio_max_seconds: 600 },
          speech: {
            transcription: { base_url: speech.baseUrl, api_key: '', model: 'pocketsphinx', timeout_seconds: 120 },
            synthesis: { base_url: speech.baseUrl, api_key: '', model: 'espeak-ng', timeout_seconds: 120, max_characters: 4000 },
          },
        },
      }),
      newUser(),
      newUser({ crypto: true }),
      newUser(),
      speech.synthesize('what colour is the sky', 'en-us'),
    ]);
    ada = tb.personaUserId('Ada');
    bea = tb.personaUserId('Bea');
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    carol?.stop();
    dave?.stop();
    await tb?.stop();
    await speech?.stop();
    await llm?.stop();
  });

  const answerFrom = (user: TestUser, roomId: string, persona: string, text: string) =>
    user.waitForMessage(roomId, (e) => e.sender === persona && e.content.body === text, 90_000, `"${text}"`);

  async function sendImage(user: TestUser, roomId: string, name: string, data: Buffer, caption: string, encrypted = false): Promise<string> {
    const media = encrypted ? { file: await uploadEncrypted(user, data) } : { url: await upload(user, data, 'image/png', name) };
    return user.sendContent(roomId, { msgtype: 'm.image', body: caption, filename: name, info: { mimetype: 'image/png', size: data.length }, ...media });
  }

  async function sendVoice(user: TestUser, roomId: string, audio: Buffer, encrypted = false, durationMs = 2000): Promise<string> {
    const media = encrypted ? { file: await uploadEncrypted(user, audio) } : { url: await upload(user, audio, 'audio/ogg', 'voice.ogg') };
    return user.sendContent(roomId, {
      msgtype: 'm.audio',
      body: 'Voice message',
      info: { mimetype: 'audio/ogg', size: audio.length, duration: durationMs },
      'org.matrix.msc1767.audio': { duration: durationMs, waveform: [0, 512, 1024, 512] },
      'org.matrix.msc3245.voice': {},
      ...media,
    });
  }

  /** The image sent to the model for the answer to `caption`, as decoded. */
  async function imageSeenFor(caption: string) {
    const req = llm.requests.find((r) => !isDescribe(r) && answeredText(r).endsWith(caption));
    expect(req).toBeDefined();
    const urls = imageUrls(req!);
    return { req: req!, urls, meta: await sharp(decode(urls.at(-1)!)).metadata() };
  }

  /** A voice answer: m.audio as Element records it, Ogg/Opus inside, the text as its body. */
  async function expectVoiceAnswer(user: TestUser, roomId: string, text: string): Promise<RawEvent> {
    const answer = await user.waitForMessage(roomId, (e) => e.sender === ada && e.content.msgtype === 'm.audio', 120_000, 'a voice answer');
    expect(answer.content.body).toBe(text);
    expect(answer.content['org.matrix.msc3245.voice']).toEqual({});
    const audioInfo = answer.content['org.matrix.msc1767.audio'] as { duration: number; waveform: number[] };
    expect(audioInfo.duration).toBeGreaterThan(500);
    expect(audioInfo.waveform).toHaveLength(100);
    expect(Math.max(...audioInfo.waveform)).toBe(1024);
    expect((answer.content.info as { duration: number; mimetype: string }).mimetype).toBe('audio/ogg');
    const ogg = await attachment(user, answer.content);
    expect(ogg.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(ogg.subarray(28, 36).toString('latin1')).toBe('OpusHead');
    expect(speech.requests.some((r) => r.path === '/v1/audio/speech' && r.input === text && r.voice === 'en-us')).toBe(true);
    return answer;
  }

  test('plain DM: an image reaches the model downscaled; older images live on as their description', async () => {
    const dm = await alice.openDm(ada);
    const orange = await sendImage(alice, dm, 'orange.png', await png(1000, 500, [255, 128, 0]), 'what colour is this?');
    await answerFrom(alice, dm, ada, 'Ada heard: [image: orange.png] what colour is this?');
    const first = await imageSeenFor('what colour is this?');
    expect(first.meta).toMatchObject({ format: 'jpeg', width: 256, height: 128 });
    expect(first.meta.exif).toBeUndefined();
    // The vision model describes it once; memory keeps the description with the message.
    await waitUntil(() => (tb.app.services.memory.byEventId(orange)?.body ?? '').includes('showing:'), 'the description of orange.png');
    expect(tb.app.services.memory.byEventId(orange)!.body).toBe('[image: orange.png, showing: a picture of one colour, about rgb(256, 128, 0)] what colour is this?');

    await sendImage(alice, dm, 'blue.png', await png(300, 600, [0, 0, 255]), 'and this one?');
    await answerFrom(alice, dm, ada, 'Ada heard: [image: blue.png] and this one?');
    await sendImage(alice, dm, 'green.png', await png(64, 64, [0, 255, 0]), 'last one?');
    await answerFrom(alice, dm, ada, 'Ada heard: [image: green.png] last one?');
    const third = await imageSeenFor('last one?');
    // Pixels for the newest two (media.images_in_prompt), the first as its description.
    expect(third.urls).toHaveLength(2);
    expect((await sharp(decode(third.urls[0]!)).metadata()).height).toBe(256);
    expect(third.meta).toMatchObject({ width: 64, height: 64 });
    expect(allText(third.req)).toContain('[image: orange.png, showing: a picture of one colour, about rgb(256, 128, 0)]');
  }, TIMEOUT_MS);

  test('a persona whose model cannot see says so once, and is never shown pixels', async () => {
    const dm = await alice.openDm(bea);
    await sendImage(alice, dm, 'cat.png', await png(40, 40, [9, 9, 9]), 'look');
    await alice.waitForMessage(dm, (e) => e.sender === bea && e.content.body === CANNOT_SEE, 60_000, 'the notice');
    await answerFrom(alice, dm, bea, 'Bea heard: [image: cat.png] look');
    await sendImage(alice, dm, 'dog.png', await png(40, 40, [9, 9, 9]), 'and now');
    await answerFrom(alice, dm, bea, 'Bea heard: [image: dog.png] and now');
    const asked = llm.requests.filter((r) => systemText(r).includes('You are Bea.'));
    expect(asked.flatMap(imageUrls)).toEqual([]);
    expect(systemText(asked.at(-1)!)).toContain(SENSE_NOTE_NO_VISION);
    expect(alice.events(dm).filter((e) => e.sender === bea && e.content.msgtype === 'm.notice')).toHaveLength(1);
  }, TIMEOUT_MS);

  test('plain DM: a voice message made with espeak-ng + opusenc is transcribed, answered with voice, and its transcript is in the next prompt', async () => {
    const dm = await alice.openDm(ada);
    await sendVoice(alice, dm, skyVoice);
    const voice = await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.msgtype === 'm.audio', 120_000, 'a voice answer');
    const heard = speech.requests.find((r) => r.path === '/v1/audio/transcriptions')!;
    expect(heard).toMatchObject({ model: 'pocketsphinx', file: { type: expect.stringMatching(/^audio\/ogg/) } });
    expect(heard.transcript).toMatch(/\bsky\b/);
    await expectVoiceAnswer(alice, dm, `Ada heard: [voice message] ${heard.transcript}`);
    expect(voice.content.url).toMatch(/^mxc:\/\//);
    // A written message is answered in writing, with the transcript in its prompt's history.
    await alice.sendText(dm, 'and the grass?');
    await answerFrom(alice, dm, ada, 'Ada heard: and the grass?');
    const next = llm.requests.find((r) => answeredText(r) === 'and the grass?')!;
    expect(allText(next)).toContain(`[voice message] ${heard.transcript}`);
  }, TIMEOUT_MS);

  test('encrypted DM: encrypted image and voice message are decrypted, seen and heard; the voice answer is encrypted too; a wrong hash is refused', async () => {
    const room = await carol.createRoom({ invite: [ada], isDirect: true, encrypted: true });
    await carol.waitForMembership(room, ada, 'join');
    await sendImage(carol, room, 'red.png', await png(800, 1200, [255, 0, 0]), 'secret colour?', true);
    await answerFrom(carol, room, ada, 'Ada heard: [image: red.png] secret colour?');
    expect((await imageSeenFor('secret colour?')).meta).toMatchObject({ width: 171, height: 256 });

    const before = speech.requests.filter((r) => r.path === '/v1/audio/transcriptions').length;
    await sendVoice(carol, room, skyVoice, true);
    await waitUntil(() => speech.requests.filter((r) => r.path === '/v1/audio/transcriptions' && r.transcript !== undefined).length > before, 'the transcription', 120_000);
    const heard = speech.requests.filter((r) => r.path === '/v1/audio/transcriptions').at(-1)!;
    const answer = await expectVoiceAnswer(carol, room, `Ada heard: [voice message] ${heard.transcript}`);
    expect(answer.content.file).toBeDefined();
    expect(answer.content.url).toBeUndefined();
    expect(carol.client.getRoom(room)?.findEventById(answer.event_id)?.isEncrypted()).toBe(true);

    const bad = await uploadEncrypted(carol, await png(50, 50, [1, 2, 3]), { wrongHash: true });
    await carol.sendContent(room, { msgtype: 'm.image', body: 'tampered.png', info: { mimetype: 'image/png' }, file: bad });
    await carol.waitForMessage(room, (e) => e.sender === ada && e.content.body === "I couldn't open tampered.png: the attachment does not match its SHA-256 hash.", 60_000, 'the hash notice');
  }, TIMEOUT_MS);

  test('bad input: one clear notice each, nothing transcribed that should not be, memory bounded', async () => {
    const dm = await dave.openDm(ada);
    const notices = () => dave.events(dm).filter((e) => e.sender === ada && e.content.msgtype === 'm.notice').map((e) => String(e.content.body));
    const noticeSaying = (text: string, what: string) => dave.waitForMessage(dm, (e) => e.sender === ada && e.content.body === text, 60_000, what);
    const sendImageAs = async (name: string, data: Buffer) =>
      dave.sendContent(dm, { msgtype: 'm.image', body: name, info: { mimetype: 'image/png' }, url: await upload(dave, data, 'image/png', name) });

    const full = await png(300, 300, [100, 100, 100]);
    await sendImageAs('half.png', full.subarray(0, Math.floor(full.length / 2)));
    await noticeSaying("I couldn't open half.png: it is damaged or cut short.", 'the truncated PNG notice');

    await sendImageAs('page.png', Buffer.from('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>'));
    await noticeSaying("I couldn't open page.png: it was sent as an image but is HTML data.", 'the HTML notice');

    // 177 bytes claiming 100,000 × 100,000 pixels: refused from its header, never decoded.
    await sendImageAs('bomb.png', hugePng(100_000, 100_000));
    await noticeSaying("I couldn't open bomb.png: it has more than 50,000,000 pixels.", 'the pixel limit notice');

    // Three hours of real Ogg/Opus (silence), claiming five seconds: the file's own length counts.
    const transcriptions = speech.requests.filter((r) => r.path === '/v1/audio/transcriptions').length;
    await sendVoice(dave, dm, silentOggOpus(3 * 3600), false, 5000);
    await noticeSaying("I couldn't open your voice message: it is 3 h 0 min long, more than the 10 min I can listen to.", 'the 3-hour notice');

    // 200 MB, streamed into the media repository (never held here; not alongside the cases
    // above: Synapse takes it in on its one thread, which would hold them up) and sent without a
    // size: the download is refused from the media repository's Content-Length. As octet-stream,
    // so the media repository does not try to thumbnail it; the event says image/png.
    const head = (await png(16, 16, [0, 0, 0])).subarray(0, 64);
    const bigUrl = await uploadStreamed(dave, head, 200_000_000, 'application/octet-stream', 'big.png');
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    await dave.sendContent(dm, { msgtype: 'm.image', body: 'big.png', info: { mimetype: 'image/png' }, url: bigUrl });
    await noticeSaying("I couldn't open big.png: it is 200 MB, more than 20 MB.", 'the 200 MB notice');
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    // The bound: media.max_mb (20 MB) is the most one download may hold; it was refused from
    // its Content-Length, so nearly nothing was read. Allow the process's own noise on top.
    expect(grownMiB).toBeLessThan(20 + 64);

    // Later marker: nothing else was said, and nothing was transcribed.
    await dave.sendText(dm, 'still there?');
    await answerFrom(dave, dm, ada, 'Ada heard: still there?');
    expect(notices()).toHaveLength(5);
    expect(speech.requests.filter((r) => r.path === '/v1/audio/transcriptions')).toHaveLength(transcriptions);
    expect(tb.app.services.memory.byEventId(dave.events(dm).find((e) => e.content.body === 'half.png')!.event_id)!.body).toBe(
      '[image: half.png (could not be opened: it is damaged or cut short)]',
    );
  }, TIMEOUT_MS);
});
