import type { RoomEvent } from '../matrix/events.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import { openDatabase } from '../store/Database.js';
import { GroupCommit } from '../store/GroupCommit.js';
import { MemoryStore, type MemoryScope } from './MemoryStore.js';
import { MessageRecorder } from './MessageRecorder.js';
import { stripReplyFallback } from './messageFromEvent.js';
import { inboundEvents } from '../../tests/support/inbound.js';
import { MemoryWriteGuard } from './MemoryWriteGuard.js';
import { MEMORY_WRITE_FAILED_NOTICE } from '../reply/messages.js';

const ADA = '@persona_ada:hs';
const BOT = '@personas:hs';
const ada = { name: 'Ada', userId: ADA } as Persona;
const personas: PersonaDirectory = { byUserId: (id) => (id === ADA ? ada : undefined), list: () => [ada] };
const joined: Record<string, string[]> = { '!with-ada:hs': [ADA, '@alice:hs', BOT], '!no-persona:hs': ['@alice:hs', BOT] };

let n = 0;
const event = (over: Partial<RoomEvent> & { content?: Record<string, unknown> }): RoomEvent => ({
  event_id: `$ev${++n}`,
  room_id: '!with-ada:hs',
  sender: '@alice:hs',
  type: 'm.room.message',
  origin_server_ts: 1000 + n,
  content: { msgtype: 'm.text', body: `hello ${n}` },
  ...over,
});

/** What the pipeline knows of each event: Ada is the live persona, `!ping`/`!forget`/`!summary` commands. */
const inbound = inboundEvents({
  botUserId: BOT,
  personas: [ada],
  rooms: joined,
  displayNames: { '@alice:hs': 'Alice', [ADA]: 'Ada' },
  classify: (body) => (/^!(ping|forget|summary)\b/.test(body) ? 'bot' : null),
});

