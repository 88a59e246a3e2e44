import { PersonaStore } from '../personas/PersonaStore.js';
import { openDatabase } from '../store/Database.js';
import { MemoryStore, type NewMessage } from './MemoryStore.js';
import { gatherPromptMemory } from './promptMemory.js';

const ROOM = '!g:hs';
let n = 0;
const msg = (sender: string, body: string, fromPersona = false): NewMessage => ({
  roomId: ROOM,
  eventId: `$e${++n}`,
  sender,
  displayName: sender,
  msgtype: 'm.text',
  body,
  ts: n,
  threadRoot: null,
  fromPersona,
});

describe('gatherPromptMemory', () => {
  test('the answers of personas before this one to the same message follow it; a later person message does not', () => {
    const memory = new MemoryStore(openDatabase(':memory:'));
    const asked = msg('@alice:hs', 'Ara and Bex, what do you think?');
    memory.record(msg('@alice:hs', 'earlier'));
    memory.record(asked);
    memory.record(msg('@ara:hs', 'Ara thinks yes', true));
    memory.record(msg('@bex:hs', 'an answer of Bex being regenerated', true));
    memory.record(msg('@bob:hs', 'and me?'));
    memory.record(msg('@cyd:hs', 'Cyd to Bob', true));
    const answered = memory.byEventId(asked.eventId)!;
    const scope = { roomId: ROOM, personaId: '@bex:hs', threadRoot: null };
    const { history } = gatherPromptMemory({ memory, contextTokens: 4000, recallMessages: 0 }, scope, answered, answered.body);
    expect(history.map((m) => m.body)).toEqual(['earlier', 'Ara and Bex, what do you think?', 'Ara thinks yes']);
  });

  test('a persona invited late sees nothing from before it joined', () => {
    const db = openDatabase(':memory:');
    const memory = new MemoryStore(db);
    const personas = new PersonaStore(db);
    const bex = { name: 'Bex', userId: '@bex:hs', prompt: '', traits: {}, model: null, temperature: null, avatarUrl: null, createdAt: 0, creator: '@alice:hs' };
    personas.reserve(bex);
    memory.record(msg('@alice:hs', 'a secret before Bex came'));
    personas.addRoom(bex.userId, ROOM, n + 0.5);
    const asked = msg('@alice:hs', 'Bex, welcome');
    memory.record(asked);
    const answered = memory.byEventId(asked.eventId)!;
    const scope = { roomId: ROOM, personaId: bex.userId, threadRoot: null };
    const { history } = gatherPromptMemory({ memory, contextTokens: 4000, recallMessages: 0 }, scope, answered, answered.body);
    expect(history.map((m) => m.body)).toEqual(['Bex, welcome']);
    expect(memory.recent({ ...scope, personaId: '@ara:hs' }, 10).map((m) => m.body)).toEqual(['a secret before Bex came', 'Bex, welcome']);
  });
});
