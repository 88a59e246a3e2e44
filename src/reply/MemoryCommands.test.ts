import type { ReplyRequest } from '../dispatch/Responder.js';
import type { RoomEvent } from '../matrix/events.js';
import { MemoryStore, type MemoryScope } from '../memory/MemoryStore.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import { openDatabase } from '../store/Database.js';
import { isMemoryCommand, MemoryCommands } from './MemoryCommands.js';

const ada = { name: 'Ada', userId: '@persona_ada:hs' } as Persona;
const bo = { name: 'Bo', userId: '@persona_bo:hs' } as Persona;
const personas: PersonaDirectory = { byUserId: (id) => [ada, bo].find((p) => p.userId === id), list: () => [ada, bo] };
const rooms: Record<string, string[]> = { '!dm:hs': [ada.userId, '@alice:hs'], '!group:hs': [ada.userId, bo.userId, '@alice:hs', '@admin:hs'] };

describe('MemoryCommands', () => {
  let memory: MemoryStore;
  let commands: MemoryCommands;
  let notices: Array<{ userId: string; roomId: string; content: Record<string, unknown> }>;
  let n = 0;

  beforeEach(() => {
    const db = openDatabase(':memory:');
    memory = new MemoryStore(db);
    notices = [];
    commands = new MemoryCommands({
      memory,
      personas,
      members: { joined: (roomId) => rooms[roomId] ?? [] },
      isAdmin: (userId) => userId === '@admin:hs',
      sendEvent: async (userId, roomId, _type, content) => {
        notices.push({ userId, roomId, content });
        return '$notice';
      },
      summarizeAfterMessages: 60,
    });
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
  const request = (persona: Persona, roomId: string, sender: string, body: string): ReplyRequest => ({
    persona,
    event: event(roomId, sender, body),
    isDirect: roomId === '!dm:hs',
    threadRootId: null,
    receivedAt: Date.now(),
  });
  const scope = (persona: Persona, roomId: string): MemoryScope => ({ personaId: persona.userId, roomId, threadRoot: null });
  const lastNotice = () => notices.at(-1)!.content.body as string;

  test('recognises only its own commands', async () => {
    expect(isMemoryCommand('!forget')).toBe(true);
    expect(isMemoryCommand('!Summary @Ada')).toBe(true);
    expect(isMemoryCommand('!forgetful')).toBe(false);
    await expect(commands.tryHandle(request(ada, '!dm:hs', '@alice:hs', '!ping'))).resolves.toBe(false);
    expect(notices).toEqual([]);
  });

  test('in a DM the other party may make the persona forget; the messages are deleted', async () => {
    await expect(commands.tryHandle(request(ada, '!dm:hs', '@alice:hs', '!forget'))).resolves.toBe(true);
    expect(notices[0]).toMatchObject({ userId: ada.userId, roomId: '!dm:hs', content: { msgtype: 'm.notice' } });
    expect(lastNotice()).toMatch(/forgotten our conversation/);
    expect(memory.recent(scope(ada, '!dm:hs'), 10)).toEqual([]);
    expect(memory.recent(scope(bo, '!dm:hs'), 10)).toEqual([]); // gone, not just hidden
  });

  test('in a group room only admins may; other personas keep their memory', async () => {
    await commands.tryHandle(request(ada, '!group:hs', '@alice:hs', '!forget @Ada'));
    expect(lastNotice()).toMatch(/^Only bridge admins can make me forget a group room/);
    expect(memory.recent(scope(ada, '!group:hs'), 10)).toHaveLength(3);

    await commands.tryHandle(request(ada, '!group:hs', '@admin:hs', '!forget @Ada'));
    expect(memory.recent(scope(ada, '!group:hs'), 10)).toEqual([]);
    expect(memory.recent(scope(bo, '!group:hs'), 10)).toHaveLength(3);
  });

  test('!summary explains when there is none, and shows the chapters when there are', async () => {
    await commands.tryHandle(request(ada, '!group:hs', '@alice:hs', '!summary'));
    expect(lastNotice()).toBe('I have no summary of this room yet: I write one once more than 60 messages have built up (3 so far).');
    const [first] = memory.oldestUnsummarised(scope(ada, '!group:hs'), 1);
    memory.addChapter(scope(ada, '!group:hs'), { firstMessageId: first!.id, lastMessageId: first!.id, messageCount: 1, summary: 'Alice said m4.' });
    await commands.tryHandle(request(ada, '!group:hs', '@alice:hs', '!summary'));
    expect(lastNotice()).toBe('My summary of this room (1 older message, oldest first):\n\nAlice said m4.');
  });
});
