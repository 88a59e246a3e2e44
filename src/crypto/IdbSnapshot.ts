// The crypto-wasm OlmMachine keeps its persistent state in IndexedDB, which Node does not have.
// fake-indexeddb provides it, in memory; this module saves each IndexedDB database to a file
// and loads it back at start, so the machines' keys and sessions survive restarts.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';

// The slice of the IndexedDB API this module uses (the project compiles without the DOM lib).
interface Req<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface OpenReq extends Req<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
  onblocked: (() => void) | null;
  transaction: IdbTransaction | null;
}
interface IdbCursor {
  primaryKey: unknown;
  value: unknown;
  continue(): void;
}
interface IdbIndex {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}
interface IdbStore {
  name: string;
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexNames: ArrayLike<string>;
  index(name: string): IdbIndex;
  openCursor(): Req<IdbCursor | null>;
  put(value: unknown, key?: unknown): Req<unknown>;
  createIndex(name: string, keyPath: string | string[], opts: { unique: boolean; multiEntry: boolean }): IdbIndex;
}
interface IdbTransaction {
  objectStore(name: string): IdbStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  error: unknown;
}
interface IdbDatabase {
  name: string;
  version: number;
  objectStoreNames: ArrayLike<string>;
  transaction(stores: string[], mode: 'readonly' | 'readwrite'): IdbTransaction;
  createObjectStore(name: string, opts: { keyPath: string | string[] | null; autoIncrement: boolean }): IdbStore;
  close(): void;
}
export interface IdbFactory {
  open(name: string, version?: number): OpenReq;
  deleteDatabase(name: string): Req<unknown>;
  databases(): Promise<{ name?: string; version?: number }[]>;
}

/** One database, as saved: its schema and every record. */
interface DatabaseDump {
  name: string;
  version: number;
  stores: {
    name: string;
    keyPath: string | string[] | null;
    autoIncrement: boolean;
    indexes: { name: string; keyPath: string | string[]; unique: boolean; multiEntry: boolean }[];
    records: { key: unknown; value: unknown }[];
  }[];
}

const FILE_SUFFIX = '.idb';

const request = <T>(req: Req<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error instanceof Error ? req.error : new Error(String(req.error)));
  });

const completion = (tx: IdbTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error instanceof Error ? tx.error : new Error(`IndexedDB transaction failed: ${String(tx.error)}`));
  });

/** The file a database is saved in: its name hex-encoded, so any name is a safe file name. */
export function snapshotFileName(dbName: string): string {
  return `${Buffer.from(dbName, 'utf8').toString('hex')}${FILE_SUFFIX}`;
}

async function dumpDatabase(factory: IdbFactory, name: string): Promise<DatabaseDump | null> {
  const known = (await factory.databases()).find((d) => d.name === name);
  if (!known) return null;
  const db = await request(factory.open(name));
  try {
    const storeNames = Array.from(db.objectStoreNames);
    const dump: DatabaseDump = { name, version: db.version, stores: [] };
    if (storeNames.length === 0) return dump;
    // One read-only transaction over every store: a consistent picture of the database.
    const tx = db.transaction(storeNames, 'readonly');
    const done = completion(tx);
    for (const storeName of storeNames) {
      const store = tx.objectStore(storeName);
      const records: { key: unknown; value: unknown }[] = [];
      dump.stores.push({
        name: storeName,
        keyPath: store.keyPath,
        autoIncrement: store.autoIncrement,
        indexes: Array.from(store.indexNames).map((indexName) => {
          const index = store.index(indexName);
          return { name: index.name, keyPath: index.keyPath, unique: index.unique, multiEntry: index.multiEntry };
        }),
        records,
      });
      const cursorReq = store.openCursor();
      cursorReq.onsuccess = () => {
        const cursor = cursorReq.result;
        if (!cursor) return;
        records.push({ key: cursor.primaryKey, value: cursor.value });
        cursor.continue();
      };
    }
    await done;
    return dump;
  } finally {
    db.close();
  }
}

async function restoreDatabase(factory: IdbFactory, dump: DatabaseDump): Promise<void> {
  const open = factory.open(dump.name, dump.version);
  open.onupgradeneeded = () => {
    const db = open.result;
    for (const store of dump.stores) {
      const created = db.createObjectStore(store.name, { keyPath: store.keyPath, autoIncrement: store.autoIncrement });
      for (const index of store.indexes) created.createIndex(index.name, index.keyPath, { unique: index.unique, multiEntry: index.multiEntry });
    }
  };
  const db = await request(open);
  try {
    if (dump.stores.length === 0) return;
    const tx = db.transaction(
      dump.stores.map((s) => s.name),
      'readwrite',
    );
    const done = completion(tx);
    for (const store of dump.stores) {
      const target = tx.objectStore(store.name);
      // In-line keys (keyPath) are part of the value; out-of-line keys are given separately.
      for (const record of store.records) void (store.keyPath === null ? target.put(record.value, record.key) : target.put(record.value));
    }
    await done;
  } finally {
    db.close();
  }
}

/**
 * Saves and loads IndexedDB databases as files in one directory, one file per database
 * (written to a temporary file and renamed, so a crash leaves the previous save whole).
 * Values are written as the IndexedDB store holds them: the OlmMachine's store encrypts its
 * secrets with the store passphrase before they reach IndexedDB.
 */
export class IdbSnapshot {
  constructor(
    private readonly factory: IdbFactory,
    private readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Makes the factory's databases whose names start with `prefix` exactly the saved ones:
   * drops those already there (left by an earlier start in this process), then loads every
   * saved database. Call before anything opens them.
   */
  async restoreAll(prefix: string): Promise<string[]> {
    for (const { name } of await this.factory.databases()) {
      if (name?.startsWith(prefix)) await request(this.factory.deleteDatabase(name));
    }
    const restored: string[] = [];
    for (const file of readdirSync(this.dir).filter((f) => f.endsWith(FILE_SUFFIX))) {
      const dump = deserialize(readFileSync(join(this.dir, file))) as DatabaseDump;
      if (!dump.name.startsWith(prefix)) continue;
      await restoreDatabase(this.factory, dump);
      restored.push(dump.name);
    }
    return restored;
  }

  /** Writes the database's current content to its file; false when it does not exist. */
  async save(dbName: string): Promise<boolean> {
    const dump = await dumpDatabase(this.factory, dbName);
    if (!dump) return false;
    const path = join(this.dir, snapshotFileName(dbName));
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, serialize(dump), { mode: 0o600 });
    renameSync(tmp, path);
    return true;
  }
}
