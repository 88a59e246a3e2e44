import { openDatabase, type Db } from '../store/Database.js';
import { MemoryStore } from './MemoryStore.js';
import { NoteStore } from './NoteStore.js';

const ROOM = '!room:hs';
const ADA = '@persona_ada:hs';
const BO = '@persona_bo:hs';

let db: Db;
let notes: NoteStore;
const add = (body: string, personaId: string | null = null, roomId = ROOM) =>
  notes.add({ roomId, personaId, body, author: '@alice:hs', eventId: '$ev' }, 1000);

beforeEach(() => {
  db = openDatabase(':memory:');
  notes = new NoteStore(db);
});

test("a persona sees the room's notes and its own, oldest first, not another persona's or room's", () => {
  add('room note');
  add('ada note', ADA);
  add('bo note', BO);
  add('elsewhere', null, '!other:hs');
  expect(notes.forPersona(ROOM, ADA).map((n) => n.body)).toEqual(['room note', 'ada note']);
  expect(notes.forPersona(ROOM, BO).map((n) => n.body)).toEqual(['room note', 'bo note']);
  expect(notes.forPersona(ROOM, ADA)[0]).toMatchObject({ roomId: ROOM, personaId: null, author: '@alice:hs', eventId: '$ev', createdAt: 1000 });
});

test('remove takes only a note the persona has in that room', () => {
  const bo = add('bo note', BO);
  const room = add('room note');
  expect(notes.remove(ROOM, ADA, bo.id)).toBe(false);
  expect(notes.remove('!other:hs', ADA, room.id)).toBe(false);
  expect(notes.remove(ROOM, ADA, room.id)).toBe(true);
  expect(notes.remove(ROOM, ADA, room.id)).toBe(false);
});

test("!forget drops the persona's own notes, and the room's with the messages; despawn drops all of its notes", () => {
  const memory = new MemoryStore(db);
  add('room note');
  add('ada note', ADA);
  add('ada elsewhere', ADA, '!other:hs');
  memory.forget(ADA, ROOM, { deleteMessages: false });
  expect(notes.forPersona(ROOM, ADA).map((n) => n.body)).toEqual(['room note']);
  memory.forget(ADA, ROOM, { deleteMessages: true });
  expect(notes.forPersona(ROOM, ADA)).toEqual([]);
  expect(notes.forPersona('!other:hs', ADA)).toHaveLength(1);
  memory.forgetPersona(ADA);
  expect(notes.forPersona('!other:hs', ADA)).toEqual([]);
});
