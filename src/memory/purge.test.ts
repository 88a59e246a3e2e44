import { openDatabase } from '../store/Database.js';
import { MemoryStore } from './MemoryStore.js';
import { MemoryPurge, roomOverview } from './purge.js';

function setup() {
  const db = openDatabase(':memory:');
  const memory = new MemoryStore(db);
  const persona = (id: string, name: string) =>
    db.prepare(`INSERT INTO personas (user_id, name, prompt, created_at, creator, status) VALUES (?, ?, 'p', 0, 'c', 'active')`).run(id, name);
  persona('@a:hs', 'Ada');
  persona('@b:hs', 'Bea');
  const join = (u: string, r: string) => db.prepare('INSERT INTO persona_rooms (user_id, room_id, joined_at) VALUES (?, ?, 0)').run(u, r);
  join('@a:hs', '!shared:hs');
  join('@b:hs', '!shared:hs');
  join('@a:hs', '!dm:hs');
  let n = 0;
  const say = (roomId: string, ts: number) =>
    memory.record({ roomId, eventId: `$${n++}`, sender: '@u:hs', displayName: null, msgtype: 'm.text', body: 'x', ts, threadRoot: null, fromPersona: false });
  say('!shared:hs', 10);
  say('!shared:hs', 20);
  say('!dm:hs', 30);
  const scope = { personaId: '@a:hs', roomId: '!shared:hs', threadRoot: null };
  const first = memory.recent(scope, 10)[0]!;
  memory.addChapter(scope, { firstMessageId: first.id, lastMessageId: first.id, messageCount: 1, summary: 's' });
  return { db, purge: new MemoryPurge(db) };
}

describe('purge memory', () => {
  test('a persona: its summaries, and the messages of rooms only it is in', () => {
    const { purge } = setup();
    expect(purge.countPersona('@a:hs')).toEqual({ messages: 1, summaries: 1 });
    expect(purge.purgePersona('@a:hs')).toEqual({ messages: 1, summaries: 1 });
    expect(purge.countAll()).toEqual({ messages: 2, summaries: 0 });
  });

  test('a room, and everything', () => {
    const { purge } = setup();
    expect(purge.purgeRoom('!shared:hs')).toEqual({ messages: 2, summaries: 1 });
    expect(purge.countAll()).toEqual({ messages: 1, summaries: 0 });
    expect(purge.purgeAll()).toEqual({ messages: 1, summaries: 0 });
    expect(purge.countAll()).toEqual({ messages: 0, summaries: 0 });
  });

  test('rooms overview: personas, messages, last activity, newest first', () => {
    const { db } = setup();
    expect(roomOverview(db)).toEqual([
      { roomId: '!dm:hs', personas: ['Ada'], lastActivity: 30, messages: 1 },
      { roomId: '!shared:hs', personas: ['Ada', 'Bea'], lastActivity: 20, messages: 2 },
    ]);
  });
});
