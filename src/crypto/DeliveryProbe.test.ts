import type { CryptoHttp } from './CryptoHttp.js';
import { DELIVERY_PROBE_TYPE, DeliveryProbe } from './DeliveryProbe.js';

const ADA = '@persona_ada:hs';

/** A homeserver that keeps the probes sent; the test decides which come back. */
function probes(opts: { attemptMs?: number; giveUpMs?: number } = {}) {
  const sent: string[] = [];
  let pings = 0;
  const http: CryptoHttp = {
    async request(_userId, _deviceId, _method, path) {
      if (path.includes(DELIVERY_PROBE_TYPE)) sent.push(path.slice(path.lastIndexOf('/') + 1));
      return {};
    },
  };
  const probe = new DeliveryProbe({ http, ping: async () => void pings++, attemptMs: opts.attemptMs ?? 10, giveUpMs: opts.giveUpMs ?? 60_000 });
  const back = (nonce: string): boolean => probe.take({ type: DELIVERY_PROBE_TYPE, content: { nonce } });
  const untilSent = async (n: number): Promise<void> => {
    while (sent.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  return { probe, sent, back, untilSent, pings: () => pings };
}

describe('DeliveryProbe', () => {
  test('a probe that comes back late still counts (a busy homeserver takes seconds per transaction)', async () => {
    const p = probes();
    const confirmed = p.probe.confirm(ADA, 'DEV');
    await p.untilSent(3);
    expect(p.pings()).toBeGreaterThanOrEqual(3);
    expect(p.back(p.sent[0]!)).toBe(true);
    await expect(confirmed).resolves.toBe(true);
  });

  test('gives up after giveUpMs, and stop() ends a probe under way', async () => {
    await expect(probes({ giveUpMs: 30 }).probe.confirm(ADA, 'DEV')).resolves.toBe(false);
    const p = probes();
    const confirmed = p.probe.confirm(ADA, 'DEV');
    await p.untilSent(1);
    p.probe.stop();
    await expect(confirmed).resolves.toBe(false);
  });

  test('confirmLive: devices asking at once share one probe, and a recent confirmation answers without another', async () => {
    const p = probes();
    const first = p.probe.confirmLive(ADA, 'ADADEV');
    const second = p.probe.confirmLive('@persona_bea:hs', 'BEADEV');
    await p.untilSent(1);
    p.back(p.sent[0]!);
    await expect(Promise.all([first, second])).resolves.toEqual([true, true]);
    await expect(p.probe.confirmLive('@persona_cy:hs', 'CYDEV')).resolves.toBe(true);
    expect(p.sent).toHaveLength(1);
  });

  test('only our probes are taken from a transaction', () => {
    const p = probes();
    expect(p.probe.take({ type: 'm.room.encrypted', content: {} })).toBe(false);
    expect(p.probe.take({ type: DELIVERY_PROBE_TYPE, content: { nonce: 'unknown' } })).toBe(true);
  });
});
