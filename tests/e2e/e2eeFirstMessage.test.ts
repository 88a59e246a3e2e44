// The first message of an encrypted DM, sent the moment the persona has joined (issue 29). A
// fresh client (matrix-js-sdk's Rust crypto, as Element runs it) shares the room key with the
// devices the persona has *when the message goes out*: a persona that joined before its
// device's keys were on the homeserver never gets that key. Two ways that happened: a persona
// spawned just now (its device is made on the first invite), and a bridge restarted with 20
// personas (encryption turned on, so every persona gets a new device while the invite that
// arrived during the downtime is being handled; then a plain restart, devices kept).
import { FakeOpenAI, answeredText, systemText } from '../fakes/FakeOpenAI.js';
import { newUser, seedPersonas, startTestBridge, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 180_000;
const NAMES = ['Ada', 'Bea', 'Cy', 'Dee', 'Eve', 'Fay', 'Gus', 'Hal', 'Ivy', 'Jo', 'Kai', 'Lu', 'Max', 'Ned', 'Oz', 'Pia', 'Quin', 'Rex', 'Sue', 'Tom'];

describe('the first encrypted message to a persona that has just joined', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  const users: TestUser[] = [];

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `${/You are (\w+)\./.exec(systemText(req))?.[1] ?? '?'} heard: ${answeredText(req)}`);
    const personasDir = seedPersonas('first-message', NAMES.map((name) => ({ name, prompt: `You are ${name}.` })));
    // Encryption off at first: the restart below turns it on, as an admin would.
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { encryption: { enabled: false } } });
  }, TIMEOUT_MS);
  afterAll(async () => {
    users.forEach((u) => u.stop());
    await tb?.stop();
    await llm?.stop();
  });

  /** A fresh encrypting client (a new device that has never seen the persona's) for each case. */
  async function freshClient(): Promise<TestUser> {
    const user = await newUser({ crypto: true });
    users.push(user);
    return user;
  }

  /**
   * The persona's first reaction to the message sent the moment it joined: its answer when it
   * read the message, else the notice that it could not (waited for, not timed out on).
   */
  async function firstMessageOnJoin(user: TestUser, roomId: string, persona: string, name: string): Promise<void> {
    await user.waitForMembership(roomId, persona, 'join', 60_000);
    const text = `secret hello ${name} ${Date.now()}`;
    await user.sendText(roomId, text);
    const reaction = await user.waitForMessage(roomId, (e) => e.sender === persona, 60_000, `${name}'s first reaction`);
    expect(reaction.content.body).toBe(`${name} heard: ${text}`);
    expect(user.client.getRoom(roomId)?.findEventById(reaction.event_id)?.isEncrypted()).toBe(true);
  }

  /** Stops the bridge, has `user` open an encrypted DM with `persona` meanwhile, and starts it again. */
  async function dmDuringRestart(user: TestUser, persona: string, turnEncryptionOn = false): Promise<string> {
    await tb.app.stop();
    // Created while the bridge is down: the invite reaches it during its start.
    const dm = await user.createRoom({ invite: [persona], isDirect: true, encrypted: true });
    if (turnEncryptionOn) (tb.config.encryption as { enabled: boolean }).enabled = true;
    await tb.restart();
    return dm;
  }

  test('right after a restart with 20 personas (all getting new devices), a DM that came in meanwhile: its first message is read', async () => {
    const tom = tb.personaUserId('Tom');
    const carol = await freshClient();
    const dm = await dmDuringRestart(carol, tom, true);
    await firstMessageOnJoin(carol, dm, tom, 'Tom');
  }, TIMEOUT_MS);

  test('right after a plain restart (devices kept, opened on first use), a DM that came in meanwhile: its first message is read', async () => {
    const sue = tb.personaUserId('Sue');
    const erin = await freshClient();
    const dm = await dmDuringRestart(erin, sue);
    await firstMessageOnJoin(erin, dm, sue, 'Sue');
  }, TIMEOUT_MS);

  test('a persona spawned just now, DMed at once by a fresh client: its first message is read', async () => {
    const { persona } = await tb.app.services.lifecycle.spawn({ name: 'Zed', prompt: 'You are Zed.', creator: tb.admin.userId });
    const dave = await freshClient();
    const dm = await dave.createRoom({ invite: [persona.userId], isDirect: true, encrypted: true });
    await firstMessageOnJoin(dave, dm, persona.userId, 'Zed');
  }, TIMEOUT_MS);
});
