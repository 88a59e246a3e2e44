import { loadMigrations, migrate, openDatabase, type Db } from '../store/Database.js';
import { MemoryStore, type NewMessage } from './MemoryStore.js';
import { MessageIndex } from './MessageIndex.js';
import { MessageSearch } from './MessageSearch.js';

const ROOM = '!room:hs';
const OTHER_ROOM = '!other:hs';
const ADA = '@persona_ada:hs';

let db: Db;
let memory: MemoryStore;
let search: MessageSearch;
let n = 0;
const FILLER = ['the weather is nice today', 'shall we get coffee later', 'I read a book about gardens', 'music is playing loud'];
const message = (over: Partial<NewMessage> = {}): NewMessage => ({
  roomId: ROOM,
  eventId: `$e${++n}`,
  sender: '@alice:hs',
  displayName: 'Alice',
  msgtype: 'm.text',
  body: FILLER[n % FILLER.length]!,
  ts: 1000 + n,
  threadRoot: null,
  fromPersona: false,
  ...over,
});
const record = (over: Partial<NewMessage> = {}) => {
  const m = message(over);
  memory.record(m);
  return memory.byEventId(m.eventId)!;
};
const find = (text: string, beforeId?: number) => search.search(text, { roomId: ROOM, personaId: ADA, beforeId }, 5).map((h) => h.message.body);
/** What a prompt recalls (the index filled first, as the bridge does soon after each write). */
const relevant = (text: string) => {
  new MessageIndex(db).flush();
  return search.recall(text, { roomId: ROOM, personaId: ADA }, 5).map((h) => h.message.body);
};

beforeEach(() => {
  db = openDatabase(':memory:');
  memory = new MemoryStore(db);
  search = new MessageSearch(db);
  n = 0;
});

test('finds an old fact by other forms of its words among many messages, best first', () => {
  record({ body: 'My sister Xandria adopted two dogs called Pip and Rolo' });
  for (let i = 0; i < 500; i++) record();
  record({ body: 'my dog is barking again' });
  const hits = search.search("what are my sister's dogs named?", { roomId: ROOM, personaId: ADA }, 5);
  expect(hits[0]!.message.body).toBe('My sister Xandria adopted two dogs called Pip and Rolo');
  expect(hits[0]!.matched).toEqual(['sister', 'dogs']);
  expect(hits.map((h) => h.message.body)).toContain('my dog is barking again');
});

test('prefix and stemming: "photographer" finds "photographs", "birthday" finds "birthdays"', () => {
  record({ body: 'Bob collects old photographs' });
  record({ body: 'birthdays make me anxious' });
  expect(find('is there a photographer here?')).toEqual(['Bob collects old photographs']);
  expect(find('when is your birthday')).toEqual(['birthdays make me anxious']);
});

test('recall for a prompt: exact words (other forms through stemming), no prefixes; an explicit search has them', () => {
  for (let i = 0; i < 300; i++) record();
  record({ body: 'Bob collects old photographs' });
  expect(relevant('is there a photographer here?')).toEqual(['Bob collects old photographs']);
  expect(relevant('any photos?')).toEqual([]);
  expect(find('photo')).toEqual(['Bob collects old photographs']);
});

test('recall does not wait for the index: a message is recalled once indexed (the bridge indexes soon after each write)', () => {
  for (let i = 0; i < 300; i++) record();
  new MessageIndex(db).flush();
  record({ body: 'the spare key is under the flowerpot' });
  expect(search.recall('where is the flowerpot?', { roomId: ROOM, personaId: ADA }, 5)).toEqual([]);
  expect(relevant('where is the flowerpot?')).toEqual(['the spare key is under the flowerpot']);
});

test('only this room, only before the given id, and nothing for chatter without a topic', () => {
  record({ roomId: OTHER_ROOM, body: 'the treasure is under the oak' });
  const early = record({ body: 'the treasure map is in the attic' });
  const later = record({ body: 'treasure hunting is fun' });
  expect(find('where is the treasure?')).toEqual(['treasure hunting is fun', 'the treasure map is in the attic']);
  expect(find('where is the treasure?', later.id)).toEqual(['the treasure map is in the attic']);
  expect(find('where is the treasure?', early.id)).toEqual([]);
  expect(find('hi, how are you?')).toEqual([]);
});

