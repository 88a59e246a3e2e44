import { RoomSettingsStore, type RoomStateAccess } from './RoomSettingsStore.js';
import { RoomSettingsStep } from './RoomSettingsStep.js';
import { ROOM_SETTINGS_EVENT } from './roomSettings.js';
import type { RoomEvent } from '../matrix/events.js';

const ROOM = '!r:x';
const BOT = '@bot:x';
const ADA = '@ada:x';

/** Room state as a homeserver keeps it; `writers` may set state, anyone else is refused. */
class FakeState implements RoomStateAccess {
  readonly state = new Map<string, Record<string, unknown>>();
  readonly writers = new Set<string>();
  reads = 0;
  async getState(_asUser: string, roomId: string, type: string): Promise<Record<string, unknown> | null> {
    this.reads++;
    const content = this.state.get(`${roomId}|${type}`);
    if (!content) throw Object.assign(new Error('not found'), { body: { errcode: 'M_NOT_FOUND' } });
    return content;
  }
  async putState(asUser: string, roomId: string, type: string, _key: string, content: Record<string, unknown>): Promise<string> {
    if (!this.writers.has(asUser)) throw Object.assign(new Error('forbidden'), { body: { errcode: 'M_FORBIDDEN' } });
    this.state.set(`${roomId}|${type}`, content);
    return '$state';
  }
}

function setUp() {
  const state = new FakeState();
  const reports: string[] = [];
  const store = new RoomSettingsStore({ state, ourUsersIn: async () => [BOT, ADA], report: async (_room, text) => void reports.push(text) });
  return { state, store, reports, step: new RoomSettingsStep(store) };
}

const stateEvent = (type: string, content: Record<string, unknown>, id = '$s1'): RoomEvent => ({
  event_id: id,
  room_id: ROOM,
  sender: '@mod:x',
  type,
  state_key: '',
  origin_server_ts: 1,
  content,
});
const messageEvent: RoomEvent = { event_id: '$m', room_id: ROOM, sender: '@alice:x', type: 'm.room.message', origin_server_ts: 1, content: { body: 'hi' } };

describe('RoomSettingsStore', () => {
  test('the first message loads settings and power levels from room state, once', async () => {
    const { state, store, step } = setUp();
    state.state.set(`${ROOM}|${ROOM_SETTINGS_EVENT}`, { turn_budget: 3, muted: ['Bob'] });
    state.state.set(`${ROOM}|m.room.power_levels`, { users: { '@mod:x': 50 } });
    await step.handle(messageEvent);
    await step.handle(messageEvent);
    expect(store.get(ROOM)).toEqual({ turn_budget: 3, muted: ['Bob'] });
    expect(store.powerLevels(ROOM)).toEqual({ users: { '@mod:x': 50 } });
    expect(state.reads).toBe(2);
  });

  test('a room without settings has none; pushed changes apply at once', async () => {
    const { store, step } = setUp();
    await step.handle(messageEvent);
    expect(store.get(ROOM)).toEqual({});
    await step.handle(stateEvent(ROOM_SETTINGS_EVENT, { order: 'list' }));
    expect(store.get(ROOM)).toEqual({ order: 'list' });
    await step.handle(stateEvent('m.room.power_levels', { state_default: 20 }));
    expect(store.powerLevels(ROOM)).toEqual({ state_default: 20 });
  });

  test('invalid settings are ignored and reported once per event', async () => {
    const { store, step, reports } = setUp();
    await step.handle(stateEvent(ROOM_SETTINGS_EVENT, { order: 'list' }));
    const bad = stateEvent(ROOM_SETTINGS_EVENT, { turn_budget: 'lots' }, '$bad');
    await step.handle(bad);
    await step.handle(bad);
    expect(store.get(ROOM)).toEqual({});
    expect(reports).toEqual([`The persona settings of this room (${ROOM_SETTINGS_EVENT}) are invalid and ignored: turn_budget: must be of type integer.`]);
  });

  test('saving writes room state as the first of our users allowed to', async () => {
    const { state, store } = setUp();
    state.writers.add(ADA);
    await store.save(ROOM, { muted: ['Bob'] });
    expect(state.state.get(`${ROOM}|${ROOM_SETTINGS_EVENT}`)).toEqual({ muted: ['Bob'] });
    expect(store.get(ROOM)).toEqual({ muted: ['Bob'] });
    state.writers.clear();
    await expect(store.save(ROOM, {})).rejects.toThrow('forbidden');
    expect(store.get(ROOM)).toEqual({ muted: ['Bob'] });
  });
});
