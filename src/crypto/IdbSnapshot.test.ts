import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { IdbSnapshot, snapshotFileName, type IdbFactory } from './IdbSnapshot.js';
import { cryptoIndexedDb, loadCryptoWasm, wasm } from './wasm.js';

// fake-indexeddb's own types refer to the DOM lib, which this project does not compile with.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
const asPromise = (req: Loose): Promise<Loose> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

describe('IdbSnapshot', () => {
  it('saves a database (schema, indexes, in-line and out-of-line keys) and restores it elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idb-snap-'));
    const first = new IDBFactory();
    const open = first.open('db one', 3);
    open.onupgradeneeded = () => {
      const db = open.result;
      const people = db.createObjectStore('people', { keyPath: 'id' });
      people.createIndex('by_name', 'name', { unique: false });
      db.createObjectStore('blobs');
    };
    const db = await asPromise(open);
    const tx = db.transaction(['people', 'blobs'], 'readwrite');
    tx.objectStore('people').put({ id: 'a', name: 'Ada', data: new Uint8Array([1, 2, 3]) });
    tx.objectStore('blobs').put({ n: 1 }, ['composite', 7]);
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();

    expect(await new IdbSnapshot(first as unknown as IdbFactory, dir).save('db one')).toBe(true);
    expect(await new IdbSnapshot(first as unknown as IdbFactory, dir).save('missing')).toBe(false);
    // Restoring into a factory that has the database already replaces it, and leaves others alone.
    const other = first.open('unrelated');
    await asPromise(other).then((d: Loose) => d.close());
    expect(await new IdbSnapshot(first as unknown as IdbFactory, dir).restoreAll('db ')).toEqual(['db one']);
    expect((await first.databases()).map((d: Loose) => d.name).sort()).toEqual(['db one', 'unrelated']);
    expect(readdirSync(dir)).toEqual([snapshotFileName('db one')]);

    const second = new IDBFactory();
    expect(await new IdbSnapshot(second as unknown as IdbFactory, dir).restoreAll('db ')).toEqual(['db one']);
    const copy = await asPromise(second.open('db one'));
    expect(copy.version).toBe(3);
    const read = copy.transaction(['people', 'blobs'], 'readonly');
    const byName = await asPromise(read.objectStore('people').index('by_name').get('Ada'));
    const blob = await asPromise(read.objectStore('blobs').get(['composite', 7]));
    expect(byName).toEqual({ id: 'a', name: 'Ada', data: new Uint8Array([1, 2, 3]) });
    expect(blob).toEqual({ n: 1 });
    copy.close();
  });

  it("keeps an OlmMachine's identity across a 'restart' (a new, empty IndexedDB restored from the files)", async () => {
    await loadCryptoWasm();
    const dir = mkdtempSync(join(tmpdir(), 'idb-olm-'));
    const userId = new (wasm().UserId)('@persona_ada:hs');
    const deviceId = new (wasm().DeviceId)('PERSONASTEST');
    const machine = await wasm().OlmMachine.initialize(userId, deviceId, 'ada-store', 'secret');
    const identity = machine.identityKeys.curve25519.toBase64();
    machine.close();
    const snapshot = new IdbSnapshot(cryptoIndexedDb(), dir);
    for (const db of await cryptoIndexedDb().databases()) if (db.name?.startsWith('ada-store')) await snapshot.save(db.name);

    // A new process: the global IndexedDB starts empty.
    const globals = globalThis as unknown as { indexedDB: unknown };
    const previous = globals.indexedDB;
    globals.indexedDB = new IDBFactory();
    try {
      await new IdbSnapshot(cryptoIndexedDb(), dir).restoreAll('ada-store');
      const again = await wasm().OlmMachine.initialize(new (wasm().UserId)('@persona_ada:hs'), new (wasm().DeviceId)('PERSONASTEST'), 'ada-store', 'secret');
      expect(again.identityKeys.curve25519.toBase64()).toBe(identity);
      again.close();
    } finally {
      globals.indexedDB = previous;
    }
  });
});
