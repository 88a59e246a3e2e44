import { jest } from '@jest/globals';
import { openDatabase, type Db } from '../store/Database.js';
import { MemoryStore, type NewMessage } from './MemoryStore.js';
import { INDEX_BATCH, INDEX_DELAY_MS, MessageIndex } from './MessageIndex.js';
import { MessageSearch } from './MessageSearch.js';

let db: Db;
let index: MessageIndex;
let memory: MemoryStore;
let n = 0;
const message = (body: string): NewMessage => ({
  roomId: '!room:hs',
  eventId: `$e${++n}`,
  sender: '@alice:hs',
  displayName: 'Alice',
  msgtype: 'm.text',
  body,
  ts: n,
  threadRoot: null,
  fromPersona: false,
});
const indexedCount = () => (db.prepare("SELECT COUNT(*) AS n FROM memory_fts WHERE memory_fts MATCH 'body : filler'").get() as { n: number }).n;
const check = () => db.exec("INSERT INTO memory_fts (memory_fts) VALUES ('integrity-check')");

/** The indexing runs noteWrite scheduled, run by hand. */
let scheduled: Array<() => void> = [];
const runScheduled = () => {
  const runs = scheduled;
  scheduled = [];
  runs.forEach((run) => run());
};

beforeEach(() => {
  db = openDatabase(':memory:');
  scheduled = [];
  index = new MessageIndex(db, (run) => scheduled.push(run));
  memory = new MemoryStore(db, index);
});

test('messages are queued in their own transaction and indexed together soon after, not on the way', () => {
  for (let i = 0; i < 300; i++) memory.record(message('filler text'));
  // One indexing asked for all of them, none done yet: the writer's path only queued.
  expect(scheduled).toHaveLength(1);
  expect(index.pending()).toBe(300);
  expect(indexedCount()).toBe(0);
  runScheduled();
  expect(index.pending()).toBe(0);
  expect(indexedCount()).toBe(300);
  memory.record(message('filler text'));
  expect(scheduled).toHaveLength(1);
  check();
});

test('scheduled indexing after the database closed, or failing, does not throw (the next start or write indexes)', () => {
  memory.record(message('filler text'));
  db.close();
  expect(() => runScheduled()).not.toThrow();
  db = openDatabase(':memory:');
  index = new MessageIndex(db, (run) => scheduled.push(run));
  memory = new MemoryStore(db, index);
  memory.record(message('filler text'));
  db.exec('DROP TABLE memory_fts_pending');
  expect(() => runScheduled()).not.toThrow();
});

test('by default the indexing waits INDEX_DELAY_MS, then indexes every message stored meanwhile in one go', () => {
  jest.useFakeTimers();
  try {
    const own = new MessageIndex(db);
    const store = new MemoryStore(db, own);
    store.record(message('filler text'));
    jest.advanceTimersByTime(INDEX_DELAY_MS - 1);
    store.record(message('filler text'));
    expect(own.pending()).toBe(2);
    jest.advanceTimersByTime(1);
    expect(own.pending()).toBe(0);
    expect(indexedCount()).toBe(2);
  } finally {
    jest.useRealTimers();
  }
});

test('a search sees every message, queued or not', () => {
  memory.record(message('the lighthouse keeper'));
  expect(index.pending()).toBe(1);
  expect(new MessageSearch(db, index).search('lighthouse', { roomId: '!room:hs', personaId: '@p:hs' }, 5)).toHaveLength(1);
  expect(index.pending()).toBe(0);
});

test('edits and redactions are right whether the message was indexed yet or not', () => {
  const search = (text: string) => new MessageSearch(db, index).search(text, { roomId: '!room:hs', personaId: '@p:hs' }, 5).map((h) => h.message.body);
  const indexed = message('old pelican text');
  memory.record(indexed);
  index.flush();
  const queued = message('old walrus text');
  memory.record(queued);
  const redactedIndexed = message('secret albatross');
  memory.record(redactedIndexed);
  index.flush();
  const redactedQueued = message('secret cormorant');
  memory.record(redactedQueued);

  memory.applyEdit(indexed.eventId, indexed.sender, 'new heron text');
  memory.applyEdit(queued.eventId, queued.sender, 'new seal text');
  memory.redact(redactedIndexed.eventId);
  memory.redact(redactedQueued.eventId);
  check();
  expect(search('pelican walrus albatross cormorant')).toEqual([]);
  expect(search('heron')).toEqual(['new heron text']);
  expect(search('seal')).toEqual(['new seal text']);
  check();
});

test('a large backlog (an upgrade, a crash) is indexed in several transactions', () => {
  const bare = new MemoryStore(db);
  for (let i = 0; i < INDEX_BATCH * 3; i++) bare.record(message('filler text'));
  expect(index.pending()).toBe(INDEX_BATCH * 3);
  expect(index.flush()).toBe(INDEX_BATCH * 3);
  expect(index.pending()).toBe(0);
  expect(indexedCount()).toBe(INDEX_BATCH * 3);
  check();
});
