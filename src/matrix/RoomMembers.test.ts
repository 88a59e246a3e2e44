import { RoomMembers } from './RoomMembers.js';
import type { RoomEvent } from './events.js';

const ROOM = '!room:localhost';
let seq = 0;
const member = (userId: string, membership: string, sender = userId, displayname?: string): RoomEvent => ({
  event_id: `$m${++seq}`,
  room_id: ROOM,
  sender,
  type: 'm.room.member',
  state_key: userId,
  origin_server_ts: Date.now(),
  content: displayname ? { membership, displayname } : { membership },
});

const loaderOf = (joined: Record<string, string | undefined>) => {
  const calls: string[] = [];
  const loader = async (roomId: string) => {
    calls.push(roomId);
    return new Map(Object.entries(joined).map(([id, name]) => [id, name ? { displayName: name } : {}]));
  };
  return { loader, calls };
};

describe('RoomMembers', () => {
  test('counts follow joins, invites, leaves, kicks and bans', async () => {
    const { loader } = loaderOf({ '@alice:localhost': 'Alice', '@ada:localhost': 'Ada' });
    const members = new RoomMembers(loader);
    await members.ensureLoaded(ROOM);
    expect(members.joinedCount(ROOM)).toBe(2);

    members.apply(member('@bob:localhost', 'invite', '@alice:localhost'));
    expect(members.joinedCount(ROOM)).toBe(2); // an invite is not a member yet
    members.apply(member('@bob:localhost', 'join'));
    expect(members.joinedCount(ROOM)).toBe(3);
    members.apply(member('@bob:localhost', 'leave', '@alice:localhost')); // kicked
    expect(members.joinedCount(ROOM)).toBe(2);
    members.apply(member('@carol:localhost', 'join'));
    members.apply(member('@carol:localhost', 'ban', '@alice:localhost'));
    expect(members.joinedCount(ROOM)).toBe(2);
    members.apply(member('@alice:localhost', 'leave'));
    expect(members.joined(ROOM)).toEqual(['@ada:localhost']);
  });

  test('a room first seen through one member event is still loaded in full', async () => {
    // The bot is invited to a room whose creator's join we never saw.
    const { loader, calls } = loaderOf({ '@alice:localhost': 'Alice', '@bot:localhost': undefined });
    const members = new RoomMembers(loader);
    members.apply(member('@bot:localhost', 'invite', '@alice:localhost'));
    members.apply(member('@bot:localhost', 'join'));
    expect(members.isKnown(ROOM)).toBe(false);
    await members.ensureLoaded(ROOM);
    expect(calls).toEqual([ROOM]);
    expect(members.joinedCount(ROOM)).toBe(2);
    await members.ensureLoaded(ROOM);
    expect(calls).toHaveLength(1);
  });

  test('member events arriving while the load is in flight win over the older snapshot', async () => {
    let release: (joined: Map<string, { displayName?: string }>) => void = () => undefined;
    const members = new RoomMembers(() => new Promise((resolve) => (release = resolve)));
    const loading = members.ensureLoaded(ROOM);
    members.apply(member('@alice:localhost', 'leave'));
    members.apply(member('@bob:localhost', 'join', '@bob:localhost', 'Bob'));
    // The snapshot was taken before both events.
    release(new Map([['@alice:localhost', {}], ['@ada:localhost', {}]]));
    await loading;
    expect(members.joined(ROOM).sort()).toEqual(['@ada:localhost', '@bob:localhost']);
    expect(members.displayName(ROOM, '@bob:localhost')).toBe('Bob');
  });

  test('invites learnt from events survive the load; concurrent loads share one request', async () => {
    const { loader, calls } = loaderOf({ '@alice:localhost': undefined });
    const members = new RoomMembers(loader);
    members.apply(member('@ada:localhost', 'invite', '@alice:localhost'));
    await Promise.all([members.ensureLoaded(ROOM), members.ensureLoaded(ROOM)]);
    expect(calls).toHaveLength(1);
    members.apply(member('@ada:localhost', 'join'));
    expect(members.joinedCount(ROOM)).toBe(2);
  });

  test('a failed load is retried on the next call', async () => {
    let fail = true;
    const members = new RoomMembers(async () => {
      if (fail) throw new Error('not in room');
      return new Map([['@alice:localhost', {}]]);
    });
    await expect(members.ensureLoaded(ROOM)).rejects.toThrow('not in room');
    fail = false;
    await members.ensureLoaded(ROOM);
    expect(members.joinedCount(ROOM)).toBe(1);
  });

  test('displaynames follow profile changes', async () => {
    const members = new RoomMembers(loaderOf({}).loader);
    await members.ensureLoaded(ROOM);
    members.apply(member('@ada:localhost', 'join', '@ada:localhost', 'Ada'));
    members.apply(member('@ada:localhost', 'join', '@ada:localhost', 'Ada Lovelace'));
    expect(members.displayName(ROOM, '@ada:localhost')).toBe('Ada Lovelace');
    expect(members.joinedCount(ROOM)).toBe(1);
  });
});
