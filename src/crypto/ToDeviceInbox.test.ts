import type { CryptoHttp } from './CryptoHttp.js';
import { DELIVERY_PROBE_TYPE } from './DeliveryProbe.js';
import { ToDeviceInbox } from './ToDeviceInbox.js';

/** A homeserver whose /sync answers from `pages`, one per request, recording what was asked. */
function fakeSync(pages: { next_batch: string; to_device: { events: unknown[] } }[]) {
  const requests: { userId: string; deviceId: string | null; method: string; query: URLSearchParams }[] = [];
  const http: CryptoHttp = {
    async request(userId, deviceId, method, path) {
      const [route, query] = path.split('?');
      expect(route).toBe('/_matrix/client/v3/sync');
      requests.push({ userId, deviceId, method, query: new URLSearchParams(query) });
      return pages.shift() ?? { next_batch: 'end', to_device: { events: [] } };
    },
  };
  return { http, requests };
}

const roomKey = (n: number) => ({ type: 'm.room.encrypted', sender: '@alice:hs', content: { n } });

describe('ToDeviceInbox', () => {
  test("reads the device's inbox as that device, to-device messages only, and syncs on from where it stopped", async () => {
    const hs = fakeSync([
      { next_batch: 's1', to_device: { events: [roomKey(1), { type: DELIVERY_PROBE_TYPE, content: { nonce: 'n' } }] } },
      { next_batch: 's2', to_device: { events: [roomKey(2)] } },
    ]);
    const inbox = new ToDeviceInbox(hs.http);
    // Our own probes are left out: only one that came in a transaction proves pushing works.
    expect(await inbox.fetch('@persona_ada:hs', 'DEV')).toEqual([roomKey(1)]);
    expect(await inbox.fetch('@persona_ada:hs', 'DEV')).toEqual([roomKey(2)]);
    expect(hs.requests.map((r) => [r.userId, r.deviceId, r.method])).toEqual([
      ['@persona_ada:hs', 'DEV', 'GET'],
      ['@persona_ada:hs', 'DEV', 'GET'],
    ]);
    const filter = JSON.parse(hs.requests[0]!.query.get('filter')!) as { room: { rooms: unknown[] } };
    expect(filter.room.rooms).toEqual([]);
    expect(hs.requests[0]!.query.get('timeout')).toBe('0');
    // The first read takes the whole inbox; the next one acknowledges it (the homeserver deletes what came before).
    expect(hs.requests[0]!.query.has('since')).toBe(false);
    expect(hs.requests[1]!.query.get('since')).toBe('s1');
  });

  test('a full page is followed by the next one; each device keeps its own position', async () => {
    const full = Array.from({ length: 100 }, (_, i) => roomKey(i));
    const hs = fakeSync([
      { next_batch: 'a1', to_device: { events: full } },
      { next_batch: 'a2', to_device: { events: [roomKey(100)] } },
      { next_batch: 'b1', to_device: { events: [] } },
    ]);
    const inbox = new ToDeviceInbox(hs.http);
    expect(await inbox.fetch('@persona_ada:hs', 'DEV')).toHaveLength(101);
    expect(await inbox.fetch('@persona_bea:hs', 'DEV2')).toEqual([]);
    expect(hs.requests.map((r) => r.query.get('since'))).toEqual([null, 'a1', null]);
  });

  test('no two reads are the same request, across restarts too: the homeserver answers a repeated /sync from its cache for 2 minutes', async () => {
    const hs = fakeSync([]);
    // A new instance per start: the first read of each has no `since`.
    await new ToDeviceInbox(hs.http).fetch('@persona_ada:hs', 'DEV');
    await new ToDeviceInbox(hs.http).fetch('@persona_ada:hs', 'DEV');
    const repeat = new ToDeviceInbox(hs.http);
    await repeat.fetch('@persona_ada:hs', 'DEV');
    await repeat.fetch('@persona_ada:hs', 'DEV');
    const filters = hs.requests.map((r) => r.query.get('filter'));
    expect(new Set(filters).size).toBe(4);
    // Still to-device messages only.
    for (const f of filters) expect(JSON.parse(f!)).toMatchObject({ room: { rooms: [] }, presence: { not_types: ['*'] }, account_data: { not_types: ['*'] } });
  });
});
