import { MatrixGateway } from './MatrixGateway.js';

const BOT = '@bot:hs';
const ADA = '@persona_ada:hs';

/** A bridge whose one client records the requests, and which users a client was asked for. */
function fakeBridge() {
  const clientsFor: string[] = [];
  const requests: { method: string; path: string; qs: Record<string, unknown> | null }[] = [];
  const client = {
    doRequest: async (method: string, path: string, qs: Record<string, unknown> | null) => {
      requests.push({ method, path, qs });
      return path.endsWith('/joined_members') ? { joined: { [ADA]: { display_name: 'Ada' } } } : { event_id: '$e' };
    },
    joinRoom: async (roomId: string) => void requests.push({ method: 'JOIN', path: roomId, qs: null }),
  };
  return { bridge: { getIntent: (userId?: string) => (clientsFor.push(userId ?? BOT), { matrixClient: client }) }, clientsFor, requests };
}

describe('MatrixGateway requests as a user', () => {
  test("go through the appservice's own client with user_id, not a client per persona", async () => {
    const { bridge, clientsFor, requests } = fakeBridge();
    const gateway = new MatrixGateway(bridge as never, BOT);
    await gateway.sendEvent(ADA, '!r:hs', 'm.room.message', { msgtype: 'm.text', body: 'hi' });
    const members = await gateway.joinedMembers(ADA, '!r:hs');
    expect(members.has(ADA)).toBe(true);
    expect(new Set(clientsFor)).toEqual(new Set([BOT]));
    expect(requests.map((r) => r.qs?.user_id)).toEqual([ADA, ADA]);
  });

  test('device requests keep their device and name the user', async () => {
    const { bridge, requests } = fakeBridge();
    const gateway = new MatrixGateway(bridge as never, BOT);
    await gateway.deviceRequest(ADA, 'DEV', 'POST', '/_matrix/client/v3/keys/upload', {});
    expect(requests[0]!.qs).toEqual({ user_id: ADA, device_id: 'DEV', 'org.matrix.msc3202.device_id': 'DEV' });
  });
});

describe('MatrixGateway joins', () => {
  test('wait for the join gate (end-to-end encryption: the joining device) before joining', async () => {
    const { bridge, requests } = fakeBridge();
    const gateway = new MatrixGateway(bridge as never, BOT);
    let open = (): void => undefined;
    const asked: string[] = [];
    gateway.setJoinGate((userId, roomId) => {
      asked.push(`${userId} ${roomId}`);
      return new Promise<void>((resolve) => (open = resolve));
    });
    const joined = gateway.join(ADA, '!r:hs');
    await new Promise((r) => setImmediate(r));
    expect(asked).toEqual([`${ADA} !r:hs`]);
    expect(requests).toEqual([]);
    open();
    await joined;
    expect(requests).toEqual([{ method: 'JOIN', path: '!r:hs', qs: null }]);
  });
});
