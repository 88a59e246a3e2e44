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

  test('a failed load is retried once the membership changes (see also: rooms we cannot read)', async () => {
    let fail = true;
    const members = new RoomMembers(async () => {
      if (fail) throw new Error('not in room');
      return new Map([['@alice:localhost', {}]]);
    });
    await expect(members.ensureLoaded(ROOM)).rejects.toThrow('not in room');
    fail = false;
    members.apply(member('@alice:localhost', 'join'));
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

describe('RoomMembers forgets quiet rooms', () => {
  const roomId = (i: number) => `!r${i}:localhost`;
  const counting = () => {
    const calls: string[] = [];
    const loader = async (id: string) => {
      calls.push(id);
      return new Map([[`@persona_${id}`, { displayName: 'P' }]]);
    };
    return { loader, calls };
  };

  test('beyond maxRooms the least recently used room goes, and is loaded again when used', async () => {
    const { loader, calls } = counting();
    const members = new RoomMembers(loader, { maxRooms: 3 });
    for (const i of [1, 2, 3]) await members.ensureLoaded(roomId(i));
    // Room 1 is used again, so room 2 is now the least recently used.
    expect(members.isJoined(roomId(1), `@persona_${roomId(1)}`)).toBe(true);
    await members.ensureLoaded(roomId(4));
    expect(members.roomCount()).toBe(3);
    expect(members.isKnown(roomId(2))).toBe(false);
    expect([1, 3, 4].map((i) => members.isKnown(roomId(i)))).toEqual([true, true, true]);

    await members.ensureLoaded(roomId(2));
    expect(calls.filter((id) => id === roomId(2))).toHaveLength(2);
    expect(members.joined(roomId(2))).toEqual([`@persona_${roomId(2)}`]);
    expect(members.displayName(roomId(2), `@persona_${roomId(2)}`)).toBe('P');
    expect(members.roomCount()).toBe(3);
  });

  test('a room used several times in a row, or again after being forgotten, keeps its place as the most recently used', async () => {
    const { loader } = counting();
    let now = 0;
    const members = new RoomMembers(loader, { maxRooms: 2, idleMs: 60_000, now: () => now });
    await members.ensureLoaded(roomId(1));
    await members.ensureLoaded(roomId(2));
    // Room 1 used three times in a row, then room 2 once: room 1 is the least recently used.
    for (let i = 0; i < 3; i++) members.isJoined(roomId(1), 'x');
    members.isJoined(roomId(2), 'x');
    await members.ensureLoaded(roomId(3));
    expect([1, 2, 3].map((i) => members.isKnown(roomId(i)))).toEqual([false, true, true]);
    // Every room forgotten as idle, the last used one included; a room stored again is the newest.
    now += 120_000;
    members.sweep();
    expect(members.roomCount()).toBe(0);
    await members.ensureLoaded(roomId(3));
    await members.ensureLoaded(roomId(1));
    members.isJoined(roomId(3), 'x');
    await members.ensureLoaded(roomId(2));
    expect([1, 2, 3].map((i) => members.isKnown(roomId(i)))).toEqual([false, true, true]);
  });

  test('rooms unused for idleMs are forgotten by sweep() and when other rooms are stored', async () => {
    let now = 1_000_000;
    const { loader } = counting();
    const members = new RoomMembers(loader, { idleMs: 60_000, now: () => now });
    await members.ensureLoaded(roomId(1));
    now += 30_000;
    await members.ensureLoaded(roomId(2));
    now += 40_000; // room 1 idle 70 s, room 2 idle 40 s
    members.sweep();
    expect(members.isKnown(roomId(1))).toBe(false);
    expect(members.isKnown(roomId(2))).toBe(true);

    now += 61_000;
    await members.ensureLoaded(roomId(3)); // storing a room sweeps what has gone idle
    expect(members.roomCount()).toBe(1);
    expect(members.isKnown(roomId(3))).toBe(true);
  });

  test('reading a room counts as using it', async () => {
    let now = 0;
    const { loader } = counting();
    const members = new RoomMembers(loader, { idleMs: 60_000, now: () => now });
    await members.ensureLoaded(roomId(1));
    for (let i = 0; i < 5; i++) {
      now += 50_000;
      expect(members.joinedCount(roomId(1))).toBe(1);
      members.sweep();
    }
    expect(members.isKnown(roomId(1))).toBe(true);
  });

  test('a room whose load is in flight is not evicted, and changes made meanwhile survive', async () => {
    const releases: ((joined: Map<string, { displayName?: string }>) => void)[] = [];
    const members = new RoomMembers(() => new Promise((resolve) => releases.push(resolve)), { maxRooms: 1 });
    const loading = members.ensureLoaded(ROOM);
    members.apply(member('@bob:localhost', 'join', '@bob:localhost', 'Bob')); // a partial entry for ROOM
    members.apply({ ...member('@eve:localhost', 'join'), room_id: '!other:localhost' }); // over the bound
    expect(members.roomCount()).toBe(2);
    releases[0]!(new Map([['@ada:localhost', {}]]));
    await loading;
    expect(members.joined(ROOM).sort()).toEqual(['@ada:localhost', '@bob:localhost']);
    expect(members.roomCount()).toBe(1);
  });

  test('memory stays bounded however many rooms pass through', async () => {
    const { loader } = counting();
    const members = new RoomMembers(loader, { maxRooms: 100 });
    for (let i = 0; i < 1000; i++) await members.ensureLoaded(roomId(i));
    expect(members.roomCount()).toBe(100);
    expect(members.isKnown(roomId(999))).toBe(true);
    expect(members.isKnown(roomId(899))).toBe(false);
  });

  test('invalid bounds are refused', () => {
    expect(() => new RoomMembers(counting().loader, { maxRooms: 0 })).toThrow('maxRooms');
    expect(() => new RoomMembers(counting().loader, { idleMs: 0 })).toThrow('idleMs');
  });

  test('member loads run a few at a time, in arrival order, and every caller gets its room', async () => {
    const started: string[] = [];
    const releases = new Map<string, () => void>();
    const members = new RoomMembers(
      (id) =>
        new Promise((resolve) => {
          started.push(id);
          releases.set(id, () => resolve(new Map([[`@p:${id}`, {}]])));
        }),
      { maxConcurrentLoads: 2 },
    );
    const loads = [1, 2, 3, 4].map((i) => members.ensureLoaded(roomId(i)));
    await Promise.resolve();
    expect(started).toEqual([roomId(1), roomId(2)]);
    releases.get(roomId(2))!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([roomId(1), roomId(2), roomId(3)]);
    releases.get(roomId(1))!();
    await new Promise((r) => setImmediate(r));
    expect(started).toHaveLength(4);
    releases.get(roomId(3))!();
    releases.get(roomId(4))!();
    await Promise.all(loads);
    expect([1, 2, 3, 4].map((i) => members.joined(roomId(i)))).toEqual([1, 2, 3, 4].map((i) => [`@p:${roomId(i)}`]));
  });

  test('a failed load frees its slot', async () => {
    let calls = 0;
    const members = new RoomMembers(
      async (id) => {
        calls++;
        if (id === roomId(1)) throw new Error('refused');
        return new Map();
      },
      { maxConcurrentLoads: 1 },
    );
    await expect(members.ensureLoaded(roomId(1))).rejects.toThrow('refused');
    await members.ensureLoaded(roomId(2));
    expect(calls).toBe(2);
    expect(() => new RoomMembers(async () => new Map(), { maxConcurrentLoads: 0 })).toThrow('maxConcurrentLoads');
  });
});

describe('RoomMembers: rooms we cannot read', () => {
  test('a failed load is not repeated for every event; retried after the window or a membership change', async () => {
    const clock = { t: 1_000 };
    let calls = 0;
    const members = new RoomMembers(
      async () => {
        calls++;
        throw new Error('M_FORBIDDEN: not in room');
      },
      { failedLoadRetryMs: 60_000, now: () => clock.t },
    );
    for (let i = 0; i < 100; i++) await expect(members.ensureLoaded(ROOM)).rejects.toThrow(/M_FORBIDDEN/);
    expect(calls).toBe(1);
    clock.t += 60_000;
    await expect(members.ensureLoaded(ROOM)).rejects.toThrow(/M_FORBIDDEN/);
    expect(calls).toBe(2);
    members.apply(member('@persona_ada:localhost', 'join'));
    await expect(members.ensureLoaded(ROOM)).rejects.toThrow(/M_FORBIDDEN/);
    expect(calls).toBe(3);
  });

  test('a load that failed because the homeserver was down is not held against the room: the next use asks again', async () => {
    const clock = { t: 1_000 };
    let down = true;
    let calls = 0;
    const members = new RoomMembers(
      async () => {
        calls++;
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8008'), { code: 'ECONNREFUSED' });
        return new Map([['@alice:localhost', {}]]);
      },
      { failedLoadRetryMs: 60_000, now: () => clock.t },
    );
    await expect(members.ensureLoaded(ROOM)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(members.ensureLoaded(ROOM)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(2);
    // Back a second later, well inside the window for rooms we cannot read.
    down = false;
    clock.t += 1_000;
    await members.ensureLoaded(ROOM);
    expect(calls).toBe(3);
    expect(members.isKnown(ROOM)).toBe(true);
  });
});
