// Security and abuse, round two (issue 22), on the real Synapse: each numbered failure of the
// red-team report reproduced here first, one bridge and one fake model shared by the file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOpenAI, answeredText } from '../fakes/FakeOpenAI.js';
import { logsDir } from './helpers/logScan.js';
import { readState, seedPersonas, startTestBridge, waitUntil, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 90_000;

/** Every bridge log line this file has produced so far (tests/e2e/setup.ts writes them). */
function ourLogLines(): string[] {
  const dir = logsDir(readState().runDir);
  return readdirSync(dir)
    .filter((f) => f.startsWith('security.test.ts'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'));
}

describe('security and abuse, round two (real Synapse)', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let botDm: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `heard: ${answeredText(req)}`);
    const personasDir = seedPersonas('security', [
      { name: 'Fern', prompt: 'You are Fern.' },
      { name: 'Mags', prompt: 'You are Mags.' },
    ]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir });
    botDm = await tb.admin.openDm(tb.botUserId);
  }, TIMEOUT_MS);
  afterAll(async () => {
    await tb?.stop();
    await llm?.stop();
  });

  /** Sends a command to the bot in the admin's DM and returns the bot's answer to it. */
  async function botAnswer(user: TestUser, room: string, text: string): Promise<RawEvent> {
    const sent = await user.sendText(room, text);
    const after = (e: RawEvent): boolean => user.events(room).indexOf(e) > user.events(room).findIndex((x) => x.event_id === sent);
    return user.waitForMessage(room, (e) => e.sender === tb.botUserId && after(e), undefined, `the answer to ${text}`);
  }

  test('#1 a failed mxc import says what failed, and no log line holds the appservice token', async () => {
    const answer = await botAnswer(tb.admin, botDm, '!persona import mxc://localhost/missing');
    expect(answer.content.body).not.toContain('[object Object]');
    expect(answer.content.body).toMatch(/failed: (M_NOT_FOUND|HTTP 404)/);
    await waitUntil(() => ourLogLines().some((l) => l.includes('command persona import')), 'the logged failure');
    const token = tb.registration.getAppServiceToken()!;
    const leaking = ourLogLines().filter((l) => l.includes(token) || l.includes(tb.registration.getHomeserverToken()!) || l.includes(readState().llmApiKey));
    expect(leaking).toEqual([]);
  }, TIMEOUT_MS);
});
