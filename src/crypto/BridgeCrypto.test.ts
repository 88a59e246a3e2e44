import { jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDatabase, type Db } from '../store/Database.js';
import { BridgeCrypto } from './BridgeCrypto.js';
import { CryptoDevices } from './CryptoDevices.js';
import type { CryptoHttp } from './CryptoHttp.js';
import { EncryptedRooms } from './EncryptedRooms.js';
import { IdbSnapshot } from './IdbSnapshot.js';
import { JoinGate } from './JoinGate.js';
import { cryptoIndexedDb, wasm } from './wasm.js';

const ADA = '@persona_ada:hs';

/**
 * A homeserver that accepts whatever the machines send, answering what they need to go on.
 * To-device messages to our users come back in a transaction to `deliverTo` (when set and
 * `delivering`), as Synapse does for an appservice that is up.
 */
function fakeHomeserver() {
  const requests: { userId: string; deviceId: string | null; method: string; path: string; body: unknown }[] = [];
  /** `held`: requests wait until it settles (a slow homeserver). */
  const hs = { deliverTo: null as BridgeCrypto | null, delivering: true, held: null as Promise<void> | null, waiting: 0 };
  const oneTimeKeys = new Map<string, number>();
  const http: CryptoHttp = {
    async request(userId, deviceId, method, path, body) {
      if (hs.held) {
        hs.waiting++;
        await hs.held;
        hs.waiting--;
      }
      requests.push({ userId, deviceId, method, path, body });
      const toDevice = /\/sendToDevice\/([^/]+)\//.exec(path);
      if (toDevice && hs.deliverTo && hs.delivering) {
        const type = decodeURIComponent(toDevice[1]!);
        const messages = Object.entries((body as { messages: Record<string, Record<string, object>> }).messages).flatMap(([to, devices]) =>
          Object.entries(devices).map(([device, content]) => ({ type, sender: userId, content, to_user_id: to, to_device_id: device })),
        );
        const crypto = hs.deliverTo;
        setImmediate(() => void crypto.handleTransaction({ 'de.sorunome.msc2409.to_device': messages }));
      }
      if (path.endsWith('/keys/upload')) {
        // As Synapse answers: how many of the device's one-time keys it holds now.
        const device = `${userId}|${deviceId}`;
        oneTimeKeys.set(device, (oneTimeKeys.get(device) ?? 0) + Object.keys((body as { one_time_keys?: object }).one_time_keys ?? {}).length);
        return { one_time_key_counts: { signed_curve25519: oneTimeKeys.get(device) } };
      }
      if (path.endsWith('/keys/query')) return { device_keys: {}, failures: {} };
      return {};
    },
  };
  return Object.assign(hs, { http, requests, uploads: () => requests.filter((r) => r.path.endsWith('/keys/upload')) });
}

function bridgeCrypto(
  db: Db,
  hs: ReturnType<typeof fakeHomeserver>,
  storePath: string,
  ping?: () => Promise<void>,
  probe: { attemptMs: number; giveUpMs: number } = { attemptMs: 50, giveUpMs: 300 },
  keyWaitMs = 0,
): BridgeCrypto {
  const crypto = new BridgeCrypto({
    http: hs.http,
    devices: new CryptoDevices(db, hs.http),
    rooms: new EncryptedRooms(db, async () => null),
    storePath,
    isOurUser: (u) => u.startsWith('@persona_'),
    keyWaitMs,
    probe,
    ...(ping ? { ping } : {}),
  });
  hs.deliverTo = crypto;
  return crypto;
}

