import type { RoomEvent } from '../matrix/events.js';
import type { Persona } from '../personas/Persona.js';
import { ROOM_SETTINGS_EVENT } from '../rooms/roomSettings.js';
import { RoomSettingsStore } from '../rooms/RoomSettingsStore.js';
import { runCommand } from './CommandRunner.js';
import { CommandTable } from './CommandTable.js';
import { roomCommands } from './roomCommands.js';

const ROOM = '!room:hs';
const MOD = '@mod:hs';
const ALICE = '@alice:hs';
const ADMIN = '@admin:hs';
const BOT = '@bot:hs';
const personas = [{ name: 'Ada', userId: '@p_ada:hs' }, { name: 'Bob', userId: '@p_bob:hs' }] as Persona[];

function setUp() {
  const state = new Map<string, Record<string, unknown>>([[`m.room.power_levels`, { users: { [MOD]: 50, [BOT]: 50 }, state_default: 50 }]]);
  const store = new RoomSettingsStore({
    state: {
      getState: async (_u, _r, type) => {
        const content = state.get(type);
        if (!content) throw Object.assign(new Error('none'), { body: { errcode: 'M_NOT_FOUND' } });
        return content;
      },
      putState: async (_u, _r, type, _k, content) => {
        state.set(type, content);
        return '$s';
      },
    },
    ourUsersIn: async () => [BOT],
    report: async () => undefined,
  });
  const table = new CommandTable('!');
  table.add(...roomCommands({ settings: store, personas: { list: () => personas, byUserId: () => undefined }, defaultTurnBudget: 6 }));
  const replies: string[] = [];
  let n = 0;
  const send = async (sender: string, body: string): Promise<string> => {
    const event: RoomEvent = { event_id: `$e${++n}`, room_id: ROOM, sender, type: 'm.room.message', origin_server_ts: n, content: { body } };
    await runCommand({ table, isAdmin: (u) => u === ADMIN, reply: async (_room, text) => void replies.push(text) }, event, body);
    return replies.at(-1) ?? '';
  };
  return { state, store, send };
}

describe('room commands', () => {
  test('a moderator mutes and unmutes a persona; the settings are written to room state', async () => {
    const { state, send } = setUp();
    expect(await send(MOD, '!persona mute bob')).toBe('Bob is muted in this room.');
    expect(state.get(ROOM_SETTINGS_EVENT)).toEqual({ muted: ['Bob'] });
    expect(await send(MOD, '!persona unmute Bob')).toBe('Bob is no longer muted in this room.');
    expect(state.get(ROOM_SETTINGS_EVENT)).toEqual({});
    expect(await send(MOD, '!persona unmute Bob')).toBe('Bob is not muted in this room.');
  });

  test('anyone sees the settings; a non-moderator cannot change them, a bridge admin can', async () => {
    const { state, send } = setUp();
    expect(await send(ALICE, '!room set turn_budget 3')).toBe(
      "Only this room's moderators (power level 50 or more; yours is 0) and bridge admins can change its persona settings.",
    );
    expect(await send(ALICE, '!persona mute Ada')).toContain("Only this room's moderators");
    expect(state.get(ROOM_SETTINGS_EVENT)).toBeUndefined();
    expect(await send(ADMIN, '!room set turn_budget 3')).toBe('Turn budget set to 3.');
    await send(MOD, '!room set order list');
    await send(MOD, '!room set talkativeness ada 0.25');
    expect(state.get(ROOM_SETTINGS_EVENT)).toEqual({ turn_budget: 3, order: 'list', talkativeness: { Ada: 0.25 } });
    expect(await send(ALICE, '!room settings')).toBe(
      'Order: list — every persona answers each person\'s message, in the order they joined the room\nTurn budget: 3 persona messages since a person last spoke\nMuted: nobody\nTalkativeness: Ada 0.25',
    );
    await send(MOD, '!room set turn_budget default');
    await send(MOD, '!room set talkativeness Ada default');
    expect(state.get(ROOM_SETTINGS_EVENT)).toEqual({ order: 'list' });
  });

  test('bad values get the syntax, nothing is written', async () => {
    const { state, send } = setUp();
    expect(await send(MOD, '!room set order random')).toContain('The order is one of mention, natural, list, pooled, manual.');
    expect(await send(MOD, '!room set turn_budget lots')).toContain('Usage: !room set');
    expect(await send(MOD, '!persona mute Nobody')).toContain("No persona is called 'Nobody'.");
    expect(state.get(ROOM_SETTINGS_EVENT)).toBeUndefined();
  });

  test('a refused write says why instead of staying silent', async () => {
    const { store, send } = setUp();
    store.save = () => Promise.reject(Object.assign(new Error('no'), { body: { errcode: 'M_FORBIDDEN', error: 'not allowed' } }));
    expect(await send(MOD, '!persona mute Ada')).toContain('Could not store the settings in the room\'s state (M_FORBIDDEN: not allowed)');
  });
});
