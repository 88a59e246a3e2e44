// The fan-out loop of issue 11 on the real Synapse: three personas whose every answer mentions
// the other two, started by one human mention. Each answer triggers two more, so the number
// of pending answers doubles each round and no sender pattern repeats (the pattern guard never
// fires). Before the turn budget this ran to hundreds of messages a minute. Now the room gets
// at most 2 × dispatch.loop_threshold persona answers and one notice, then silence, and a
// person speaking is answered again.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAI, lastUserText, systemText, type FakeChatRequest } from '../fakes/FakeOpenAI.js';
import { newUser, startTestBridge, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

/** The default: the run used the defaults. */
const LOOP_THRESHOLD = 5;
const BUDGET = 2 * LOOP_THRESHOLD;
const OBSERVE_MS = 40_000;
const QUIET_TAIL_MS = 10_000;

const personaOf = (req: FakeChatRequest): string => /\[persona:(\w+)\]/.exec(systemText(req))?.[1] ?? 'unknown';

/** Every persona answers by mentioning the other two (the replies), a little slowly. */
function fanOut(req: FakeChatRequest) {
  const last = lastUserText(req).split('\n').at(-1) ?? '';
  if (/after the storm/.test(last)) return { content: `${personaOf(req)} is listening again`, delayMs: 50 };
  const content = { ara: '@Bex @Cyd what do you think?', bex: '@Ara @Cyd no!', cyd: '@Ara @Bex yes!' }[personaOf(req)] ?? '?';
  return { content, delayMs: 100 };
}

describe('fan-out between personas (real Synapse)', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith(fanOut);
    const personasDir = mkdtempSync(join(tmpdir(), 'fanout-personas-'));
    for (const name of ['Ara', 'Bex', 'Cyd']) {
      writeFileSync(join(personasDir, `${name.toLowerCase()}.yaml`), `name: ${name}\nprompt: "You are ${name}. [persona:${name.toLowerCase()}]"\n`);
    }
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { dispatch: { loop_threshold: LOOP_THRESHOLD } } });
    alice = await newUser();
  }, 60_000);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  test(`stays within ${BUDGET} persona messages over 40 s, silent for the last 10 s, and a person is answered after`, async () => {
    const personas = ['Ara', 'Bex', 'Cyd'].map((n) => tb.personaUserId(n));
    const roomId = await alice.createRoom({ invite: personas });
    for (const userId of personas) await alice.waitForMembership(roomId, userId, 'join');
    const personaTexts = (): RawEvent[] =>
      alice.events(roomId).filter((e) => e.type === 'm.room.message' && personas.includes(e.sender) && e.content.msgtype === 'm.text');

    const startedAt = Date.now();
    await alice.sendText(roomId, 'Ara, what do you think?');
    // The measure: what the room receives over 40 s from the mention. Waiting is the
    // test here (the runaway showed as hundreds of messages in this window), not a guess at timing.
    await new Promise((r) => setTimeout(r, Math.max(0, startedAt + OBSERVE_MS - Date.now())));
    const texts = personaTexts();
    expect(texts.length).toBeLessThanOrEqual(BUDGET);
    expect(texts.length).toBeGreaterThanOrEqual(3);
    const quietSince = startedAt + OBSERVE_MS - QUIET_TAIL_MS;
    expect(texts.filter((e) => e.origin_server_ts >= quietSince)).toEqual([]);
    // One notice says why (the turn budget's, or the pattern guard's when it saw a cycle first).
    const notices = alice.events(roomId).filter((e) => e.content.msgtype === 'm.notice' && /Stopping here/.test(e.content.body ?? ''));
    expect(notices).toHaveLength(1);
    // No model calls beyond the answers granted (cancelled ones never reach the model or are aborted).
    expect(llm.requests.length).toBeLessThanOrEqual(BUDGET);

    // A person speaking resets the count and is answered.
    await alice.sendText(roomId, 'Cyd, after the storm?');
    await alice.waitForMessage(roomId, (e) => e.sender === tb.personaUserId('Cyd') && e.content.body === 'cyd is listening again', undefined, "Cyd's answer");
  }, 120_000);
});
