import { FakeOpenAI, lastUserText, messageText, systemText, type FakeChatRequest } from '../../tests/fakes/FakeOpenAI.js';
import type { ReplyRequest } from '../dispatch/Responder.js';
import { LlmClient, LlmError } from '../llm/LlmClient.js';
import type { RoomEvent } from '../matrix/events.js';
import { MemoryStore, type MemoryScope } from '../memory/MemoryStore.js';
import { MessageSearch } from '../memory/MessageSearch.js';
import { MessageIndex } from '../memory/MessageIndex.js';
import { NoteStore } from '../memory/NoteStore.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import { openDatabase } from '../store/Database.js';
import { FINAL_KEY, LIVE_KEY } from '../matrix/liveMessages.js';
import { AnswerControls } from './AnswerControls.js';
import { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import { answerCutNotice, MEMORY_WRITE_FAILED_NOTICE } from './messages.js';
import { Timeline } from '../metrics/AnswerTimeline.js';
import { PersonaResponder, type PersonaResponderDeps, type ResponderMatrix, type ResponderMedia } from './PersonaResponder.js';

const BOT = '@personas:hs';
const ada: Persona = {
  name: 'Ada',
  userId: '@persona_ada:hs',
  prompt: 'You are Ada Lovelace, poetical scientist.',
  traits: { curiosity: 'high' },
  model: null,
  temperature: 0.4,
  avatarUrl: null,
  createdAt: 0,
  creator: '@admin:hs',
};
const bo: Persona = { ...ada, name: 'Bo', userId: '@persona_bo:hs', prompt: 'You are Bo.' };
const personas: PersonaDirectory = { byUserId: (id) => [ada, bo].find((p) => p.userId === id), list: () => [ada, bo] };
const DM = '!dm:hs';
const GROUP = '!group:hs';
const rooms: Record<string, string[]> = { [DM]: [ada.userId, '@alice:hs'], [GROUP]: [ada.userId, bo.userId, '@alice:hs', '@bob:hs', BOT] };
const names: Record<string, string> = { '@alice:hs': 'Alice', '@bob:hs': 'Bob' };

/** Records what the responder does on Matrix, in order. */
class RecordingMatrix implements ResponderMatrix {
  readonly log: Array<{ kind: 'send' | 'typing' | 'receipt'; roomId: string; userId: string; detail: unknown }> = [];
  failSends = false;
  /** Sends it picks fail as a send the homeserver never took (dropped after the gateway's retries). */
  failWhen: (content: Record<string, unknown>) => boolean = () => false;
  private n = 0;
  async sendEvent(userId: string, roomId: string, _type: string, content: Record<string, unknown>): Promise<string> {
    if (this.failSends) throw new Error('M_FORBIDDEN: not in room');
    if (this.failWhen(content)) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8008'), { code: 'ECONNREFUSED' });
    this.log.push({ kind: 'send', roomId, userId, detail: content });
    return `$sent${++this.n}`;
  }
  async setTyping(userId: string, roomId: string, typing: boolean): Promise<void> {
    this.log.push({ kind: 'typing', roomId, userId, detail: typing });
  }
  async sendReadReceipt(userId: string, roomId: string, eventId: string): Promise<void> {
    this.log.push({ kind: 'receipt', roomId, userId, detail: eventId });
  }
  get sent(): Array<Record<string, unknown>> {
    return this.log.filter((e) => e.kind === 'send').map((e) => e.detail as Record<string, unknown>);
  }
  get typing(): boolean[] {
    return this.log.filter((e) => e.kind === 'typing').map((e) => e.detail as boolean);
  }
}

describe('PersonaResponder', () => {
  let fake: FakeOpenAI;
  let memory: MemoryStore;
  let search: MessageSearch;
  /** The indexing the stores asked for (MessageIndex's scheduled run), run by hand. */
  let indexRuns: Array<() => void>;
  let notes: NoteStore;
  let matrix: RecordingMatrix;
  let responder: PersonaResponder;
  let scheduled: MemoryScope[];
  let n = 0;

  beforeAll(async () => void (fake = await FakeOpenAI.start()));
  afterAll(() => fake.stop());
  beforeEach(async () => {
    await fake.start();
    fake.reset();
    const db = openDatabase(':memory:');
    // As compose wires them: stored messages are indexed for search soon after (when the test runs indexRuns).
    indexRuns = [];
    const index = new MessageIndex(db, (run) => indexRuns.push(run));
    memory = new MemoryStore(db, index);
    search = new MessageSearch(db, index);
    notes = new NoteStore(db);
    matrix = new RecordingMatrix();
    scheduled = [];
    responder = makeResponder();
  });

  function makeResponder(typingRefreshMs = 20_000, recallMessages = 3, extra: Partial<PersonaResponderDeps> = {}): PersonaResponder {
    const llm = new LlmClient(
      { base_url: fake.baseUrl, api_key: '', model: 'm', temperature: 0.8, max_tokens: 200, timeout_seconds: 5, max_retries: 1, max_concurrent: 2, stream: true },
      { backoff: { baseMs: 1, maxMs: 2 } },
    );
    return new PersonaResponder({
      llm,
      memory,
      search,
      notes,
      recallMessages,
      summarizer: { schedule: (_p, scope) => void scheduled.push(scope) },
      matrix,
      members: {
        ensureLoaded: async () => undefined,
        joined: (roomId) => rooms[roomId] ?? [],
        displayName: (_roomId, userId) => names[userId],
      },
      personas,
      botUserId: BOT,
      contextTokens: 2048,
      typingRefreshMs,
      ...extra,
    });
  }

  /** A message as pushed by the homeserver, remembered as the recorder would have. */
  function message(roomId: string, sender: string, body: string, extra: Record<string, unknown> = {}): RoomEvent {
    const event: RoomEvent = {
      event_id: `$m${++n}`,
      room_id: roomId,
      sender,
      type: 'm.room.message',
      origin_server_ts: 1000 + n,
      content: { msgtype: 'm.text', body, ...extra },
    };
    const rel = extra['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
    memory.record({
      roomId,
      eventId: event.event_id,
      sender,
      displayName: names[sender] ?? personas.byUserId(sender)?.name ?? null,
      msgtype: 'm.text',
      body,
      ts: event.origin_server_ts,
      threadRoot: rel?.rel_type === 'm.thread' ? rel.event_id! : null,
      fromPersona: !!personas.byUserId(sender),
    });
    return event;
  }
  const request = (event: RoomEvent, over: Partial<ReplyRequest> = {}): ReplyRequest => ({
    persona: ada,
    event,
    requestedBy: event.sender,
    isDirect: event.room_id === DM,
    threadRootId: null,
    receivedAt: Date.now(),
    ...over,
  });
  const turns = (req: FakeChatRequest) => req.messages.slice(1).map((m) => `${m.role}> ${messageText(m)}`);

  test('a message the recorder has queued, not stored yet: answered from the queue, nothing written before the model is asked', async () => {
    message(DM, '@alice:hs', 'Hello Ada');
    const question: RoomEvent = { event_id: '$queued', room_id: DM, sender: '@alice:hs', type: 'm.room.message', origin_server_ts: 5000, content: { msgtype: 'm.text', body: '> <@ada> x\n\nWhat are numbers?' } };
    const queued = { roomId: DM, eventId: '$queued', sender: '@alice:hs', displayName: 'Alice', msgtype: 'm.text', body: 'What are numbers?', ts: 5000, threadRoot: null, fromPersona: false };
    const order: string[] = [];
    const record = memory.record.bind(memory);
    memory.record = (m) => (order.push(`record ${m.eventId}`), record(m));
    fake.respondWith(() => (order.push('model asked'), 'Numbers are poetry.'));
    responder = makeResponder(20_000, 3, { recording: { queuedMessage: (id) => (id === '$queued' ? queued : undefined), stored: async () => undefined } });
    await responder.respond(request(question));
    // The queued text (reply fallback stripped) ends the history: nothing after it can be stored before it.
    expect(turns(fake.requests[0]!)).toEqual(['user> Alice: Hello Ada\nAlice: What are numbers?']);
    expect(order).toEqual(['model asked', 'record $sent1']);
  });

  test('a queued media message is stored before its media is read into it, and the prompt is built from what was read', async () => {
    const voice: RoomEvent = { event_id: '$voice', room_id: DM, sender: '@alice:hs', type: 'm.room.message', origin_server_ts: 5000, content: { msgtype: 'm.audio', body: 'Voice message', url: 'mxc://hs/v' } };
    const queued = { roomId: DM, eventId: '$voice', sender: '@alice:hs', displayName: 'Alice', msgtype: 'm.audio', body: '[voice message]', ts: 5000, threadRoot: null, fromPersona: false, media: '{"kind":"audio"}' };
    const order: string[] = [];
    const media: ResponderMedia = {
      prepare: async (_request, _scope, answered) => {
        order.push(`prepare ${answered?.eventId ?? 'nothing stored'}`);
        memory.applyEdit('$voice', '@alice:hs', '[voice message] what colour is the sky');
        return { notice: null, answer: true };
      },
      imagesFor: () => new Map(),
      senseNotes: () => [],
      speaksTo: () => false,
      speak: async () => ({ content: null, notice: null }),
    };
    fake.respondWith(() => (order.push('model asked'), 'Blue.'));
    const recording = {
      queuedMessage: (id: string) => (id === '$voice' && !memory.byEventId(id) ? queued : undefined),
      stored: async () => void (order.push('stored'), memory.record(queued)),
    };
    responder = makeResponder(20_000, 3, { media, recording });
    await responder.respond(request(voice));
    expect(order).toEqual(['stored', 'prepare $voice', 'model asked']);
    expect(turns(fake.requests[0]!)).toEqual(['user> Alice: [voice message] what colour is the sky']);
  });

  test("a timed answer laps its stages up to the model request and reports the timeline once, as the request leaves", async () => {
    fake.enqueue({ status: 500 }); // the retry is the endpoint's time: no second report
    const asked: string[][] = [];
    responder = makeResponder(20_000, 3, { onModelAsked: ({ timeline }) => asked.push([...timeline.stages().keys()]) });
    const timeline = new Timeline();
    timeline.lap('dispatcher');
    await responder.respond(request(message(DM, '@alice:hs', 'Tell me about numbers'), { timeline }));
    expect(asked).toEqual([['dispatcher', 'answer_queue', 'members', 'remember', 'usage', 'history', 'recall', 'turns', 'prompt', 'request']]);
    expect(fake.requests).toHaveLength(2);
  });

  test('a DM answer: prompt with persona and history, plain message, remembered; the receipt after it, no typing', async () => {
    fake.respondWith('Numbers are **poetry**.');
    message(DM, '@alice:hs', 'Hello Ada');
    message(DM, ada.userId, 'Hello Alice!');
    const question = message(DM, '@alice:hs', 'What are numbers?');
    // An answer that comes before the typing delay: how long "fast" takes is the machine's
    // business (a loaded test machine can take over a second), so the delay here is generous.
    responder = makeResponder(20_000, 3, { typingDelayMs: 60_000 });
    await responder.respond(request(question));

    const prompt = fake.requests[0]!;
    expect(systemText(prompt)).toContain('You are Ada Lovelace, poetical scientist.');
    expect(systemText(prompt)).toContain('This is a private conversation with Alice.');
    expect(turns(prompt)).toEqual(['user> Alice: Hello Ada', 'assistant> Hello Alice!', 'user> Alice: What are numbers?']);
    expect(prompt.temperature).toBe(0.4);

    expect(matrix.sent).toEqual([
      {
        msgtype: 'm.text',
        body: 'Numbers are **poetry**.',
        format: 'org.matrix.custom.html',
        formatted_body: '<p>Numbers are <strong>poetry</strong>.</p>',
        'm.mentions': { user_ids: [] },
      },
    ]);
    // A fast answer: the answer first, then the read receipt; no typing at all (two requests).
    expect(matrix.log.map((e) => e.kind)).toEqual(['send', 'receipt']);
    expect(matrix.log[1]).toMatchObject({ kind: 'receipt', userId: ada.userId, detail: question.event_id });
    expect(memory.recent({ personaId: ada.userId, roomId: DM, threadRoot: null }, 10).at(-1)).toMatchObject({
      eventId: '$sent1',
      sender: ada.userId,
      body: 'Numbers are **poetry**.',
      fromPersona: true,
    });
    expect(scheduled).toEqual([{ personaId: ada.userId, roomId: DM, threadRoot: null }]);
  });

  test('an old relevant message and the notes are in the prompt; the recent turns are not repeated', async () => {
    fake.respondWith('Pip and Rolo.');
    message(DM, '@alice:hs', 'My sister Xandria adopted two dogs, Pip and Rolo');
    for (let i = 0; i < 400; i++) message(DM, i % 2 ? ada.userId : '@alice:hs', `small talk number ${i} about the weather and the news`);
    notes.add({ roomId: DM, personaId: ada.userId, body: 'Alice is allergic to cats.', author: '@alice:hs', eventId: null });
    const question = message(DM, '@alice:hs', "What are my sister's dogs called?");
    indexRuns.splice(0).forEach((run) => run()); // indexed, as the bridge does soon after the writes
    await responder.respond(request(question));
    const system = systemText(fake.requests[0]!);
    expect(system).toContain('Notes you were asked to keep about this conversation:\n- Alice is allergic to cats.');
    expect(system).toMatch(/Earlier in this room \(older messages that may be relevant, oldest first\):\n\[1970-01-01 00:00 UTC\] Alice: My sister Xandria adopted two dogs, Pip and Rolo/);
    // It fell out of the recent turns long ago (2048 tokens hold far fewer than 400 messages).
    expect(turns(fake.requests[0]!).join('\n')).not.toContain('Xandria');
    expect(turns(fake.requests[0]!).join('\n')).not.toContain('small talk number 0 ');
  });

  test("the lorebook hook gets the recent messages with names, newest first, and who is answered; !me of the people who spoke last; starred answers", async () => {
    const loreCalls: Array<{ messages: string[]; userName: string; roomId: string }> = [];
    const peopleAsked: string[][] = [];
    responder = makeResponder(20_000, 3, {
      lore: ({ messages, userName, roomId }) => {
        loreCalls.push({ messages, userName, roomId });
        return [{ content: 'The glade hides a spring.', position: 'before_char', order: 1, priority: 0, constant: false, book: 0 }];
      },
      people: (_roomId, userIds) => {
        peopleAsked.push(userIds);
        return userIds.filter((u) => u === '@bob:hs').map((userId) => ({ userId, text: 'I am a botanist.' }));
      },
      examples: (personaId) => (personaId === ada.userId ? ['Numbers are poetry in motion.'] : []),
    });
    message(GROUP, '@bob:hs', 'I like plants');
    message(GROUP, bo.userId, 'So do I');
    const question = message(GROUP, '@alice:hs', 'Ada, where is the glade?');
    await responder.respond(request(question));
    expect(loreCalls).toEqual([{ roomId: GROUP, userName: 'Alice', messages: ['Alice: Ada, where is the glade?', 'Bo: So do I', 'Bob: I like plants'] }]);
    // The person answered first, then the others who wrote lately; never a persona.
    expect(peopleAsked).toEqual([['@alice:hs', '@bob:hs']]);
    const system = systemText(fake.requests[0]!);
    expect(system.startsWith('The glade hides a spring.\n\nYou are Ada Lovelace')).toBe(true);
    expect(system).toContain('About Bob: I am a botanist.');
    expect(system).toContain('- Numbers are poetry in motion.');
  });

  test('disclosure: the first answer to a person in a direct chat ends with the note, which is not remembered; once per person and persona; never in a group', async () => {
    const told = new Set<string>();
    responder = makeResponder(20_000, 3, {
      disclosure: {
        noteFor: (persona, userId) => (told.has(`${persona.userId}|${userId}`) ? null : `ℹ️ ${persona.name} is an AI character.`),
        told: (persona, userId) => void told.add(`${persona.userId}|${userId}`),
      },
    });
    fake.respondWith('Hello there.');
    await responder.respond(request(message(DM, '@alice:hs', 'hi')));
    await responder.respond(request(message(DM, '@alice:hs', 'again')));
    await responder.respond(request(message(GROUP, '@bob:hs', 'Ada?')));
    expect(matrix.sent.map((c) => c.body)).toEqual(['Hello there.\n\nℹ️ Ada is an AI character.', 'Hello there.', 'Hello there.']);
    expect(told).toEqual(new Set([`${ada.userId}|@alice:hs`]));
    // What the persona remembers saying is the answer alone.
    expect(memory.recent({ personaId: ada.userId, roomId: DM, threadRoot: null }, 10).filter((m) => m.fromPersona).map((m) => m.body)).toEqual(['Hello there.', 'Hello there.']);
  });

  test('an answer the client cut (llm.max_answer_chars) ends saying so; the persona remembers only what it said', async () => {
    responder = makeResponder(20_000, 3, { llm: { complete: async () => ({ text: 'A very long tale that goes', usage: null, model: 'm', attempts: 1, cutAt: 26 }) } });
    await responder.respond(request(message(DM, '@alice:hs', 'tell me everything')));
    expect(matrix.sent.map((c) => c.body)).toEqual([`A very long tale that goes\n\n${answerCutNotice(26)}`]);
    expect(answerCutNotice(16_000)).toContain('cut at 16,000 characters');
    expect(memory.recent({ personaId: ada.userId, roomId: DM, threadRoot: null }, 10).filter((m) => m.fromPersona).map((m) => m.body)).toEqual(['A very long tale that goes']);
  });

  test('recall off (memory.recall_messages 0): no older messages in the prompt', async () => {
    responder = makeResponder(20_000, 0);
    message(DM, '@alice:hs', 'My sister Xandria adopted two dogs, Pip and Rolo');
    for (let i = 0; i < 400; i++) message(DM, '@alice:hs', `small talk number ${i}`);
    await responder.respond(request(message(DM, '@alice:hs', "What are my sister's dogs called?")));
    expect(systemText(fake.requests[0]!)).not.toContain('Earlier in this room');
  });

  test('a group answer replies to the message and mentions a human sender; personas are named turns', async () => {
    fake.respondWith('I do.');
    message(GROUP, bo.userId, 'I think 42.');
    const question = message(GROUP, '@bob:hs', 'Ada, do you agree with @Bo?');
    await responder.respond(request(question));
    expect(turns(fake.requests[0]!)).toEqual(['user> Bo: I think 42.\nBob: Ada, do you agree with @Bo?']);
    expect(systemText(fake.requests[0]!)).toContain('You are in a group room with Bo, Alice and Bob.');
    expect(matrix.sent[0]).toMatchObject({
      'm.relates_to': { 'm.in_reply_to': { event_id: question.event_id } },
      'm.mentions': { user_ids: ['@bob:hs'] },
    });
  });

  test('persona-to-persona answers do not mention (and so summon) the other persona', async () => {
    const fromBo = message(GROUP, bo.userId, 'Ada?');
    fake.respondWith('Yes?');
    await responder.respond(request(fromBo));
    expect(matrix.sent[0]).toMatchObject({ 'm.mentions': { user_ids: [] } });
  });

  test('a thread message is answered in the thread, with context from that thread only', async () => {
    const root = message(GROUP, '@alice:hs', 'Thread about engines');
    message(GROUP, '@bob:hs', 'unrelated main timeline chatter');
    const thread = { 'm.relates_to': { rel_type: 'm.thread', event_id: root.event_id } };
    message(GROUP, '@bob:hs', 'The analytical one?', thread);
    const question = message(GROUP, '@alice:hs', 'Ada, explain it', thread);
    await responder.respond(request(question, { threadRootId: root.event_id }));
    expect(turns(fake.requests[0]!)).toEqual(['user> Alice: Thread about engines\nBob: The analytical one?\nAlice: Ada, explain it']);
    expect(matrix.sent[0]!['m.relates_to']).toEqual({
      rel_type: 'm.thread',
      event_id: root.event_id,
      is_falling_back: true,
      'm.in_reply_to': { event_id: question.event_id },
    });
    expect(memory.byEventId('$sent1')).toMatchObject({ threadRoot: root.event_id });
  });

  test('messages that arrived after the one answered are not in its prompt', async () => {
    const first = message(DM, '@alice:hs', 'first');
    message(DM, '@alice:hs', 'second, not yet answered');
    await responder.respond(request(first));
    expect(lastUserText(fake.requests[0]!)).toBe('Alice: first');
  });

  test("a scene's turn: the direction in the system prompt; the !converse message is neither remembered nor shown as written", async () => {
    fake.respondWith('Tea, obviously.');
    message(GROUP, '@alice:hs', 'Good morning all');
    const command: RoomEvent = { event_id: '$converse', room_id: GROUP, sender: '@alice:hs', type: 'm.room.message', origin_server_ts: 5, content: { msgtype: 'm.text', body: '!converse 4 tea or coffee' } };
    const sent: string[] = [];
    const scene = { direction: 'Scene direction: talk with Bo about: tea or coffee', opening: "Let's hear you talk about this among yourselves: tea or coffee" };
    await responder.respond(request(command, { scene, onSent: (eventId, body) => void sent.push(`${eventId}:${body}`) }));
    const prompt = fake.requests[0]!;
    expect(systemText(prompt)).toMatch(/Scene direction: talk with Bo about: tea or coffee$/);
    expect(turns(prompt)).toEqual(["user> Alice: Good morning all\nAlice: Let's hear you talk about this among yourselves: tea or coffee"]);
    expect(memory.byEventId('$converse')).toBeUndefined();
    expect(sent).toEqual(['$sent1:Tea, obviously.']);
    // It follows the command without pinging whoever sent it.
    expect(matrix.sent[0]).toMatchObject({ 'm.relates_to': { 'm.in_reply_to': { event_id: '$converse' } }, 'm.mentions': { user_ids: [] } });

    // The next turn answers that message (in memory now), seeing it as the last turn.
    fake.respondWith('Coffee!');
    const turn1: RoomEvent = { ...command, event_id: '$sent1', sender: ada.userId, content: { msgtype: 'm.text', body: 'Tea, obviously.' } };
    await responder.respond(request(turn1, { persona: bo, scene: { direction: 'Scene direction: turn 2', opening: null } }));
    expect(turns(fake.requests[1]!)).toEqual(['user> Alice: Good morning all\nAda: Tea, obviously.']);
    expect(systemText(fake.requests[1]!)).toMatch(/Scene direction: turn 2$/);
  });

  test('a message not yet recorded is remembered before prompting', async () => {
    const event: RoomEvent = { event_id: '$fresh', room_id: DM, sender: '@alice:hs', type: 'm.room.message', origin_server_ts: 5, content: { msgtype: 'm.text', body: 'fresh' } };
    await responder.respond(request(event));
    expect(lastUserText(fake.requests[0]!)).toBe('Alice: fresh');
    expect(memory.byEventId('$fresh')).toMatchObject({ body: 'fresh', displayName: 'Alice' });
  });

  test('an unreachable LLM gives one notice, nothing thrown; the next message is answered again', async () => {
    await fake.stop();
    const question = message(DM, '@alice:hs', 'Are you there?');
    await expect(responder.respond(request(question))).resolves.toBeUndefined();
    expect(matrix.sent).toEqual([{ msgtype: 'm.notice', body: "I can't think right now — the model endpoint is unavailable (model m).", 'm.mentions': {} }]);
    expect(matrix.typing.at(-1) ?? false).toBe(false);
    expect(responder.stats).toEqual({ replies: 0, failures: 1, cancelled: 0 });

    await fake.start();
    await responder.respond(request(message(DM, '@alice:hs', 'And now?')));
    expect(matrix.sent).toHaveLength(2);
    expect(matrix.sent[1]).toMatchObject({ msgtype: 'm.text', body: 'Fake reply to: Alice: Are you there?\nAlice: And now?' });
    // The responder did not remember its failure notice as something it said.
    expect(turns(fake.requests[0]!)).toEqual(['user> Alice: Are you there?\nAlice: And now?']);
  });

  test('an answer cancelled after the model was asked is still charged to the person who caused it; one cancelled before costs nothing', async () => {
    const charged: unknown[] = [];
    const usage = { capReached: () => null, record: (r: unknown) => void charged.push(r) };
    const asked = new LlmError('cancelled', 'cancelled by the caller', 1, undefined, { usage: { promptTokens: 50, completionTokens: 0, totalTokens: 50 } });
    asked.model = 'm';
    const stops = [asked, new LlmError('cancelled', 'cancelled by the caller', 1)];
    responder = makeResponder(20_000, 3, { usage, llm: { complete: async () => Promise.reject(stops.shift()) } });
    await responder.respond({ ...request(message(DM, '@alice:hs', 'tell me a story')), requestedBy: '@carol:hs' });
    await responder.respond(request(message(DM, '@alice:hs', 'another one')));
    expect(charged).toEqual([{ personaId: ada.userId, roomId: DM, userId: '@carol:hs', backend: 'default', model: 'm', promptTokens: 50, completionTokens: 0 }]);
    expect(responder.stats).toMatchObject({ replies: 0, cancelled: 2 });
  });

  test('an outage is told once per room: three failed answers, one notice; an answer ends it', async () => {
    await fake.stop();
    for (const text of ['one?', 'two?', 'three?']) await responder.respond(request(message(DM, '@alice:hs', text)));
    await responder.respond(request(message(GROUP, '@alice:hs', 'group?')));
    const notices = () => matrix.log.filter((e) => e.kind === 'send' && (e.detail as { msgtype?: string }).msgtype === 'm.notice').map((e) => e.roomId);
    // One in the DM for three failures, and one in the other room (its own outage notice).
    expect(notices()).toEqual([DM, GROUP]);
    expect(responder.stats.failures).toBe(4);

    await fake.start();
    await responder.respond(request(message(DM, '@alice:hs', 'back?')));
    expect(matrix.sent.at(-1)).toMatchObject({ msgtype: 'm.text' });
    // The DM's outage ended with that answer: the next one is told again; the group's goes on.
    await fake.stop();
    await responder.respond(request(message(DM, '@alice:hs', 'again?')));
    await responder.respond(request(message(GROUP, '@alice:hs', 'group again?')));
    expect(notices()).toEqual([DM, GROUP, DM]);
  });

  test('a different failure in the same room is told (it is not the same news)', async () => {
    fake.respondWith({ status: 404, message: 'model not found' });
    await responder.respond(request(message(DM, '@alice:hs', 'a')));
    await fake.stop();
    await responder.respond(request(message(DM, '@alice:hs', 'b')));
    expect(matrix.sent.map((c) => c.body)).toEqual([
      "I can't think right now — the model endpoint refused the request (HTTP 404, model m).",
      "I can't think right now — the model endpoint is unavailable (model m).",
    ]);
  });

  test('a full disk: the answer still goes out, the room is told once per fault episode', async () => {
    const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    let diskFull = true;
    const record = memory.record.bind(memory);
    memory.record = (m) => {
      if (diskFull) throw full();
      return record(m);
    };
    const notified: string[] = [];
    const failed: string[] = [];
    const writes = new MemoryWriteGuard({
      notify: async (roomId, text) => void notified.push(`${roomId}: ${text}`),
      onWriteFailed: (code) => void failed.push(code),
    });
    responder = makeResponder(20_000, 3, { writes });
    const ask = (text: string) => responder.respond(request({ event_id: `$new${++n}`, room_id: DM, sender: '@alice:hs', type: 'm.room.message', origin_server_ts: 5000 + n, content: { msgtype: 'm.text', body: text } }));
    await ask('first');
    await ask('second');
    expect(matrix.sent.map((c) => c.msgtype)).toEqual(['m.text', 'm.text']);
    expect(matrix.sent[1]!.body).toBe('Fake reply to: Alice: second');
    expect(notified).toEqual([`${DM}: ${MEMORY_WRITE_FAILED_NOTICE}`]);
    // Each failed write is counted: the question and the answer, twice.
    expect(failed).toEqual(['SQLITE_FULL', 'SQLITE_FULL', 'SQLITE_FULL', 'SQLITE_FULL']);

    diskFull = false;
    await ask('third');
    expect(notified).toHaveLength(1);
    diskFull = true;
    await ask('fourth');
    expect(notified).toHaveLength(2);
  });

  test('a refused request says so in its notice; in a thread the notice goes to the thread', async () => {
    fake.respondWith({ status: 404, message: 'model not found' });
    const root = message(GROUP, '@alice:hs', 'root');
    const question = message(GROUP, '@alice:hs', 'q', { 'm.relates_to': { rel_type: 'm.thread', event_id: root.event_id } });
    await responder.respond(request(question, { threadRootId: root.event_id }));
    expect(matrix.sent).toEqual([
      {
        msgtype: 'm.notice',
        body: "I can't think right now — the model endpoint refused the request (HTTP 404, model m).",
        'm.mentions': {},
        'm.relates_to': { rel_type: 'm.thread', event_id: root.event_id, is_falling_back: true, 'm.in_reply_to': { event_id: question.event_id } },
      },
    ]);
  });

  test('typing is refreshed while the model is slow', async () => {
    responder = makeResponder(10);
    fake.respondWith(async () => {
      while (matrix.typing.filter(Boolean).length < 3) await new Promise((r) => setTimeout(r, 5));
      return 'done thinking';
    });
    await responder.respond(request(message(DM, '@alice:hs', 'think hard')));
    expect(matrix.typing.filter(Boolean).length).toBeGreaterThanOrEqual(3);
    expect(matrix.typing.at(-1)).toBe(false);
  });

  test('a failure to send is logged, not thrown', async () => {
    matrix.failSends = true;
    await expect(responder.respond(request(message(DM, '@alice:hs', 'hi')))).resolves.toBeUndefined();
    expect(responder.stats.replies).toBe(0);
  });

  describe('live answers', () => {
    const fast = { firstFlushMs: 40, firstIntervalMs: 30, maxIntervalMs: 60, maxEdits: 20, minFirstChars: 10, minFirstMs: 20 };
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    let controls: AnswerControls;
    beforeEach(() => {
      controls = new AnswerControls();
      responder = makeResponder(20_000, 3, { live: { enabled: () => true, options: fast }, controls, typingDelayMs: 5 });
    });
    const edits = () => matrix.sent.filter((c) => (c['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace');

    test('a slow answer is one message edited in place, ending with the whole text and no live mark', async () => {
      fake.respondWith({ content: `**Once** ${words}.`, chunkDelayMs: 8 });
      await responder.respond(request(message(DM, '@alice:hs', 'tell me a story')));
      const [first, ...rest] = matrix.sent;
      expect(first![LIVE_KEY]).toEqual({});
      expect(rest.length).toBeGreaterThanOrEqual(2);
      expect(rest).toEqual(edits());
      const final = rest.at(-1)!;
      expect(final['m.new_content']).toEqual({
        msgtype: 'm.text',
        body: `**Once** ${words}.`,
        format: 'org.matrix.custom.html',
        formatted_body: `<p><strong>Once</strong> ${words}.</p>`,
        'm.mentions': { user_ids: [] },
      });
      expect(final[LIVE_KEY]).toBeUndefined();
      expect(final[FINAL_KEY]).toEqual({ relates_to: null });
      expect(rest.slice(0, -1).every((c) => LIVE_KEY in c && LIVE_KEY in (c['m.new_content'] as object))).toBe(true);
      // Remembered once, as its final text.
      const mine = memory.recent({ personaId: ada.userId, roomId: DM, threadRoot: null }, 10).filter((m) => m.sender === ada.userId);
      expect(mine.map((m) => m.body)).toEqual([`**Once** ${words}.`]);
    });

    test('an interim edit the homeserver never took does not lose the answer: the final edit carries all of it', async () => {
      let failed = 0;
      matrix.failWhen = (c) => (c['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace' && !(FINAL_KEY in c) && failed++ === 0;
      fake.respondWith({ content: `Once ${words}.`, chunkDelayMs: 8 });
      await responder.respond(request(message(DM, '@alice:hs', 'tell me a story')));
      expect(failed).toBe(1);
      // The live message, no interim edit after the failed one, then the final edit.
      expect(matrix.sent).toHaveLength(2);
      const final = edits().at(-1)!;
      expect(final[FINAL_KEY]).toBeDefined();
      expect((final['m.new_content'] as { body: string }).body).toBe(`Once ${words}.`);
      expect(responder.stats).toMatchObject({ replies: 1, failures: 0 });
      const mine = memory.recent({ personaId: ada.userId, roomId: DM, threadRoot: null }, 10).filter((m) => m.sender === ada.userId);
      expect(mine.map((m) => m.body)).toEqual([`Once ${words}.`]);
    });

    test('a fast answer is sent once, unedited', async () => {
      fake.respondWith('Quick.');
      await responder.respond(request(message(DM, '@alice:hs', 'hi')));
      expect(matrix.sent).toEqual([{ msgtype: 'm.text', body: 'Quick.', 'm.mentions': { user_ids: [] } }]);
    });

    test('stopped by the person it answers: what was written stays, marked stopped, and is remembered', async () => {
      // The stream holds after a few words until the stop is in, so a busy machine cannot
      // finish the answer before the person stops it.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      fake.respondWith({ content: words, chunkDelayMs: 15, pauseAfterChunks: { chunks: 5, until: held } });
      const question = message(DM, '@alice:hs', 'go on and on');
      const answering = responder.respond(request(question));
      while (!matrix.sent.length) await new Promise((r) => setTimeout(r, 5));
      const liveId = '$sent1';
      expect(controls.stopByEvent(liveId, '@bob:hs', false)).toBe('not-allowed');
      expect(controls.stopByEvent(liveId, '@alice:hs', false)).toBe('stopped');
      release();
      await answering;
      const final = edits().at(-1)!;
      const body = String((final['m.new_content'] as { body: string }).body);
      expect(body).toMatch(/^word0 .* … \(stopped\)$/);
      expect(body.length).toBeLessThan(words.length);
      const mine = memory.recent({ personaId: ada.userId, roomId: DM, threadRoot: null }, 10).filter((m) => m.sender === ada.userId);
      expect(mine.map((m) => m.body)).toEqual([body]);
      expect(responder.stats).toMatchObject({ replies: 0, cancelled: 1 });
    });

    test('regenerate writes the answer again into the same message', async () => {
      fake.respondWith('First answer.');
      const question = message(DM, '@alice:hs', 'pick a number');
      await responder.respond(request(question));
      expect(controls.latestAnswer(DM, '$sent1')).toBeDefined();
      fake.respondWith({ content: `Second answer, ${words}.`, chunkDelayMs: 2 });
      await responder.respond({ ...request(question), regenerate: '$sent1' });
      const rewritten = edits();
      expect(rewritten.length).toBeGreaterThanOrEqual(1);
      expect(rewritten.every((c) => (c['m.relates_to'] as { event_id: string }).event_id === '$sent1')).toBe(true);
      expect((rewritten.at(-1)!['m.new_content'] as { body: string }).body).toBe(`Second answer, ${words}.`);
      // The prompt did not contain the answer being replaced.
      expect(turns(fake.requests[1]!).some((t) => t.includes('First answer.'))).toBe(false);
      const mine = memory.recent({ personaId: ada.userId, roomId: DM, threadRoot: null }, 10).filter((m) => m.sender === ada.userId);
      expect(mine.map((m) => m.body)).toEqual([`Second answer, ${words}.`]);
    });
  });
});
