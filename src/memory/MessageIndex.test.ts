import { openDatabase, type Db } from '../store/Database.js';
import { MemoryStore, type NewMessage } from './MemoryStore.js';
import { INDEX_BATCH, MessageIndex } from './MessageIndex.js';
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

beforeEach(() => {
  db = openDatabase(':memory:');
  index = new MessageIndex(db);
  memory = new MemoryStore(db, index);
});

test('messages are queued in their own transaction and indexed a batch at a time', () => {
  for (let i = 0; i < INDEX_BATCH - 1; i++) memory.record(message('filler text'));
  expect(index.pending()).toBe(INDEX_BATCH - 1);
  expect(indexedCount()).toBe(0);
  memory.record(message('filler text'));
  expect(index.pending()).toBe(0);
  expect(indexedCount()).toBe(INDEX_BATCH);
  check();
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
  for (let i = 0; i < INDEX_BATCH * 20; i++) bare.record(message('filler text'));
  expect(index.pending()).toBe(INDEX_BATCH * 20);
  expect(index.flush()).toBe(INDEX_BATCH * 20);
  expect(index.pending()).toBe(0);
  expect(indexedCount()).toBe(INDEX_BATCH * 20);
  check();
});
