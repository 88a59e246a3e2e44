import { openDatabase, type Db } from '../store/Database.js';
import { MemoryStore, type MemoryScope, type NewMessage } from './MemoryStore.js';

const ROOM = '!room:hs';
const ADA = '@persona_ada:hs';
const BO = '@persona_bo:hs';

let db: Db;
let store: MemoryStore;
let n = 0;
const message = (over: Partial<NewMessage> = {}): NewMessage => ({
  roomId: ROOM,
  eventId: `$e${++n}`,
  sender: '@alice:hs',
  displayName: 'Alice',
  msgtype: 'm.text',
  body: `message ${n}`,
  ts: 1000 + n,
  threadRoot: null,
  fromPersona: false,
  ...over,
});
const scope = (over: Partial<MemoryScope> = {}): MemoryScope => ({ personaId: ADA, roomId: ROOM, threadRoot: null, ...over });
const bodies = (s: MemoryScope, limit = 100) => store.recent(s, limit).map((m) => m.body);

beforeEach(() => {
  db = openDatabase(':memory:');
  store = new MemoryStore(db);
  n = 0;
});

test('records once per event id: the echo of a reply we recorded on send is ignored', () => {
  const reply = message({ sender: ADA, fromPersona: true, body: 'Hello!' });
  expect(store.record(reply)).toBe(true);
  expect(store.record({ ...reply, body: 'echo' })).toBe(false);
  expect(store.recent(scope(), 10)).toMatchObject([{ eventId: reply.eventId, body: 'Hello!', fromPersona: true, threadRoot: null }]);
});

test('recent gives the newest messages of the room, oldest first, without other rooms or threads', () => {
  for (let i = 0; i < 5; i++) store.record(message());
  store.record(message({ roomId: '!other:hs', body: 'elsewhere' }));
  store.record(message({ threadRoot: '$e1', body: 'in a thread' }));
  expect(bodies(scope(), 3)).toEqual(['message 3', 'message 4', 'message 5']);
  expect(store.recent(scope(), 2, 4).map((m) => m.body)).toEqual(['message 3', 'message 4']);
});

test('a thread scope is its root followed by the thread', () => {
  store.record(message({ body: 'root' })); // $e1
  store.record(message({ body: 'main timeline' }));
  store.record(message({ threadRoot: '$e1', body: 'first in thread' }));
  store.record(message({ threadRoot: '$e1', body: 'second in thread' }));
  expect(bodies(scope({ threadRoot: '$e1' }))).toEqual(['root', 'first in thread', 'second in thread']);
});

test('edits by the sender replace the body; edits by others and redactions are applied as such', () => {
  const original = message({ body: 'helo' });
  store.record(original);
  expect(store.applyEdit(original.eventId, '@mallory:hs', 'hijacked')).toBe(false);
  expect(store.applyEdit(original.eventId, '@alice:hs', 'hello')).toBe(true);
  expect(bodies(scope())).toEqual(['hello']);
  expect(store.redact(original.eventId)).toBe(true);
  expect(bodies(scope())).toEqual([]);
});

test('chapters cover the oldest messages: later reads start after them', () => {
  for (let i = 0; i < 6; i++) store.record(message());
  const oldest = store.oldestUnsummarised(scope(), 4);
  expect(oldest.map((m) => m.body)).toEqual(['message 1', 'message 2', 'message 3', 'message 4']);
  expect(store.addChapter(scope(), { firstMessageId: oldest[0]!.id, lastMessageId: oldest[3]!.id, messageCount: 4, summary: 'S1' })).toBe(true);
  expect(store.countUnsummarised(scope())).toBe(2);
  expect(bodies(scope())).toEqual(['message 5', 'message 6']);
  expect(store.chapters(scope(), 5).map((c) => c.summary)).toEqual(['S1']);
  // Another persona in the same room has its own view.
  expect(store.countUnsummarised(scope({ personaId: BO }))).toBe(6);
  // A chapter overlapping what is already summarised is refused.
  expect(store.addChapter(scope(), { firstMessageId: oldest[2]!.id, lastMessageId: oldest[3]!.id + 1, messageCount: 2, summary: 'dup' })).toBe(false);
});

