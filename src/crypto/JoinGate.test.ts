import type { RoomEvent } from '../matrix/events.js';
import { inviteEncryption, JoinGate, type JoinEncryption, type JoinGateDeps } from './JoinGate.js';

const ADA = '@persona_ada:hs';
const ROOM = '!r:hs';

function invite(state?: unknown[]): RoomEvent {
  return {
    event_id: '$i',
    room_id: ROOM,
    sender: '@bob:hs',
    type: 'm.room.member',
    state_key: ADA,
    origin_server_ts: 1,
    content: { membership: 'invite', is_direct: true },
    ...(state ? { unsigned: { invite_room_state: state } } : {}),
  };
}

const encryptionState = { type: 'm.room.encryption', state_key: '', sender: '@bob:hs', content: { algorithm: 'm.megolm.v1.aes-sha2' } };
const nameState = { type: 'm.room.name', state_key: '', sender: '@bob:hs', content: { name: 'hi' } };

/** A gate whose device becomes reachable when the test says so. */
type GateOptions = Omit<Partial<JoinGateDeps>, 'invited'> & { invited?: JoinEncryption };

function gate(over: GateOptions = {}) {
  let ready = (): void => undefined;
  const asked: string[] = [];
  const reachable = (userId: string): Promise<void> => {
    asked.push(userId);
    return new Promise<void>((resolve) => (ready = resolve));
  };
  const { invited, ...deps } = over;
  const g = new JoinGate({ knownEncrypted: () => false, invited: () => invited, reachable, waitMs: 60_000, ...deps });
  let joined = false;
  const join = (): Promise<void> => g.beforeJoin(ADA, ROOM).then(() => void (joined = true));
  return { join, asked, ready: () => ready(), joined: () => joined };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise((r) => setImmediate(r));

describe('inviteEncryption', () => {
  test("reads the invite's stripped state", () => {
    expect(inviteEncryption(invite([nameState, encryptionState]))).toBe('encrypted');
    expect(inviteEncryption(invite([nameState]))).toBe('plain');
    expect(inviteEncryption(invite())).toBe('unknown');
    // An m.room.encryption without an algorithm is not encryption.
    expect(inviteEncryption(invite([{ ...encryptionState, content: {} }]))).toBe('plain');
  });
});

describe('JoinGate', () => {
  test("an invite to an encrypted room waits for the device, and joins as soon as it is reachable", async () => {
    const g = gate({ invited: 'encrypted' });
    const done = g.join();
    await settle();
    expect(g.asked).toEqual([ADA]);
    expect(g.joined()).toBe(false);
    g.ready();
    await done;
    expect(g.joined()).toBe(true);
  });

  test('an invite whose stripped state shows no encryption joins at once, without asking for the device', async () => {
    const g = gate({ invited: 'plain' });
    await g.join();
    expect(g.asked).toEqual([]);
  });

  test('a room known to be encrypted waits, whatever the invite said', async () => {
    const g = gate({ invited: 'plain', knownEncrypted: () => true });
    const done = g.join();
    await settle();
    expect(g.joined()).toBe(false);
    g.ready();
    await done;
  });

  test('what cannot be told waits: no stripped state, or a join without an invite whose state nobody can read', async () => {
    const cases: GateOptions[] = [{ invited: 'unknown' }, {}, { readState: async () => 'unknown' }, { readState: () => Promise.reject(new Error('403')) }];
    for (const deps of cases) {
      const g = gate(deps);
      const done = g.join();
      await settle();
      expect(g.joined()).toBe(false);
      g.ready();
      await done;
    }
  });

  test("a join without an invite reads the room's state: unencrypted joins at once", async () => {
    const g = gate({ readState: async () => 'plain' });
    await g.join();
    expect(g.asked).toEqual([]);
  });

  test('the wait is bounded, and a device that cannot be had does not stop the join', async () => {
    const bounded = new JoinGate({ knownEncrypted: () => true, invited: () => undefined, reachable: () => new Promise(() => undefined), waitMs: 20 });
    await expect(bounded.beforeJoin(ADA, ROOM)).resolves.toBeUndefined();
    const failing = new JoinGate({ knownEncrypted: () => true, invited: () => undefined, reachable: () => Promise.reject(new Error('no device')) });
    await expect(failing.beforeJoin(ADA, ROOM)).resolves.toBeUndefined();
  });
});
