import type { RoomEvent } from '../matrix/events.js';
import { MemoryStore, type MemoryScope } from '../memory/MemoryStore.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import { openDatabase } from '../store/Database.js';
import { runCommand } from './CommandRunner.js';
import { CommandTable } from './CommandTable.js';
import { coreCommands } from './coreCommands.js';
import { memoryCommands } from './memoryCommands.js';

const ada = { name: 'Ada', userId: '@persona_ada:hs' } as Persona;
const bo = { name: 'Bo', userId: '@persona_bo:hs' } as Persona;
const personas: PersonaDirectory = { byUserId: (id) => [ada, bo].find((p) => p.userId === id), list: () => [ada, bo] };
const rooms: Record<string, string[]> = { '!dm:hs': [ada.userId, '@alice:hs'], '!group:hs': [ada.userId, bo.userId, '@alice:hs', '@admin:hs'] };

describe('memory commands (persona scope)', () => {
  let memory: MemoryStore;
  let table: CommandTable;
  let notices: Array<{ userId: string; roomId: string; body: string }>;
  let n = 0;

  beforeEach(() => {
    const db = openDatabase(':memory:');
    memory = new MemoryStore(db);
    notices = [];
    table = new CommandTable('!');
    table.add(...coreCommands({ commands: table, startedAt: 0 }));
    table.add(...memoryCommands({ memory, personas, members: { joined: (roomId) => rooms[roomId] ?? [] }, summarizeAfterMessages: 60 }));
    for (const roomId of Object.keys(rooms)) {
      for (let i = 0; i < 3; i++) {
        memory.record({ roomId, eventId: `$${++n}`, sender: '@alice:hs', displayName: 'Alice', msgtype: 'm.text', body: `m${n}`, ts: n, threadRoot: null, fromPersona: false });
      }
    }
  });

  const event = (roomId: string, sender: string, body: string): RoomEvent => ({
    event_id: `$cmd${++n}`,
    room_id: roomId,
    sender,
    type: 'm.room.message',
    origin_server_ts: n,
    content: { msgtype: 'm.text', body },
  });
  /** Runs a message as persona-scope command, as the dispatcher does for each addressed persona. */
  const send = (persona: Persona, roomId: string, sender: string, body: string) =>
    runCommand(
      { table, isAdmin: (userId) => userId === '@admin:hs', reply: async (room, text) => void notices.push({ userId: persona.userId, roomId: room, body: text }) },
      event(roomId, sender, body),
      body,
      { persona, isDirect: roomId === '!dm:hs', threadRootId: null },
    );
  const scope = (persona: Persona, roomId: string): MemoryScope => ({ personaId: persona.userId, roomId, threadRoot: null });
  const lastNotice = () => notices.at(-1)!.body;

  test('the one classifier tells bot commands, persona commands and chat apart', () => {
    expect(table.classify('!forget')).toBe('persona');
    expect(table.classify('!Summary @Ada')).toBe('persona');
    expect(table.classify('  !summary')).toBe('persona');
    expect(table.classify('!forgetful')).toBeNull();
    expect(table.classify('!ping')).toBe('bot');
    expect(table.classify('!wow what a day')).toBeNull();
    expect(table.classify('forget')).toBeNull();
  });

  test('help has a section for each scope, generated from the table', () => {
    expect(table.fullHelp(false)).toBe(
      'Commands:\n!help — list the commands that apply here\n!ping — check the bridge is alive and see how long your message took to reach it\n\n' +
        'In a room with a persona:\n!forget [<number> | me | @user:server] — the persona forgets this room (admins; or you, in your direct chat with it); with a number from !memories, that item; me: everything about you, across every persona (admins: @user for anyone)\n' +
        '!summary — the persona shows what it remembers of this room (its stored summary)',
    );
  });

  test('a word cannot belong to two scopes', () => {
    expect(() => table.add({ name: 'forget all', usage: '', help: '', permission: 'admin', run: async () => undefined })).toThrow(/both persona and bot/);
  });

  test('in a DM the other party may make the persona forget; the messages are deleted', async () => {
    await send(ada, '!dm:hs', '@alice:hs', '!forget');
    expect(notices[0]).toMatchObject({ userId: ada.userId, roomId: '!dm:hs' });
    expect(lastNotice()).toMatch(/forgotten our conversation/);
    expect(memory.recent(scope(ada, '!dm:hs'), 10)).toEqual([]);
    expect(memory.recent(scope(bo, '!dm:hs'), 10)).toEqual([]); // gone, not just hidden
  });

  test('in a group room only admins may; other personas keep their memory', async () => {
    await send(ada, '!group:hs', '@alice:hs', '!forget @Ada');
    expect(lastNotice()).toMatch(/^Only bridge admins can make me forget a group room/);
    expect(memory.recent(scope(ada, '!group:hs'), 10)).toHaveLength(3);

    await send(ada, '!group:hs', '@admin:hs', '!forget @Ada');
    expect(memory.recent(scope(ada, '!group:hs'), 10)).toEqual([]);
    expect(memory.recent(scope(bo, '!group:hs'), 10)).toHaveLength(3);
  });

  test('!summary explains when there is none, and shows the chapters when there are', async () => {
    await send(ada, '!group:hs', '@alice:hs', '!summary');
    expect(lastNotice()).toBe('I have no summary of this room yet: I write one once more than 60 messages have built up (3 so far).');
    const [first] = memory.oldestUnsummarised(scope(ada, '!group:hs'), 1);
    memory.addChapter(scope(ada, '!group:hs'), { firstMessageId: first!.id, lastMessageId: first!.id, messageCount: 1, summary: 'Alice said m4.' });
    await send(ada, '!group:hs', '@alice:hs', '!summary');
    expect(lastNotice()).toBe('My summary of this room (1 older message, oldest first):\n\nAlice said m4.');
  });
});
