// No lost answers (issue 11): the built bridge in a process of its own is killed with SIGKILL
// while answers are in progress, then started again on the same database. Every message is
// answered exactly once: a message is recorded as pending before the homeserver's transaction
// is acknowledged, and the next start resumes what was left.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAI, answeredText } from '../fakes/FakeOpenAI.js';
import { builtBridgeConfig, claimSlot, newUser, readState, writeBridgeConfig, type TestUser } from './helpers/index.js';
import { runBridge, waitForOutput, type BridgeRun } from './helpers/bridgeProcess.js';

/** The text being answered: the last line of the last user turn, without its "Name: ". */

describe('kill -9 during answers (built bridge, real Synapse)', () => {
  const state = readState();
  const slot = claimSlot();
  const dir = mkdtempSync(join(tmpdir(), 'personas-crash-'));
  const personasDir = mkdtempSync(join(dir, 'personas-'));
  writeFileSync(join(personasDir, 'ada.yaml'), 'name: Ada\nprompt: "You are Ada."\n');
  const ada = `@${slot.personaPrefix}ada:${state.domain}`;
  const configPath = join(dir, 'config.yaml');
  let llm: FakeOpenAI;
  let run: BridgeRun | null = null;
  const users: TestUser[] = [];

  async function start(): Promise<BridgeRun> {
    const r = runBridge(['-c', configPath, '-f', slot.registrationFile]);
    await waitForOutput(r, /bridge ready/, 60_000);
    return r;
  }

  async function kill(): Promise<void> {
    run?.child.kill('SIGKILL');
    await run?.exited;
    run = null;
  }

  beforeAll(async () => {
    llm = await FakeOpenAI.start();
    writeBridgeConfig(
      dir,
      builtBridgeConfig({
        slot,
        databasePath: join(dir, 'data', 'personas.db'),
        personasDir,
        llmBaseUrl: llm.baseUrl,
        llm: { max_retries: 0, timeout_seconds: 30 },
        sections: {
          dispatch: { user_rate_limit: { messages: 100, window_seconds: 60 } },
          // Answers are compared exactly, as in every e2e bridge (helpers/bridge.ts): no first-contact note.
          disclosure: 'off',
        },
      }),
    );
    run = await start();
  }, 90_000);

  afterAll(async () => {
    users.forEach((u) => u.stop());
    if (run) {
      run.child.kill('SIGTERM');
      await run.exited;
    }
    await llm?.stop();
  });

  async function dmWithAda(): Promise<{ user: TestUser; roomId: string }> {
    const user = await newUser();
    users.push(user);
    const roomId = await user.openDm(ada);
    return { user, roomId };
  }

  const answersTo = (user: TestUser, roomId: string, text: string) =>
    user.events(roomId).filter((e) => e.sender === ada && e.type === 'm.room.message' && e.content.body === `Ada heard: ${text}`);

  /** Every text answered, then a marker answered after them: nothing more can still come for them. */
  async function expectEachAnsweredOnce(user: TestUser, roomId: string, texts: string[]): Promise<void> {
    for (const text of texts) await user.waitForMessage(roomId, () => answersTo(user, roomId, text).length > 0, 60_000, `the answer to "${text}"`);
    const marker = `marker ${Date.now()}`;
    await user.sendText(roomId, marker);
    await user.waitForMessage(roomId, () => answersTo(user, roomId, marker).length > 0, 60_000, 'the marker answer');
    for (const text of texts) expect([text, answersTo(user, roomId, text).length]).toEqual([text, 1]);
  }

  test('a slow answer in progress is answered once after the restart', async () => {
    const { user, roomId } = await dmWithAda();
    let calls = 0;
    // The first call never finishes in time: the bridge dies while waiting for it.
    llm.respondWith((req) => (++calls === 1 ? { content: 'too late', delayMs: 120_000 } : `Ada heard: ${answeredText(req)}`));
    await user.sendText(roomId, 'slow question');
    await llm.waitForRequests(1);
    await kill();
    run = await start();
    await expectEachAnsweredOnce(user, roomId, ['slow question']);
    expect(user.events(roomId).some((e) => e.content.body === 'too late')).toBe(false);
  }, 180_000);

  test('a burst of 20 DMs from 5 users, killed mid-way: every message answered exactly once', async () => {
    llm.reset();
    llm.respondWith((req) => ({ content: `Ada heard: ${answeredText(req)}`, delayMs: 400 }));
    const dms = await Promise.all([1, 2, 3, 4, 5].map(() => dmWithAda()));
    const texts = (i: number) => [1, 2, 3, 4].map((n) => `burst ${i}.${n}`);
    await Promise.all(dms.map(async ({ user, roomId }, i) => {
      for (const text of texts(i)) await user.sendText(roomId, text);
    }));
    // Some answered, most still queued or at the model.
    await llm.waitForRequests(3);
    await kill();
    run = await start();
    for (const [i, { user, roomId }] of dms.entries()) await expectEachAnsweredOnce(user, roomId, texts(i));
  }, 300_000);
});