test('for a prompt, a word common in the room is not relevant alone; a rare one is', () => {
  for (let i = 0; i < 300; i++) record();
  record({ body: 'Coffee with Zanzibar spice is my favourite' });
  expect(find('coffee?')).toHaveLength(5);
  expect(relevant('coffee?')).toEqual([]);
  expect(relevant('that spice, what was it?')).toEqual(['Coffee with Zanzibar spice is my favourite']);
  // Both words: the rare one lifts the message above the merely coffee ones.
  expect(relevant('coffee spice')).toEqual(['Coffee with Zanzibar spice is my favourite']);
});

test('edits: the latest text is what is found', () => {
  const m = record({ body: 'meet me at the lighthouse' });
  memory.applyEdit(m.eventId, m.sender, 'meet me at the harbour');
  expect(find('lighthouse')).toEqual([]);
  expect(find('harbour')).toEqual(['meet me at the harbour']);
});

test('a redacted message is never found', () => {
  const m = record({ body: 'my password hint is pelican' });
  expect(find('pelican')).toEqual(['my password hint is pelican']);
  memory.redact(m.eventId);
  expect(find('pelican')).toEqual([]);
  expect(find('password')).toEqual([]);
});

test('respects !forget: nothing up to the horizon', () => {
  record({ body: 'the vault code is zebra' });
  memory.forget(ADA, ROOM, { deleteMessages: false });
  expect(find('zebra')).toEqual([]);
  record({ body: 'zebra crossings are striped' });
  expect(find('zebra')).toEqual(['zebra crossings are striped']);
  // Another persona of the room has not forgotten.
  expect(search.search('zebra', { roomId: ROOM, personaId: '@persona_bo:hs' }, 5)).toHaveLength(2);
});

test('presence: nothing said before the persona joined the room', () => {
  db.prepare(`INSERT INTO personas (user_id, name, prompt, created_at, creator, status) VALUES (?, 'Ada', 'p', 0, 'x', 'active')`).run(ADA);
  record({ body: 'secret plan: paint the fence', ts: 5_000 });
  db.prepare('INSERT INTO persona_rooms (user_id, room_id, joined_at) VALUES (?, ?, ?)').run(ADA, ROOM, 6_000);
  record({ body: 'new plan: paint the fence blue', ts: 7_000 });
  expect(find('fence plan')).toEqual(['new plan: paint the fence blue']);
});

test('two words common in the room qualify together only in a room large enough for them to be common (its size counted far enough)', () => {
  // 20 messages with both words: each weighs ln(1 + 20/16) = 0.81, together below MIN_SCORE.
  for (let i = 0; i < 20; i++) record({ body: `kayak and lantern trip ${i}` });
  expect(relevant('kayak lantern')).toEqual([]);
  // 40 more messages without them: ln(1 + 60/16) > 1.25 each, capped at MIN_SCORE / 2 for a common word, so 2.5 together.
  for (let i = 0; i < 40; i++) record();
  expect(relevant('kayak lantern')).toHaveLength(5);
  // A rarer word besides them still weighs by the whole room (counted up to 1,000): alone it qualifies.
  record({ body: 'the harbour master waved' });
  expect(relevant('kayak lantern harbour')[0]).toBe('the harbour master waved');
});

test('messages stored before the index existed are indexed by the migration', () => {
  const all = loadMigrations();
  const upgraded = openDatabase(':memory:', all.slice(0, all.findIndex((m) => m.name === 'recall')));
  try {
    new MemoryStore(upgraded).record(message({ body: 'kiwis are flightless' }));
    migrate(upgraded, all);
    search = new MessageSearch(upgraded);
    upgraded.exec("INSERT INTO memory_fts (memory_fts) VALUES ('integrity-check')");
    expect(find('kiwi')).toEqual(['kiwis are flightless']);
  } finally {
    upgraded.close();
  }
});