describe('BridgeCrypto', () => {
  const storePath = mkdtempSync(join(tmpdir(), 'bridge-crypto-'));
  const db = openDatabase(':memory:');
  const hs = fakeHomeserver();
  let identity = '';
  let deviceId = '';

  it("creates one device per user through the appservice and uploads its keys as that device", async () => {
    const crypto = bridgeCrypto(db, hs, storePath);
    await crypto.start();
    const ada = await crypto.forUser(ADA);
    await ada.announced;
    identity = ada.identityKey;
    deviceId = ada.deviceId;
    expect(deviceId).toMatch(/^PERSONAS[0-9A-F]{10}$/);
    expect(hs.requests[0]).toMatchObject({ userId: ADA, deviceId: null, method: 'PUT', path: `/_matrix/client/v3/devices/${deviceId}` });
    // Its keys go up only after a probe sent to the new device came back in a transaction.
    const calls = hs.requests.map((r) => `${r.method} ${r.path.replace(/[^/]+$/, '')}`);
    expect(calls.indexOf('PUT /_matrix/client/v3/sendToDevice/org.matrix.personas.delivery_probe/')).toBeGreaterThan(0);
    expect(calls.indexOf('PUT /_matrix/client/v3/sendToDevice/org.matrix.personas.delivery_probe/')).toBeLessThan(calls.indexOf('POST /_matrix/client/v3/keys/'));
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
    await crypto.idle();
    expect(hs.uploads()).toHaveLength(2);
    await crypto.handleTransaction(emptied);
    await crypto.idle();
    expect(hs.uploads()).toHaveLength(2);
    await crypto.stop();
  });

  it('keeps the device and its keys across a restart (no new device, same identity)', async () => {
    const before = hs.requests.length;
    const crypto = bridgeCrypto(db, hs, storePath);
    await crypto.start();
    const ada = await crypto.forUser(ADA);
    expect(ada.deviceId).toBe(deviceId);
    expect(ada.identityKey).toBe(identity);
    expect(hs.requests.slice(before).some((r) => r.method === 'PUT' && r.path.includes('/devices/'))).toBe(false);
    await crypto.stop();
  });

  it('replaces a device whose keys were lost with a clean new one, deleting the old', async () => {
    const before = hs.requests.length;
    const crypto = bridgeCrypto(db, hs, mkdtempSync(join(tmpdir(), 'bridge-crypto-empty-')));
    await crypto.start();
    const ada = await crypto.forUser(ADA);
    await ada.announced;
    expect(ada.deviceId).not.toBe(deviceId);
    expect(ada.identityKey).not.toBe(identity);
    const calls = hs.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    expect(calls).toEqual(expect.arrayContaining([`DELETE /_matrix/client/v3/devices/${deviceId}`, `PUT /_matrix/client/v3/devices/${ada.deviceId}`]));
    expect(hs.uploads().at(-1)).toMatchObject({ userId: ADA, deviceId: ada.deviceId });
    await crypto.stop();
  });

  it("holds a new device's keys while to-device messages to it do not arrive, pinging the homeserver to retry, and uploads them once one does", async () => {
    const bea = '@persona_bea:hs';
    let pings = 0;
    hs.delivering = false;
    const crypto = bridgeCrypto(db, hs, storePath, async () => void pings++, { attemptMs: 20, giveUpMs: 60_000 });
    await crypto.start();
    const user = await crypto.forUser(bea);
    expect(hs.uploads().some((r) => r.userId === bea)).toBe(false);
    // A transaction meanwhile (key counts) does not upload the held keys either.
    await crypto.handleTransaction({ 'org.matrix.msc3202.device_one_time_keys_count': { [bea]: { [user.deviceId]: { signed_curve25519: 0 } } } });
    await crypto.idle();
    expect(hs.uploads().some((r) => r.userId === bea)).toBe(false);
    // The homeserver recovers: the next probe arrives, and only then do the keys go up.
    const pingsBefore = pings;
    hs.delivering = true;
    await user.announced;
    expect(pings).toBeGreaterThan(pingsBefore);
    expect(hs.uploads().filter((r) => r.userId === bea)).toEqual([expect.objectContaining({ deviceId: user.deviceId })]);
    await crypto.stop();
  });

  it('uploads the keys anyway when no probe ever arrives', async () => {
    const cy = '@persona_cy:hs';
    hs.delivering = false;
    const crypto = bridgeCrypto(db, hs, storePath);
    await crypto.start();
    const user = await crypto.forUser(cy);
    await user.announced;
    expect(hs.uploads().filter((r) => r.userId === cy)).toHaveLength(1);
    hs.delivering = true;
    await crypto.stop();
  });

  it("does not wait for the key of a message one of ours sent from a device it no longer has", async () => {
    const crypto = bridgeCrypto(db, hs, storePath, undefined, undefined, 600_000);
    await crypto.start();
    // Real Megolm ciphertext from Bea's device, in a session Ada's device never received.
    const bea = await crypto.forUser('@persona_bea:hs');
    const content = await bea.encrypt('!r:hs', 'm.room.message', { msgtype: 'm.text', body: 'hi' }, [bea.userId], { algorithm: 'm.megolm.v1.aes-sha2' });
    const event = { type: 'm.room.encrypted', event_id: '$old', room_id: '!r:hs', sender: bea.userId, origin_server_ts: 1, content: { ...content, device_id: 'REPLACEDDEVICE' } };
    // The test's timeout (30 s) would end a 10 min wait: no key is waited for.
    const result = await crypto.decrypt(event, [ADA]);
    expect(result).toEqual({ event: null, reason: expect.stringMatching(/room key/i) });
    await crypto.stop();
  }, 30_000);

  it('reads the inbox once more for a key missed while a read was under way (it may have passed before the key was written)', async () => {
    const crypto = bridgeCrypto(db, hs, storePath, undefined, undefined, 500);
    await crypto.start();
    await crypto.forUser(ADA);
    // Real Megolm ciphertext in a session Ada's device never received (from someone else's point of view).
    const bea = await crypto.forUser('@persona_bea:hs');
    const message = async (n: number) => ({
      type: 'm.room.encrypted',
      event_id: `$inbox${n}`,
      room_id: '!inbox:hs',
      sender: '@alice:hs',
      origin_server_ts: n,
      content: await bea.encrypt('!inbox:hs', 'm.room.message', { msgtype: 'm.text', body: `${n}` }, [bea.userId], { algorithm: 'm.megolm.v1.aes-sha2' }),
    });
    const [first, second] = [await message(1), await message(2)];
    const syncs = () => hs.requests.filter((r) => r.path.startsWith('/_matrix/client/v3/sync')).length;
    const before = syncs();
    let release = (): void => undefined;
    hs.held = new Promise((r) => (release = r));
    const asked = jest.spyOn(crypto as unknown as { readInbox: (userId: string) => void }, 'readInbox');
    const firstResult = crypto.decrypt(first, [ADA]);
    // The first message's read of Ada's inbox is under way (held by the homeserver) when the second misses its key.
    while (hs.waiting === 0) await new Promise((r) => setImmediate(r));
    const secondResult = crypto.decrypt(second, [ADA]);
    while (asked.mock.calls.length < 2) await new Promise((r) => setTimeout(r, 10));
    hs.held = null;
    release();
    expect((await firstResult).event).toBeNull();
    expect((await secondResult).event).toBeNull();
    await crypto.idle();
    expect(syncs() - before).toBe(2);
    await crypto.stop();
  });

  it("joins an encrypted room only once the new device's keys are on the homeserver, however long its probe takes", async () => {
    const eve = '@persona_eve:hs';
    hs.delivering = false;
    const crypto = bridgeCrypto(db, hs, storePath, undefined, { attemptMs: 20, giveUpMs: 60_000 });
    await crypto.start();
    const gate = new JoinGate({ knownEncrypted: () => false, invited: () => 'encrypted', reachable: (u) => crypto.reachable(u), waitMs: 60_000 });
    const join = { userId: eve, deviceId: null, method: 'POST', path: '/join', body: null };
    // The invite makes the device (as the decrypt step does), then the join asks the gate.
    const device = await crypto.forUser(eve);
    const joined = gate.beforeJoin(eve, '!dm:hs').then(() => void hs.requests.push(join));
    // The probe does not come back: no keys on the homeserver, and no join either.
    while (hs.requests.filter((r) => r.userId === eve && r.path.includes('delivery_probe')).length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(hs.uploads().some((r) => r.userId === eve)).toBe(false);
    expect(hs.requests).not.toContain(join);
    hs.delivering = true;
    await joined;
    const upload = hs.requests.findIndex((r) => r.userId === eve && r.deviceId === device.deviceId && r.path.endsWith('/keys/upload'));
    expect(upload).toBeGreaterThan(-1);
    expect(upload).toBeLessThan(hs.requests.indexOf(join));
    await crypto.stop();
  });

  const FAY = '@persona_fay:hs';
  const GUS = '@persona_gus:hs';
  let fayDevice = '';

  it('a device that already had its keys is reachable once delivery is live; one confirmation answers for the other devices', async () => {
    const first = bridgeCrypto(db, hs, storePath);
    await first.start();
    fayDevice = (await first.forUser(FAY)).deviceId;
    await first.reachable(FAY);
    await first.reachable(GUS);
    await first.stop();

    // A restart while the homeserver does not deliver to-device messages to us.
    hs.delivering = false;
    const crypto = bridgeCrypto(db, hs, storePath, undefined, { attemptMs: 20, giveUpMs: 60_000 });
    await crypto.start();
    const fay = await crypto.forUser(FAY);
    expect(fay.deviceId).toBe(fayDevice);
    let reachable = false;
    void fay.reachable.then(() => (reachable = true));
    while (hs.requests.filter((r) => r.userId === FAY && r.path.includes('delivery_probe')).length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(reachable).toBe(false);
    hs.delivering = true;
    await fay.reachable;
    const probes = hs.requests.filter((r) => r.path.includes('delivery_probe')).length;
    await crypto.reachable(GUS);
    expect(hs.requests.filter((r) => r.path.includes('delivery_probe'))).toHaveLength(probes);
    await crypto.stop();
  });

  it('answers a transaction of key counts without waiting for the machine they need to open', async () => {
    const crypto = bridgeCrypto(db, hs, storePath);
    await crypto.start();
    let release = (): void => undefined;
    hs.held = new Promise((r) => (release = r));
    const uploads = hs.uploads().length;
    // Fay's machine is not open in this process: feeding her counts opens it, which needs the (stalled) homeserver.
    await crypto.handleTransaction({ 'org.matrix.msc3202.device_one_time_keys_count': { [FAY]: { [fayDevice]: { signed_curve25519: 0 } } } });
    expect(hs.uploads()).toHaveLength(uploads);
    hs.held = null;
    release();
    await crypto.idle();
    expect(hs.uploads().at(-1)).toMatchObject({ userId: FAY, deviceId: fayDevice });
    await crypto.stop();
  });

  it('knows which users need a new device: none yet, or its store lost', async () => {
    const crypto = bridgeCrypto(db, hs, storePath);
    await crypto.start();
    expect(await crypto.needsNewDevice(FAY)).toBe(false);
    expect(await crypto.needsNewDevice('@persona_nobody:hs')).toBe(true);
    await crypto.stop();
    const lost = bridgeCrypto(db, hs, mkdtempSync(join(tmpdir(), 'bridge-crypto-lost-')));
    await lost.start();
    expect(await lost.needsNewDevice(FAY)).toBe(true);
    await lost.stop();
  });

  it('opens a store made with the passphrase (by earlier versions) as it is, and makes new stores with the derived key', async () => {
    const path = mkdtempSync(join(tmpdir(), 'bridge-crypto-legacy-'));
    const first = bridgeCrypto(db, hs, path);
    await first.start();
    // As an earlier version left it: the store under its plain name, opened with the passphrase.
    const old = '@persona_old:hs';
    const deviceId = await new CryptoDevices(db, hs.http).deviceFor(old);
    const name = `personas-crypto|${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 12)}|${old}|${deviceId}`;
    const passphrase = readFileSync(join(path, 'store-passphrase'), 'utf8').trim();
    const legacy = await wasm().OlmMachine.initialize(new (wasm().UserId)(old), new (wasm().DeviceId)(deviceId), name, passphrase);
    const identity = legacy.identityKeys.curve25519.toBase64();
    legacy.close();
    const files = new IdbSnapshot(cryptoIndexedDb(), join(path, 'indexeddb'));
    for (const suffix of ['::matrix-sdk-crypto', '::matrix-sdk-crypto-meta']) await files.save(`${name}${suffix}`);
    await first.stop();

    const crypto = bridgeCrypto(db, hs, path);
    await crypto.start();
    const reopened = await crypto.forUser(old);
    expect(reopened.deviceId).toBe(deviceId);
    expect(reopened.identityKey).toBe(identity);
    const fresh = await crypto.forUser('@persona_new:hs');
    const stores = (await cryptoIndexedDb().databases()).map((d) => d.name);
    expect(stores).toContain(`${name.replace(`${old}|${deviceId}`, `@persona_new:hs|${fresh.deviceId}`)}|key::matrix-sdk-crypto`);
    await crypto.stop();
  });

  it('feeds key counts only when keys must be replenished, and again after they were', async () => {
    const hal = '@persona_hal:hs';
    const crypto = bridgeCrypto(db, hs, storePath);
    await crypto.start();
    const device = await crypto.forUser(hal);
    await device.announced;
    const counts = (n: number) => ({ 'org.matrix.msc3202.device_one_time_keys_count': { [hal]: { [device.deviceId]: { signed_curve25519: n } } } });
    const uploads = () => hs.uploads().filter((r) => r.userId === hal).length;
    const made = uploads();
    await crypto.handleTransaction(counts(40));
    expect(uploads()).toBe(made);
    await crypto.handleTransaction(counts(3));
    expect(uploads()).toBe(made + 1);
    await crypto.handleTransaction(counts(3));
    expect(uploads()).toBe(made + 1);
    await crypto.handleTransaction(counts(53));
    await crypto.handleTransaction(counts(3));
    expect(uploads()).toBe(made + 2);
    await crypto.stop();
  });

});
