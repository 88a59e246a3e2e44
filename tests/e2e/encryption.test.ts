// Encrypted rooms on a real Synapse, with a matrix-js-sdk client using its Rust crypto (the
// WebAssembly build Element Web runs). Encryption support off: a room whose messages our users
// cannot read is told so once, in plain words, and never again (not after a restart either).
import { undecryptableNotice } from '../../src/crypto/messages.js';
import { FakeOpenAI, answeredText } from '../fakes/FakeOpenAI.js';
import { newUser, seedPersonas, startTestBridge, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 90_000;

describe('encrypted rooms with encryption support off', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `Ada heard: ${answeredText(req)}`);
    const personasDir = seedPersonas('e2ee-off', [{ name: 'Ada', prompt: 'You are Ada.' }]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir });
    ada = tb.personaUserId('Ada');
    alice = await newUser({ crypto: true });
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  /**
   * A plaintext message sent around the client's crypto (which would encrypt it): the bridge
   * answers it in order after everything sent before it, so its answer marks "all earlier
   * events were handled".
   */
  async function sendPlainMarker(user: TestUser, roomId: string, body: string): Promise<void> {
    const txn = `marker-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await user.client.http.authedRequest('PUT' as never, `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, undefined, {
      msgtype: 'm.text',
      body,
    });
  }

  const notices = (user: TestUser, roomId: string, sender: string): RawEvent[] =>
    user.events(roomId).filter((e) => e.type === 'm.room.message' && e.sender === sender && e.content.msgtype === 'm.notice');

  const scrape = async (): Promise<string> => (await fetch(`${tb.appserviceUrl}/metrics`)).text();

  test('an encrypted DM with a persona gets exactly one clear notice, also after a restart', async () => {
    const roomId = await alice.createRoom({ invite: [ada], isDirect: true, encrypted: true });
    await alice.waitForMembership(roomId, ada, 'join');
    expect(alice.client.isRoomEncrypted(roomId)).toBe(true);

    const first = await alice.sendText(roomId, 'hello Ada, can you read this?');
    const notice = await alice.waitForMessage(roomId, (e) => e.sender === ada && e.content.msgtype === 'm.notice', undefined, 'the notice');
    expect(notice.content.body).toBe(undecryptableNotice('encryption_disabled'));
    expect(notice.content.body).toMatch(/encryption turned off/);
    // What Alice sent really was ciphertext on the wire.
    const sent = alice.client.getRoom(roomId)?.findEventById(first);
    expect(sent?.isEncrypted()).toBe(true);

    await alice.sendText(roomId, 'still there?');
    await sendPlainMarker(alice, roomId, 'marker one');
    await alice.waitForMessage(roomId, (e) => e.sender === ada && e.content.body === 'Ada heard: marker one', undefined, 'the answer to the marker');
    expect(notices(alice, roomId, ada)).toHaveLength(1);
    // The model never saw ciphertext.
    expect(llm.requests.every((r) => !JSON.stringify(r.messages).includes('m.megolm'))).toBe(true);

    const metrics = await scrape();
    expect(metrics).toMatch(/personas_undecryptable_events_total\{reason="encryption_disabled"\} 2\n/);
    expect(metrics).toMatch(/personas_undecryptable_notices_total\{reason="encryption_disabled"\} 1\n/);

    await tb.restart();
    await alice.sendText(roomId, 'and after a restart?');
    await sendPlainMarker(alice, roomId, 'marker two');
    await alice.waitForMessage(roomId, (e) => e.sender === ada && e.content.body === 'Ada heard: marker two', undefined, 'the answer to the second marker');
    expect(notices(alice, roomId, ada)).toHaveLength(1);
  }, TIMEOUT_MS * 2);

  test('the bridge bot in an encrypted DM says so once too', async () => {
    const roomId = await alice.createRoom({ invite: [tb.botUserId], isDirect: true, encrypted: true });
    await alice.waitForMembership(roomId, tb.botUserId, 'join');
    await alice.sendText(roomId, '!help');
    const notice = await alice.waitForMessage(roomId, (e) => e.sender === tb.botUserId, undefined, "the bot's notice");
    expect(notice.content.body).toBe(undecryptableNotice('encryption_disabled'));
    await alice.sendText(roomId, '!ping');
    // A plaintext command is the marker: the bot answers it after handling the encrypted one.
    await sendPlainMarker(alice, roomId, '!ping');
    await alice.waitForMessage(roomId, (e) => e.sender === tb.botUserId && /pong/i.test(String(e.content.body)), undefined, 'pong');
    expect(notices(alice, roomId, tb.botUserId).filter((e) => e.content.body === notice.content.body)).toHaveLength(1);
  }, TIMEOUT_MS);
});
