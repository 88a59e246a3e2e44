// Rolling summaries through the running bridge: a real user on the real Synapse talks to a
// persona until the conversation passes memory.summarize_after_messages; the bridge asks the
// (fake) model for a summary in the background, stores it, puts it in the next prompt in
// place of the oldest messages, and shows it on !summary.



import { FakeOpenAI, lastUserText, messageText, systemText, type FakeChatRequest, answeredText } from '../fakes/FakeOpenAI.js';
import { newUser, startTestBridge, waitUntil, type RawEvent, type TestBridge, type TestUser, seedPersonas } from './helpers/index.js';

const TIMEOUT_MS = 90_000;
/** The smallest threshold the schema allows: more than 4 unsummarised messages start a summary. */
const SUMMARIZE_AFTER = 4;
const SUMMARY = 'Earlier, Alice told Ada that her owl is called Hoot and eats mice.';

const isSummaryRequest = (req: FakeChatRequest): boolean => /^You keep the memory of Ada\b/.test(systemText(req));

describe('summaries through the bridge on a real Synapse', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => {
      // The redaction test's summaries echo their excerpt, so what a chapter covers can be asserted.
      if (isSummaryRequest(req)) return lastUserText(req).includes('parrot') ? `Echo: ${lastUserText(req).split('\n').slice(1).join(' | ')}` : SUMMARY;
      // Digits are not repeated, so only Alice's own message carries the secret.
      return `Ada heard: ${answeredText(req).replace(/\d/g, '#')}`;
    });
    const personasDir = seedPersonas('summaries', [{ name: 'Ada', prompt: 'You are Ada, who remembers.' }]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { memory: { summarize_after_messages: SUMMARIZE_AFTER } } });
    ada = tb.personaUserId('Ada');
    alice = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  const say = async (roomId: string, text: string): Promise<RawEvent> => {
    await alice.sendText(roomId, text);
    return alice.waitForMessage(roomId, (e) => e.sender === ada && e.content.body === `Ada heard: ${text}`, undefined, `Ada answering "${text}"`);
  };

  test('a long conversation is summarised in the background and the summary is in the next prompt', async () => {
    const dm = await alice.openDm(ada);
    // Three exchanges: six messages remembered, more than the threshold of four.
    const opening = ['My owl is called Hoot.', 'Hoot eats mice.', 'He sleeps all day.'];
    for (const text of opening) await say(dm, text);

    await waitUntil(() => llm.requests.some(isSummaryRequest), 'the summary request');
    const summaryRequest = llm.requests.find(isSummaryRequest)!;
    // The oldest messages are summarised, the newest half of the threshold stays verbatim.
    const transcript = summaryRequest.messages.map(messageText).join('\n');
    expect(transcript).toContain('My owl is called Hoot.');
    expect(transcript).not.toContain('He sleeps all day.');
    await tb.app.services.summarizer.idle();

    await say(dm, 'What do you remember about my owl?');
    const next = llm.requests.filter((r) => !isSummaryRequest(r) && answeredText(r) === 'What do you remember about my owl?');
    expect(next).toHaveLength(1);
    expect(systemText(next[0]!)).toContain(`Summary of the earlier conversation, oldest first:\n${SUMMARY}`);
    // What the summary covers is no longer sent verbatim; the recent tail still is.
    const turns = next[0]!.messages.slice(1).map(messageText).join('\n');
    expect(turns).not.toContain('My owl is called Hoot.');
    expect(turns).toContain('He sleeps all day.');

    await alice.sendText(dm, '!summary');
    const shown = await alice.waitForMessage(dm, (e) => e.sender === ada && /^My summary of /.test(e.content.body ?? ''), undefined, 'the !summary answer');
    expect(shown.content.body).toContain(SUMMARY);
  }, TIMEOUT_MS);

  test('a redacted message leaves the chapter that covered it: out of the next prompt at once, then rewritten without it', async () => {
    const dm = await alice.openDm(ada);
    const isParrotSummary = (r: FakeChatRequest) => isSummaryRequest(r) && lastUserText(r).includes('parrot');
    await say(dm, 'My parrot is called Polly.');
    const secret = await alice.sendText(dm, 'My locker code is 4711.');
    await alice.waitForMessage(dm, (e) => e.sender === ada && e.content.body === 'Ada heard: My locker code is ####.', undefined, 'Ada answering the secret');
    await say(dm, 'Polly talks a lot.');
    await waitUntil(() => llm.requests.some(isParrotSummary), 'the first chapter');
    await tb.app.services.summarizer.idle();
    expect(lastUserText(llm.requests.find(isParrotSummary)!)).toContain('My locker code is 4711.');

    await alice.client.redactEvent(dm, secret);
    const promptFor = (text: string) => llm.requests.find((r) => !isSummaryRequest(r) && answeredText(r) === text)!;
    const whole = (r: FakeChatRequest) => r.messages.map(messageText).join('\n');
    await say(dm, 'What is my parrot called?');
    expect(whole(promptFor('What is my parrot called?'))).not.toContain('4711');

    // That answer scheduled the rewrite of the stale chapter from the messages left.
    await waitUntil(() => llm.requests.filter(isParrotSummary).length >= 2, 'the rewritten chapter');
    await tb.app.services.summarizer.idle();
    await say(dm, 'Does Polly talk?');
    const next = promptFor('Does Polly talk?');
    expect(systemText(next)).toMatch(/Echo: \S+: My parrot is called Polly\./);
    expect(whole(next)).not.toContain('4711');
  }, TIMEOUT_MS);
});
