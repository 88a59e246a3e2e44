import { FakeOpenAI, lastUserText, systemText } from '../../tests/fakes/FakeOpenAI.js';
import { LlmClient } from '../llm/LlmClient.js';
import type { Persona } from '../personas/Persona.js';
import { openDatabase } from '../store/Database.js';
import { buildPrompt, guaranteedRecentTokens } from '../llm/PromptBuilder.js';
import { estimateTokens } from '../llm/tokens.js';
import { MemoryStore, type MemoryScope } from './MemoryStore.js';
import { NoteStore } from './NoteStore.js';
import { Summarizer } from './Summarizer.js';

const ada: Persona = {
  name: 'Ada',
  userId: '@persona_ada:hs',
  prompt: 'You are Ada.',
  traits: {},
  model: 'ada-model',
  temperature: null,
  avatarUrl: null,
  createdAt: 0,
  creator: '@admin:hs',
};
const scope: MemoryScope = { personaId: ada.userId, roomId: '!room:hs', threadRoot: null };

describe('Summarizer', () => {
  let fake: FakeOpenAI;
  let memory: MemoryStore;
  let notes: NoteStore;
  let llm: LlmClient;
  let now: number;
  let summarizer: Summarizer;
  let db: ReturnType<typeof openDatabase>;

  beforeAll(async () => void (fake = await FakeOpenAI.start()));
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    db = openDatabase(':memory:');
    memory = new MemoryStore(db);
    notes = new NoteStore(db);
    now = 1_000_000;
    llm = new LlmClient(
      { base_url: fake.baseUrl, api_key: '', model: 'default', temperature: 0.8, max_tokens: 100, timeout_seconds: 5, max_retries: 0, max_concurrent: 2, stream: false },
      { backoff: { baseMs: 1, maxMs: 1 } },
    );
    summarizer = new Summarizer({ memory, notes, llm, summarizeAfterMessages: 6, contextTokens: 4096, retryAfterMs: 60_000, now: () => now });
  });

  const say = (count: number, from = 1) => {
    for (let i = from; i < from + count; i++) {
      const persona = i % 3 === 0;
      memory.record({
        roomId: scope.roomId,
        eventId: `$m${i}`,
        sender: persona ? ada.userId : '@alice:hs',
        displayName: persona ? 'Ada' : 'Alice',
        msgtype: 'm.text',
        body: `line ${i}`,
        ts: i,
        threadRoot: null,
        fromPersona: persona,
      });
    }
  };

  test('does nothing until the unsummarised history exceeds the threshold', async () => {
    say(6);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(fake.requests).toHaveLength(0);
  });

  test('summarises all but the newest half-threshold into a chapter, with the persona’s model', async () => {
    fake.respondWith((req) => `Summary of: ${lastUserText(req).split('\n').slice(1).join(' | ')}`);
    say(10);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.model).toBe('ada-model');
    expect(systemText(fake.requests[0]!)).toMatch(/Summarise the conversation excerpt/);
    const chapters = memory.chapters(scope, 10);
    expect(chapters).toHaveLength(1);
    expect(chapters[0]).toMatchObject({ messageCount: 7, summary: 'Summary of: Alice: line 1 | Alice: line 2 | Ada: line 3 | Alice: line 4 | Alice: line 5 | Ada: line 6 | Alice: line 7' });
    expect(memory.recent(scope, 50).map((m) => m.body)).toEqual(['line 8', 'line 9', 'line 10']);
  });

  test('a runaway summary is stored bounded by llm.max_answer_chars, like an answer', async () => {
    const bounded = new LlmClient(
      { base_url: fake.baseUrl, api_key: '', model: 'default', temperature: 0.8, max_tokens: 100, timeout_seconds: 5, max_retries: 0, max_concurrent: 2, stream: false },
      { backoff: { baseMs: 1, maxMs: 1 }, maxAnswerChars: 500 },
    );
    summarizer = new Summarizer({ memory, notes, llm: bounded, summarizeAfterMessages: 6, contextTokens: 4096, now: () => now });
    fake.respondWith(`Summary ${'z'.repeat(1_000_000)}`);
    say(10);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(memory.chapters(scope, 10)[0]!.summary).toBe(`Summary ${'z'.repeat(492)}`);
  });

  test('the next chapter is written with the previous one as context', async () => {
    say(10);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    say(5, 11);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(fake.requests).toHaveLength(2);
    expect(lastUserText(fake.requests[1]!)).toMatch(/^What happened before this excerpt:\nFake reply to: /);
    expect(memory.chapters(scope, 10)).toHaveLength(2);
  });

  test("the room's notes are named in the summarising prompt", async () => {
    notes.add({ roomId: scope.roomId, personaId: null, body: 'Alice is vegetarian.', author: '@alice:hs', eventId: null });
    say(10);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    const notesIndex = lastUserText(fake.requests[0]!).indexOf('Notes Ada keeps separately');
    expect(notesIndex).toBe(0);
    expect(lastUserText(fake.requests[0]!)).toContain('- (note 1) Alice is vegetarian.');
  });

  test('long messages are summarised before they leave the prompt, well before the message count is reached', async () => {
    const contextTokens = 1024;
    summarizer = new Summarizer({ memory, notes, llm, summarizeAfterMessages: 60, contextTokens, now: () => now });
    const persona = { ...ada, prompt: 'You are Ada. '.repeat(20) };
    const long = (i: number) => `message ${i}: ${'a rather long sentence about many things '.repeat(4)}`;
    // As messages arrive one by one with a summary chance after each (as replies do), and the
    // model writes at once: at every step, every unsummarised message must fit the prompt.
    for (let i = 1; i <= 120; i++) {
      memory.record({ roomId: scope.roomId, eventId: `$l${i}`, sender: '@alice:hs', displayName: 'Alice', msgtype: 'm.text', body: long(i), ts: i, threadRoot: null, fromPersona: false });
      summarizer.schedule(persona, scope);
      await summarizer.idle();
      const unsummarised = memory.recent(scope, 1000);
      const history = unsummarised.map((m) => ({ id: m.id, sender: m.sender, name: 'Alice', msgtype: m.msgtype, body: m.body }));
      const built = buildPrompt({ persona, isDirect: true, participants: ['Alice'], inThread: false, chapters: [], history, budgetTokens: contextTokens });
      expect(built.historyOmitted).toBe(0);
    }
    expect(memory.chapters(scope, 100).length).toBeGreaterThan(3);
    expect(guaranteedRecentTokens(contextTokens, estimateTokens(persona.prompt))).toBeLessThan(60 * 50);
  });

  test('a failed summary is retried later, not on every message, and never throws', async () => {
    fake.respondWith({ status: 500 });
    say(10);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(memory.chapters(scope, 10)).toHaveLength(0);
    summarizer.schedule(ada, scope); // too soon: no new request
    await summarizer.idle();
    expect(fake.requests).toHaveLength(1);
    now += 60_000;
    fake.respondWith('Recovered summary');
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(memory.chapters(scope, 10).map((c) => c.summary)).toEqual(['Recovered summary']);
  });

  test('a redaction makes the chapter stale; the next schedule rewrites it from what is left, without the redacted text', async () => {
    fake.respondWith((req) => `Summary of: ${lastUserText(req).split('\n').slice(1).join(' | ')}`);
    say(10);
    memory.record({ roomId: scope.roomId, eventId: '$secret', sender: '@alice:hs', displayName: 'Alice', msgtype: 'm.text', body: 'my password is hunter2', ts: 11, threadRoot: null, fromPersona: false });
    say(8, 12);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    const before = memory.chapters(scope, 10);
    expect(before.map((c) => c.summary).join(' ')).toContain('hunter2');
    const covering = before.find((c) => c.summary.includes('hunter2'))!;
    const requests = fake.requests.length;

    memory.redact('$secret');
    // Until rewritten, no prompt or !summary sees the chapter.
    expect(memory.chapters(scope, 10).map((c) => c.summary).join(' ')).not.toContain('hunter2');
    const built = buildPrompt({
      persona: ada,
      isDirect: false,
      participants: ['Alice'],
      inThread: false,
      chapters: memory.chapters(scope, 10).map((c) => c.summary),
      history: [],
      budgetTokens: 4096,
    });
    expect(JSON.stringify(built)).not.toContain('hunter2');

    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(fake.requests).toHaveLength(requests + 1);
    expect(lastUserText(fake.requests.at(-1)!)).toMatch(/Excerpt/);
    const after = memory.chapters(scope, 10);
    expect(after).toHaveLength(before.length);
    const rewritten = after.find((c) => c.id === covering.id)!;
    expect(rewritten).toMatchObject({ firstMessageId: covering.firstMessageId, lastMessageId: covering.lastMessageId, messageCount: covering.messageCount - 1 });
    expect(rewritten.summary).toMatch(/^Summary of: /);
    expect(after.map((c) => c.summary).join(' ')).not.toContain('hunter2');
    expect(memory.staleChapters(scope)).toEqual([]);
  });

  test("a chapter blanked for a person who asked to be forgotten is rewritten without their messages, told to leave their names out", async () => {
    fake.respondWith((req) => `Rewritten from: ${lastUserText(req).split('\n').slice(1).join(' | ')}`);
    say(10);
    memory.record({ roomId: scope.roomId, eventId: '$dave', sender: '@dave:hs', displayName: 'Dave', msgtype: 'm.text', body: 'I am Dave and I work nights', ts: 11, threadRoot: null, fromPersona: false });
    say(8, 12);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    const chapter = memory.chapters(scope, 10)[0]!;
    db.prepare(`UPDATE memory_summaries SET summary = '', stale = stale + 1, leave_out = ? WHERE id = ?`).run(JSON.stringify(['@dave:hs', 'Dave']), chapter.id);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    const request = fake.requests.at(-1)!;
    expect(systemText(request)).toContain('These people asked to be forgotten: do not name or describe them, nor anything about them: @dave:hs, Dave.');
    expect(lastUserText(request)).not.toContain('work nights');
    expect(memory.chapters(scope, 10).find((c) => c.id === chapter.id)!.summary).toMatch(/^Rewritten from: /);
  });

  test('a chapter whose messages were all redacted is deleted, without asking the model', async () => {
    say(10);
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    const [chapter] = memory.chapters(scope, 10);
    for (let id = chapter!.firstMessageId; id <= chapter!.lastMessageId; id++) memory.redact(`$m${id}`);
    const requests = fake.requests.length;
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(fake.requests).toHaveLength(requests);
    expect(memory.chapters(scope, 10)).toEqual([]);
    expect(memory.staleChapters(scope)).toEqual([]);
    expect(memory.recent(scope, 50).map((m) => m.body)).toEqual(['line 8', 'line 9', 'line 10']);
  });

  test('a summary finishing after !forget is discarded', async () => {
    say(10);
    fake.respondWith(async () => {
      memory.forget(ada.userId, scope.roomId, { deleteMessages: false });
      return 'too late';
    });
    summarizer.schedule(ada, scope);
    await summarizer.idle();
    expect(memory.chapters(scope, 10)).toEqual([]);
  });
});