test('a redaction makes every chapter that covered the message stale: out of chapters() until rewritten', () => {
  for (let i = 0; i < 6; i++) store.record(message());
  store.record(message({ threadRoot: '$e1', body: 'in a thread' })); // id 7
  store.addChapter(scope(), { firstMessageId: 1, lastMessageId: 3, messageCount: 3, summary: 'S1 mentions message 2' });
  store.addChapter(scope(), { firstMessageId: 4, lastMessageId: 5, messageCount: 2, summary: 'S2' });
  store.addChapter(scope({ personaId: BO }), { firstMessageId: 1, lastMessageId: 4, messageCount: 4, summary: 'Bo S1' });
  store.addChapter(scope({ threadRoot: '$e1' }), { firstMessageId: 7, lastMessageId: 7, messageCount: 1, summary: 'thread' });
  expect(store.redact('$e2')).toBe(true);
  expect(store.chapters(scope(), 5).map((c) => c.summary)).toEqual(['S2']);
  expect(store.chapters(scope({ personaId: BO }), 5)).toEqual([]);
  expect(store.chapters(scope({ threadRoot: '$e1' }), 5).map((c) => c.summary)).toEqual(['thread']);
  expect(store.staleChapters(scope())).toMatchObject([{ firstMessageId: 1, lastMessageId: 3, stale: 1 }]);
  // Still counted as summarised: the stale range does not come back as recent messages.
  expect(bodies(scope())).toEqual(['message 6']);
  expect(store.messagesInRange(scope(), 1, 3).map((m) => m.body)).toEqual(['message 1', 'message 3']);
  expect(store.chapterBefore(scope(), 4)).toBeUndefined();
  expect(store.chapterBefore(scope(), 6)?.summary).toBe('S2');
});

test('a rewrite clears the stale flag only if no redaction came in between; an emptied chapter can be deleted', () => {
  for (let i = 0; i < 4; i++) store.record(message());
  store.addChapter(scope(), { firstMessageId: 1, lastMessageId: 3, messageCount: 3, summary: 'S1' });
  store.addChapter(scope(), { firstMessageId: 4, lastMessageId: 4, messageCount: 1, summary: 'S2' });
  store.redact('$e1');
  const [first] = store.staleChapters(scope());
  store.redact('$e2'); // while the rewrite of the first redaction is being written
  expect(store.rewriteChapter(first!.id, first!.stale, 'still mentions message 2', 2)).toBe(false);
  const [again] = store.staleChapters(scope());
  expect(store.rewriteChapter(again!.id, again!.stale, 'S1 without them', 1)).toBe(true);
  expect(store.chapters(scope(), 5)).toMatchObject([{ summary: 'S1 without them', messageCount: 1 }, { summary: 'S2' }]);
  store.redact('$e4');
  const [emptied] = store.staleChapters(scope());
  expect(store.deleteStaleChapter(emptied!.id, emptied!.stale)).toBe(true);
  expect(store.chapters(scope(), 5).map((c) => c.summary)).toEqual(['S1 without them']);
});

test('forget hides the room from one persona only, drops its chapters and refuses stale ones', () => {
  for (let i = 0; i < 3; i++) store.record(message());
  store.addChapter(scope(), { firstMessageId: 1, lastMessageId: 1, messageCount: 1, summary: 'S' });
  store.forget(ADA, ROOM, { deleteMessages: false });
  expect(bodies(scope())).toEqual([]);
  expect(store.chapters(scope(), 5)).toEqual([]);
  expect(bodies(scope({ personaId: BO }))).toEqual(['message 1', 'message 2', 'message 3']);
  // A summary computed before the forget must not bring the history back.
  expect(store.addChapter(scope(), { firstMessageId: 2, lastMessageId: 3, messageCount: 2, summary: 'stale' })).toBe(false);
  store.record(message({ body: 'after forgetting' }));
  expect(bodies(scope())).toEqual(['after forgetting']);
});

test('forget with deleteMessages removes the room’s messages', () => {
  store.record(message());
  store.record(message({ roomId: '!other:hs' }));
  store.forget(ADA, ROOM, { deleteMessages: true });
  expect(db.prepare('SELECT room_id FROM memory_messages').all()).toEqual([{ room_id: '!other:hs' }]);
});

test('the context queries are index range scans, not table scans or sorts', () => {
  const plan = (sql: string, ...params: unknown[]) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
  const recent = plan(
    'SELECT * FROM memory_messages WHERE room_id = ? AND thread_root = ? AND id > ? AND id <= ? ORDER BY id DESC LIMIT ?',
    ROOM,
    '',
    0,
    99,
    10,
  );
  expect(recent).toMatch(/^SEARCH memory_messages USING INDEX memory_messages_timeline \(room_id=\? AND thread_root=\? AND (row)?id>\? AND (row)?id<\?\)$/);
  const count = plan('SELECT COUNT(*) AS n FROM memory_messages WHERE room_id = ? AND thread_root = ? AND id > ?', ROOM, '', 0);
  expect(count).toMatch(/^SEARCH memory_messages USING COVERING INDEX memory_messages_timeline/);
  const chapters = plan(
    'SELECT MAX(last_message_id) AS last FROM memory_summaries WHERE persona_id = ? AND room_id = ? AND thread_root = ?',
    ADA,
    ROOM,
    '',
  );
  expect(chapters).toMatch(/^SEARCH memory_summaries USING COVERING INDEX memory_summaries_scope/);
});
