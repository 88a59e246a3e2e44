import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../store/Database.js';
import { BridgeCrypto } from './BridgeCrypto.js';
import { CryptoDevices } from './CryptoDevices.js';
import type { CryptoHttp } from './CryptoHttp.js';
import { EncryptedRooms } from './EncryptedRooms.js';

const ADA = '@persona_ada:hs';

/** A homeserver that accepts whatever the machines send, answering what they need to go on. */
function fakeHomeserver() {
  const requests: { userId: string; deviceId: string | null; method: string; path: string; body: unknown }[] = [];
  const http: CryptoHttp = {
    async request(userId, deviceId, method, path, body) {
      requests.push({ userId, deviceId, method, path, body });
      if (path.endsWith('/keys/upload')) {
        const keys = Object.keys((body as { one_time_keys?: object }).one_time_keys ?? {}).length;
        return { one_time_key_counts: { signed_curve25519: keys } };
      }
      if (path.endsWith('/keys/query')) return { device_keys: {}, failures: {} };
      return {};
    },
  };
  return { http, requests, uploads: () => requests.filter((r) => r.path.endsWith('/keys/upload')) };
}

function bridgeCrypto(db: Db, http: CryptoHttp, storePath: string): BridgeCrypto {
  return new BridgeCrypto({
    http,
    devices: new CryptoDevices(db, http),
    rooms: new EncryptedRooms(db, async () => null),
    storePath,
    isOurUser: (u) => u.startsWith('@persona_'),
    keyWaitMs: 0,
  });
}

describe('BridgeCrypto', () => {
  const storePath = mkdtempSync(join(tmpdir(), 'bridge-crypto-'));
  const db = openDatabase(':memory:');
  const hs = fakeHomeserver();
  let identity = '';
  let deviceId = '';

  it("creates one device per user through the appservice and uploads its keys as that device", async () => {
    const crypto = bridgeCrypto(db, hs.http, storePath);
    await crypto.start();
    const ada = await crypto.forUser(ADA);
    identity = ada.identityKey;
    deviceId = ada.deviceId;
    expect(deviceId).toMatch(/^PERSONAS[0-9A-F]{10}$/);
    expect(hs.requests[0]).toMatchObject({ userId: ADA, deviceId: null, method: 'PUT', path: `/_matrix/client/v3/devices/${deviceId}` });
    expect(hs.uploads()).toEqual([expect.objectContaining({ userId: ADA, deviceId })]);
    expect(Object.keys((hs.uploads()[0]!.body as { one_time_keys: object }).one_time_keys).length).toBeGreaterThan(0);

    // Key counts for a device that is not Ada's, and to-device messages for someone else, are not ours.
    await crypto.handleTransaction({
      'org.matrix.msc3202.device_one_time_keys_count': { [ADA]: { OTHERDEVICE: { signed_curve25519: 0 } } },
      'de.sorunome.msc2409.to_device': [{ type: 'm.room.encrypted', sender: '@x:hs', to_user_id: '@bob:hs', to_device_id: 'BOB', content: {} }],
    });
    expect(hs.uploads()).toHaveLength(1);
    expect(hs.requests.some((r) => r.userId === '@bob:hs')).toBe(false);

    // Her device running out of one-time keys makes it upload more; the same count again changes nothing.
    const emptied = { 'org.matrix.msc3202.device_one_time_keys_count': { [ADA]: { [deviceId]: { signed_curve25519: 0 } } } };
    await crypto.handleTransaction(emptied);
    expect(hs.uploads()).toHaveLength(2);
    await crypto.handleTransaction(emptied);
    expect(hs.uploads()).toHaveLength(2);
    await crypto.stop();
  });

  it('keeps the device and its keys across a restart (no new device, same identity)', async () => {
    const before = hs.requests.length;
    const crypto = bridgeCrypto(db, hs.http, storePath);
    await crypto.start();
    const ada = await crypto.forUser(ADA);
    expect(ada.deviceId).toBe(deviceId);
    expect(ada.identityKey).toBe(identity);
    expect(hs.requests.slice(before).some((r) => r.method === 'PUT' && r.path.includes('/devices/'))).toBe(false);
    await crypto.stop();
  });

  it('replaces a device whose keys were lost with a clean new one, deleting the old', async () => {
    const before = hs.requests.length;
    const crypto = bridgeCrypto(db, hs.http, mkdtempSync(join(tmpdir(), 'bridge-crypto-empty-')));
    await crypto.start();
    const ada = await crypto.forUser(ADA);
    expect(ada.deviceId).not.toBe(deviceId);
    expect(ada.identityKey).not.toBe(identity);
    const calls = hs.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    expect(calls).toEqual(expect.arrayContaining([`DELETE /_matrix/client/v3/devices/${deviceId}`, `PUT /_matrix/client/v3/devices/${ada.deviceId}`]));
    await crypto.stop();
  });
});
