import { FakePersonaMatrix } from '../../tests/fakes/FakePersonaMatrix.js';
import type { RoomEvent } from '../matrix/events.js';
import { openDatabase } from '../store/Database.js';
import { PersonaMembershipHandler } from './PersonaMembershipHandler.js';
import { PersonaStore } from './PersonaStore.js';

const ADA = '@persona_ada:localhost';
const member = (roomId: string, userId: string, membership: string, sender = '@bob:localhost', ts = 1): RoomEvent => ({
  event_id: `$${Math.random()}`,
  room_id: roomId,
  sender,
  type: 'm.room.member',
  state_key: userId,
  origin_server_ts: ts,
  content: { membership },
});

function setup() {
  const store = new PersonaStore(openDatabase(':memory:'));
  store.reserve({ name: 'Ada', userId: ADA, prompt: 'p', traits: {}, model: null, temperature: null, avatarUrl: null, createdAt: 1, creator: 'x' });
  store.setStatus(ADA, 'active');
  const matrix = new FakePersonaMatrix();
  matrix.registered.add(ADA);
  const handler = new PersonaMembershipHandler(store, matrix, (u) => u.startsWith('@persona_'));
  return { store, matrix, handler };
}

describe('PersonaMembershipHandler', () => {
  test('a live persona accepts an invite (a DM as much as a group) and the room is recorded', async () => {
    const { store, matrix, handler } = setup();
    const dm = matrix.addRoom({ botJoined: false, members: ['@bob:localhost'] });
    matrix.rooms.get(dm)!.invited.add(ADA);
    await handler.handle(member(dm, ADA, 'invite'));
    expect(matrix.rooms.get(dm)!.joined.has(ADA)).toBe(true);
    expect(store.rooms(ADA)).toEqual([dm]);
  });

  test("the join is dated as the homeserver dated it, never later: a message sent the moment it was seen is the persona's to read", async () => {
    const { store, matrix, handler } = setup();
    const room = matrix.addRoom({ botJoined: false, members: ['@bob:localhost'] });
    matrix.rooms.get(room)!.invited.add(ADA);
    const before = Date.now();
    await handler.handle(member(room, ADA, 'invite'));
    // Dated as the join was asked for (the accept's answer may come much later on a busy machine).
    const asked = store.joinedAtIn(room).get(ADA)!;
    expect(asked).toBeGreaterThanOrEqual(before);
    expect(asked).toBeLessThanOrEqual(Date.now());
    // The join event then dates it exactly, also when that is earlier than the bridge's clock said...
    await handler.handle(member(room, ADA, 'join', ADA, asked - 40));
    expect(store.joinedAtIn(room).get(ADA)).toBe(asked - 40);
    // ...and a later "join" (a profile change) does not move it.
    await handler.handle(member(room, ADA, 'join', ADA, asked + 60_000));
    expect(store.joinedAtIn(room).get(ADA)).toBe(asked - 40);
  });

  test('a persona that is not live does not join', async () => {
    const { store, matrix, handler } = setup();
    store.setStatus(ADA, 'despawning');
    await handler.handle(member('!r:localhost', ADA, 'invite'));
    expect(matrix.calls).toEqual([]);
  });

  test('a withdrawn invite is logged, not thrown', async () => {
    const { store, matrix, handler } = setup();
    const room = matrix.addRoom();
    await expect(handler.handle(member(room, ADA, 'invite'))).resolves.toBeUndefined();
    expect(store.rooms(ADA)).toEqual([]);
  });

  test('joins and leaves (kicks, bans) keep the room list current; other users are ignored', async () => {
    const { store, matrix, handler } = setup();
    await handler.handle(member('!a:localhost', ADA, 'join', ADA));
    await handler.handle(member('!b:localhost', ADA, 'join', ADA));
    await handler.handle(member('!a:localhost', ADA, 'leave', '@mod:localhost'));
    await handler.handle(member('!c:localhost', '@bob:localhost', 'invite'));
    expect(store.rooms(ADA)).toEqual(['!b:localhost']);
    await handler.handle(member('!b:localhost', ADA, 'ban', '@mod:localhost'));
    expect(store.rooms(ADA)).toEqual([]);
    expect(matrix.calls).toEqual([]);
  });
});