describe('MessageRecorder', () => {
  let memory: MemoryStore;
  let recorder: MessageRecorder;
  const handle = (e: RoomEvent) => recorder.handle(e, inbound.of(e));
  const scope: MemoryScope = { personaId: ADA, roomId: '!with-ada:hs', threadRoot: null };
  const remembered = () => memory.recent(scope, 100).map((m) => `${m.displayName ?? m.sender}: ${m.body}`);

  beforeEach(() => {
    const db = openDatabase(':memory:');
    memory = new MemoryStore(db);
    recorder = new MessageRecorder({
      memory,
      personas,
    });
  });

  test('records messages with the display name, in rooms with a persona only', async () => {
    await handle(event({ content: { msgtype: 'm.text', body: 'Hi Ada' } }));
    await handle(event({ room_id: '!no-persona:hs' }));
    expect(remembered()).toEqual(['Alice: Hi Ada']);
    expect(memory.recent({ ...scope, roomId: '!no-persona:hs' }, 10)).toEqual([]);
  });

  test('with a group commit: messages of several rooms handled at once are recorded in one transaction, each handle() returning once its write is committed', async () => {
    const db = openDatabase(':memory:');
    const grouped = new MemoryStore(db);
    let commitsScheduled = 0;
    const commits = new GroupCommit(db, (flush) => {
      commitsScheduled++;
      setImmediate(flush);
    });
    const inTransaction: boolean[] = [];
    const commit = <T>(write: () => T) =>
      commits.run(() => {
        inTransaction.push(db.inTransaction);
        return write();
      });
    const withCommit = new MessageRecorder({
      memory: grouped,
      personas,
      commit,
    });
    const rooms = ['!one:hs', '!two:hs', '!three:hs'];
    const everywhere = inboundEvents({ botUserId: BOT, personas: [ada], rooms: Object.fromEntries(rooms.map((r) => [r, [ADA, '@alice:hs']])) });
    await Promise.all(
      rooms.map((room_id, i) => {
        const e = event({ room_id, event_id: `$e${i}`, content: { msgtype: 'm.text', body: `in ${room_id}` } });
        return withCommit.handle(e, everywhere.of(e));
      }),
    );
    expect(commitsScheduled).toBe(1);
    expect(inTransaction).toEqual([true, true, true]);
    expect(rooms.map((roomId) => grouped.recent({ personaId: ADA, roomId, threadRoot: null }, 10).map((m) => m.body))).toEqual([['in !one:hs'], ['in !two:hs'], ['in !three:hs']]);
  });

  test('with commitLater: handle() returns before a new message is written; the message is queued until committed, in order with later writes', async () => {
    const db = openDatabase(':memory:');
    const later = new MemoryStore(db);
    let nextTurn: (() => void) | null = null;
    const commits = new GroupCommit(db, queueMicrotask, (flush) => void (nextTurn = flush));
    const deferred = new MessageRecorder({ memory: later, personas, commit: (w) => commits.run(w), commitLater: (w) => commits.later(w) });
    const first = event({ content: { msgtype: 'm.text', body: '> <@ada:hs> quote\n\nthe question' , 'm.relates_to': { 'm.in_reply_to': { event_id: '$x' } } } });
    await deferred.handle(first, inbound.of(first));
    expect(later.byEventId(first.event_id)).toBeUndefined();
    expect(deferred.queuedMessage(first.event_id)).toMatchObject({ body: 'the question', displayName: 'Alice', fromPersona: false });
    // A later awaited write (an edit of it) commits the queued one first, then itself.
    const edit = event({ content: { msgtype: 'm.text', body: '* fixed', 'm.new_content': { msgtype: 'm.text', body: 'the fixed question' }, 'm.relates_to': { rel_type: 'm.replace', event_id: first.event_id } } });
    await deferred.handle(edit, inbound.of(edit));
    expect(later.byEventId(first.event_id)?.body).toBe('the fixed question');
    await new Promise((resolve) => setImmediate(resolve));
    expect(deferred.queuedMessage(first.event_id)).toBeUndefined();
    // Alone, it is committed on the next turn of the event loop.
    const second = event({});
    await deferred.handle(second, inbound.of(second));
    expect(later.byEventId(second.event_id)).toBeUndefined();
    (nextTurn as (() => void) | null)?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(later.byEventId(second.event_id)).toBeDefined();
    expect(deferred.queuedMessage(second.event_id)).toBeUndefined();
  });

  test('with commitLater, stored() settles once the queued write is committed (a media answer waits for it)', async () => {
    const db = openDatabase(':memory:');
    const later = new MemoryStore(db);
    let nextTurn: (() => void) | null = null;
    const commits = new GroupCommit(db, queueMicrotask, (flush) => void (nextTurn = flush));
    const deferred = new MessageRecorder({ memory: later, personas, commit: (w) => commits.run(w), commitLater: (w) => commits.later(w) });
    const e = event({});
    await deferred.handle(e, inbound.of(e));
    let settled = false;
    const stored = deferred.stored(e.event_id).then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(later.byEventId(e.event_id)).toBeUndefined();
    (nextTurn as (() => void) | null)?.();
    await stored;
    expect(later.byEventId(e.event_id)).toBeDefined();
    // Nothing queued: settles at once.
    await expect(deferred.stored('$never')).resolves.toBeUndefined();
  });

  test('with commitLater, a write that fails is reported to the room and leaves the queue', async () => {
    const db = openDatabase(':memory:');
    const later = new MemoryStore(db);
    const commits = new GroupCommit(db, queueMicrotask, (flush) => void setImmediate(flush));
    const notices: string[] = [];
    const deferred = new MessageRecorder({
      memory: later,
      personas,
      writes: new MemoryWriteGuard({ notify: async (roomId, text) => void notices.push(`${roomId}: ${text}`) }),
      commitLater: (w) => commits.later(w),
    });
    db.exec('DROP TABLE memory_messages');
    const e = event({});
    await deferred.handle(e, inbound.of(e));
    expect(deferred.queuedMessage(e.event_id)).toBeDefined();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(deferred.queuedMessage(e.event_id)).toBeUndefined();
    expect(notices).toEqual([`!with-ada:hs: ${MEMORY_WRITE_FAILED_NOTICE}`]);
  });

  test('skips commands, the bot, and our own notices; keeps persona messages marked', async () => {
    await handle(event({ content: { msgtype: 'm.text', body: '!ping' } }));
    await handle(event({ sender: BOT, content: { msgtype: 'm.notice', body: 'Pong!' } }));
    await handle(event({ sender: ADA, content: { msgtype: 'm.notice', body: "I can't think right now" } }));
    await handle(event({ sender: ADA, content: { msgtype: 'm.text', body: 'A real reply' } }));
    // A persona's message is conversation whatever it looks like: only people's commands are commands.
    await handle(event({ sender: ADA, content: { msgtype: 'm.text', body: '!forget everything' } }));
    expect(memory.recent(scope, 10)).toMatchObject([
      { body: 'A real reply', fromPersona: true },
      { body: '!forget everything', fromPersona: true },
    ]);
  });

  test('applies edits and redactions, and records thread messages in their thread', async () => {
    const original = event({ content: { msgtype: 'm.text', body: 'teh answer' } });
    await handle(original);
    await handle(
      event({
        content: {
          msgtype: 'm.text',
          body: '* the answer',
          'm.new_content': { msgtype: 'm.text', body: 'the answer' },
          'm.relates_to': { rel_type: 'm.replace', event_id: original.event_id },
        },
      }),
    );
    expect(remembered()).toEqual(['Alice: the answer']);
    await handle(event({ content: { msgtype: 'm.text', body: 'in thread', 'm.relates_to': { rel_type: 'm.thread', event_id: original.event_id } } }));
    expect(memory.recent({ ...scope, threadRoot: original.event_id }, 10).map((m) => m.body)).toEqual(['the answer', 'in thread']);
    await handle(event({ type: 'm.room.redaction', redacts: original.event_id, content: {} }));
    expect(remembered()).toEqual([]);
  });

  test('replies lose their quoted fallback; media is described', async () => {
    await handle(
      event({ content: { msgtype: 'm.text', body: '> <@ada:hs> old\n> more\n\nmy answer', 'm.relates_to': { 'm.in_reply_to': { event_id: '$x' } } } }),
    );
    await handle(event({ content: { msgtype: 'm.image', body: 'cat.png', url: 'mxc://hs/cat' } }));
    expect(remembered()).toEqual(['Alice: my answer', 'Alice: [image: cat.png]']);
  });

  test('malformed message content is skipped without an error', async () => {
    await expect(handle(event({ content: { msgtype: 'm.text', body: 42 } }))).resolves.toBeUndefined();
    await expect(handle(event({ content: { body: 'no msgtype' } }))).resolves.toBeUndefined();
    expect(remembered()).toEqual([]);
  });
});

test('stripReplyFallback removes the leading quote block and its blank line, nothing else', () => {
  expect(stripReplyFallback('> quoted\n\nanswer')).toBe('answer');
  expect(stripReplyFallback('no quote')).toBe('no quote');
  expect(stripReplyFallback('> a\n> b\nstill text\n> later quote')).toBe('still text\n> later quote');
});
