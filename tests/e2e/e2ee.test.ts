// Real end-to-end encryption on a real Synapse: a matrix-js-sdk client with its Rust crypto
// (the WebAssembly build Element Web runs) talks to a persona in encrypted rooms. The bridge
// decrypts with the persona's own device and answers encrypted; the client decrypts the
// answer. Also across a bridge restart (crypto store on disk) and a new Megolm session.
import { undecryptableNotice } from '../../src/crypto/messages.js';
import { FakeOpenAI, answeredText, lastUserText, systemText } from '../fakes/FakeOpenAI.js';
import { newUser, seedPersonas, startTestBridge, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 120_000;

/** The text a request asks the persona to answer: the last line of the last user turn, without "Name: ". */

describe('end-to-end encrypted rooms', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let bob: TestUser;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => {
      const text = answeredText(req);
      if (systemText(req).includes('You are Bea.')) return `Bea got: ${text}`;
      // Asked to relay, Ada mentions Bea (a persona's @Name becomes a real mention, which Bea answers).
      return text.includes('please relay') ? '@Bea Alice says hello' : `Ada heard: ${text}`;
    });
    const personasDir = seedPersonas('e2ee', [{ name: 'Ada', prompt: 'You are Ada.' }, { name: 'Bea', prompt: 'You are Bea.' }]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { encryption: { enabled: true } } });
    ada = tb.personaUserId('Ada');
    alice = await newUser({ crypto: true });
    bob = await newUser({ crypto: true });
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    bob?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  /** Waits for Ada's answer to `text`, decrypted by the user's client, and checks it was encrypted on the wire. */
  async function answerTo(user: TestUser, roomId: string, text: string): Promise<RawEvent> {
    const answer = await user.waitForMessage(roomId, (e) => e.sender === ada && e.content.body === `Ada heard: ${text}`, 60_000, `Ada answering "${text}"`);
    const wire = user.client.getRoom(roomId)?.findEventById(answer.event_id);
    expect(wire?.isEncrypted()).toBe(true);
    expect(wire?.isDecryptionFailure()).toBe(false);
    return answer;
  }

  let dm: string;

  test('an encrypted DM: the persona reads the message and answers encrypted', async () => {
    dm = await alice.createRoom({ invite: [ada], isDirect: true, encrypted: true });
    await alice.waitForMembership(dm, ada, 'join');
    const sent = await alice.sendText(dm, 'hello Ada, secretly');
    expect(alice.client.getRoom(dm)?.findEventById(sent)?.isEncrypted()).toBe(true);
    await answerTo(alice, dm, 'hello Ada, secretly');
    // The model got the plaintext.
    expect(llm.requests.some((r) => lastUserText(r).includes('hello Ada, secretly'))).toBe(true);
  }, TIMEOUT_MS);

  test('an encrypted group room: the persona answers when mentioned, every member can read it', async () => {
    const room = await alice.createRoom({ invite: [ada, bob.userId], encrypted: true, name: 'secret club' });
    await alice.waitForMembership(room, ada, 'join');
    await alice.waitForMembership(room, bob.userId, 'join');
    await bob.waitForMembership(room, ada, 'join');
    await alice.sendText(room, 'Ada, what is two plus two?');
    await answerTo(alice, room, 'Ada, what is two plus two?');
    await answerTo(bob, room, 'Ada, what is two plus two?');
  }, TIMEOUT_MS);

  test("personas read each other in an encrypted room: Bea decrypts Ada's answer that names her", async () => {
    const bea = tb.personaUserId('Bea');
    const room = await alice.createRoom({ invite: [ada, bea], encrypted: true, name: 'two personas' });
    await alice.waitForMembership(room, ada, 'join');
    await alice.waitForMembership(room, bea, 'join');
    // Ada's answer names Bea; Bea can answer only if her device decrypted Ada's encrypted message.
    await alice.sendText(room, 'Ada, please relay a greeting');
    const relay = await alice.waitForMessage(room, (e) => e.sender === ada && String(e.content.body).includes('Alice says hello'), 60_000, "Ada's relay");
    expect((relay.content['m.mentions'] as { user_ids: string[] }).user_ids).toContain(bea);
    const beas = await alice.waitForMessage(room, (e) => e.sender === bea, 60_000, "Bea's answer");
    expect(beas.content.body).toMatch(/^Bea got: .*Alice says hello$/);
    expect(alice.client.getRoom(room)?.findEventById(beas.event_id)?.isEncrypted()).toBe(true);
  }, TIMEOUT_MS);

  /** Ada's devices as Alice's client knows them: device ID -> Curve25519 identity key. */
  async function adaDevices(): Promise<Map<string, string | undefined>> {
    const devices = (await alice.client.getCrypto()!.getUserDeviceInfo([ada], true)).get(ada) ?? new Map();
    return new Map([...devices].map(([id, d]) => [id, d.getIdentityKey()]));
  }

  test('after a bridge restart the next message in the same room is still read and answered, by the same device', async () => {
    const before = await adaDevices();
    expect(before.size).toBe(1);
    await tb.restart();
    await alice.sendText(dm, 'are you back?');
    await answerTo(alice, dm, 'are you back?');
    // The crypto store was kept: the same one device, with the same identity key.
    expect(await adaDevices()).toEqual(before);
  }, TIMEOUT_MS);

  test('a new Megolm session (room key rotation) is still read', async () => {
    const crypto = alice.client.getCrypto();
    expect(crypto).toBeDefined();
    await crypto!.forceDiscardSession(dm);
    await alice.sendText(dm, 'new key, same Ada?');
    const answer = await answerTo(alice, dm, 'new key, same Ada?');
    const sessions = new Set(
      alice
        .events(dm)
        .filter((e) => e.sender === alice.userId && e.type === 'm.room.message')
        .map((e) => alice.client.getRoom(dm)?.findEventById(e.event_id)?.getWireContent().session_id),
    );
    expect(sessions.size).toBeGreaterThan(1);
    expect(answer.content.body).toBe('Ada heard: new key, same Ada?');
  }, TIMEOUT_MS);

  test('a room key sent while the bridge is down (Synapse leaves it out of its transactions) is read from the device inbox: the message is answered', async () => {
    await tb.app.stop();
    // A new session: its key goes to Ada's device in a to-device message that Synapse cannot
    // push now, and drops from the transactions it redelivers later.
    await alice.client.getCrypto()!.forceDiscardSession(dm);
    await alice.sendText(dm, 'written while you were away');
    await tb.restart();
    await answerTo(alice, dm, 'written while you were away');
  }, TIMEOUT_MS);

  test('the bridge bot answers commands in an encrypted DM, encrypted', async () => {
    const room = await alice.createRoom({ invite: [tb.botUserId], isDirect: true, encrypted: true });
    await alice.waitForMembership(room, tb.botUserId, 'join');
    await alice.sendText(room, '!ping');
    const pong = await alice.waitForMessage(room, (e) => e.sender === tb.botUserId && /^Pong!/.test(String(e.content.body)), 60_000, 'pong');
    expect(alice.client.getRoom(room)?.findEventById(pong.event_id)?.isEncrypted()).toBe(true);
  }, TIMEOUT_MS);

  test('a message whose key never arrives gets one clear notice per room, and no more', async () => {
    const room = await alice.createRoom({ invite: [ada], isDirect: true, encrypted: true });
    await alice.waitForMembership(room, ada, 'join');
    // Real Megolm ciphertext from another room, whose session Ada's device never received:
    // the bridge waits for the key, in vain, then says so.
    const elsewhere = await alice.createRoom({ encrypted: true, name: 'alice alone' });
    const undecryptable = async (n: number): Promise<void> => {
      const id = await alice.sendText(elsewhere, `not for Ada ${n}`);
      // As the server has it: the ciphertext.
      const stored = (await alice.client.http.authedRequest('GET' as never, `/rooms/${encodeURIComponent(elsewhere)}/event/${encodeURIComponent(id)}`)) as {
        type: string;
        content: Record<string, unknown>;
      };
      expect(stored.type).toBe('m.room.encrypted');
      await alice.client.http.authedRequest('PUT' as never, `/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/utd-${n}-${Date.now()}`, undefined, stored.content);
    };
    await undecryptable(1);
    const notice = await alice.waitForMessage(room, (e) => e.sender === ada && e.content.msgtype === 'm.notice', 60_000, 'the notice');
    expect(notice.content.body).toBe(undecryptableNotice('cannot_decrypt'));
    await undecryptable(2);
    await alice.sendText(room, 'and this one?');
    await answerTo(alice, room, 'and this one?');
    expect(alice.events(room).filter((e) => e.sender === ada && e.content.msgtype === 'm.notice')).toHaveLength(1);
  }, TIMEOUT_MS);
});
