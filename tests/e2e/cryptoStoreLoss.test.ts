// A persona's crypto store is lost (deleted while the bridge was down): at the next start the
// bridge deletes the old device on the homeserver and makes a new one with new keys. A real
// client (matrix-js-sdk's Rust crypto, as Element runs it) must then encrypt for the new device
// on its own, so the persona reads the next message and answers it, encrypted.
import { rmSync } from 'node:fs';
import { undecryptableNotice } from '../../src/crypto/messages.js';
import { FakeOpenAI, answeredText } from '../fakes/FakeOpenAI.js';
import { newUser, seedPersonas, startTestBridge, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 120_000;


describe('a lost crypto store', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `Ada heard: ${answeredText(req)}`);
    const personasDir = seedPersonas('lost-store', [{ name: 'Ada', prompt: 'You are Ada.' }]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { encryption: { enabled: true } } });
    ada = tb.personaUserId('Ada');
    alice = await newUser({ crypto: true });
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  /** Ada's devices as Alice's client knows them: device ID -> Curve25519 identity key. */
  async function adaDevices(): Promise<Map<string, string | undefined>> {
    const devices = (await alice.client.getCrypto()!.getUserDeviceInfo([ada], true)).get(ada) ?? new Map();
    return new Map([...devices].map(([id, d]) => [id, d.getIdentityKey()]));
  }

  async function answerTo(roomId: string, text: string): Promise<void> {
    const answer = await alice.waitForMessage(roomId, (e) => e.sender === ada && String(e.content.body).startsWith('Ada heard:') && String(e.content.body).includes(text), 60_000, `Ada answering "${text}"`);
    expect(answer.content.body).toBe(`Ada heard: ${text}`);
    expect(alice.client.getRoom(roomId)?.findEventById(answer.event_id)?.isEncrypted()).toBe(true);
  }

  test('the persona gets a clean new device, the old one is removed, and the room still works', async () => {
    const dm = await alice.createRoom({ invite: [ada], isDirect: true, encrypted: true });
    await alice.waitForMembership(dm, ada, 'join');
    await alice.sendText(dm, 'hello Ada, secretly');
    await answerTo(dm, 'hello Ada, secretly');
    const before = await adaDevices();
    expect(before.size).toBe(1);

    await tb.app.stop();
    rmSync(tb.config.encryption.store_path, { recursive: true, force: true });
    // Written while the bridge is down: Synapse's delivery fails, so it marks the appservice
    // down and, until its recoverer has caught up, drops the to-device messages (room keys) for
    // it. This one was encrypted for the lost device only: it cannot be read, and Ada says so.
    await alice.sendText(dm, 'while you were away');
    await tb.restart();

    // Alice's client learns of the new device from its sync (a device list change), as any
    // client would; nothing is asked of it.
    let after = await adaDevices();
    for (const deadline = Date.now() + 30_000; after.size !== 1 || after.has([...before.keys()][0]!); ) {
      if (Date.now() > deadline) throw new Error(`Ada's devices did not change: ${JSON.stringify([...after])}`);
      await new Promise((r) => setTimeout(r, 200));
      after = await adaDevices();
    }
    expect([...after.values()][0]).not.toBe([...before.values()][0]);
    await alice.sendText(dm, 'new device, same Ada?');
    await answerTo(dm, 'new device, same Ada?');
    const notices = alice.events(dm).filter((e) => e.sender === ada && e.content.msgtype === 'm.notice');
    expect(notices.map((e) => e.content.body)).toEqual([undecryptableNotice('cannot_decrypt')]);
  }, TIMEOUT_MS);
});
