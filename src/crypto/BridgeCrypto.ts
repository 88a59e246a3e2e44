import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { CryptoDevices } from './CryptoDevices.js';
import type { CryptoHttp } from './CryptoHttp.js';
import type { EncryptedRooms } from './EncryptedRooms.js';
import { DeliveryProbe } from './DeliveryProbe.js';
import { IdbSnapshot } from './IdbSnapshot.js';
import { ToDeviceInbox } from './ToDeviceInbox.js';
import { UserCrypto, type SyncChanges } from './UserCrypto.js';
import { cryptoIndexedDb, loadCryptoWasm, wasm, type Wasm } from './wasm.js';
import { describeError, describeErrorWithStack } from '../util/describeError.js';

const log = getLogger('BridgeCrypto');

/** A transaction whose crypto part takes longer is logged (Synapse times a push out after 60 s). */
const SLOW_TRANSACTION_MS = 10_000;

/** How long a message whose room key has not arrived yet waits for it before it counts as unreadable. */
export const DEFAULT_KEY_WAIT_MS = 10_000;

export interface BridgeCryptoDeps {
  http: CryptoHttp;
  devices: CryptoDevices;
  rooms: EncryptedRooms;
  /** encryption.store_path: the saved IndexedDB databases and the store passphrase. */
  storePath: string;
  /** True for the bot and the personas: to-device messages and key counts for anyone else are ignored. */
  isOurUser: (userId: string) => boolean;
  keyWaitMs?: number;
  /** The appservice ping: makes the homeserver retry unsent transactions now (see DeliveryProbe). */
  ping?: () => Promise<void>;
  /** Timing of the delivery probe a new device's key upload waits for (tests shorten it). */
  probe?: { attemptMs?: number; giveUpMs?: number };
}

/** The transaction fields MSC2409 (to-device) and MSC3202 (device lists, key counts) add. */
export interface CryptoTransaction {
  'de.sorunome.msc2409.to_device'?: unknown;
  'org.matrix.msc3202.device_lists'?: unknown;
  'org.matrix.msc3202.device_one_time_keys_count'?: unknown;
  'org.matrix.msc3202.device_unused_fallback_key_types'?: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * End-to-end encryption for all our users: one device and one OlmMachine each (created on
 * first need, kept in the crypto store), fed from appservice transactions, used to decrypt
 * what they receive and encrypt what they send.
 */
export class BridgeCrypto {
  private readonly users = new Map<string, Promise<UserCrypto>>();
  private readonly keyWaiters = new Set<(roomIds: string[]) => void>();
  /** Megolm sessions (room|session) whose key was waited for in vain: not waited for again until one arrives. */
  private readonly givenUp = new Set<string>();
  /** The key counts last fed to each user's machine, to skip transactions that change nothing for it. */
  private readonly lastCounts = new Map<string, string>();
  private snapshot: IdbSnapshot | null = null;
  private passphrase = '';
  private storeKey = new Uint8Array();
  /** Each open device's store name (userId|deviceId → name): keyed or passphrase store. */
  private readonly storeNames = new Map<string, string>();
  private storePrefix = 'personas-crypto|';
  private readonly saving = new Map<string, Promise<void>>();
  private readonly saveAgain = new Set<string>();
  private readonly probe: DeliveryProbe;
  private stopped = false;
  /** Crypto changes being fed outside a transaction (see handleTransaction). */
  private readonly background = new Set<Promise<void>>();
  /** Users whose machine is open (not just being opened). */
  private readonly opened = new Set<string>();
  private readonly inbox: ToDeviceInbox;
  /** Users whose to-device inbox is being read (readInbox), so that a burst of messages reads it once. */
  private readonly readingInbox = new Map<string, Promise<void>>();
  /** Users whose inbox is read once more when the read under way ends (readInbox). */
  private readonly readInboxAgain = new Set<string>();

  constructor(private readonly deps: BridgeCryptoDeps) {
    this.probe = new DeliveryProbe({ http: deps.http, ...(deps.ping ? { ping: deps.ping } : {}), ...deps.probe });
    this.inbox = new ToDeviceInbox(deps.http);
  }

  /** Loads the engine and the saved stores; before any user's machine is used. */
  async start(): Promise<void> {
    await loadCryptoWasm();
    mkdirSync(this.deps.storePath, { recursive: true, mode: 0o700 });
    this.passphrase = readOrCreatePassphrase(join(this.deps.storePath, 'store-passphrase'));
    // The passphrase is 256 random bits: a fast derivation loses nothing against PBKDF2's
    // stretching (meant for guessable passwords), and spares its CPU on every store opened.
    this.storeKey = new Uint8Array(hkdfSync('sha256', this.passphrase, 'matrix-appservice-personas', 'crypto store key', 32));
    this.snapshot = new IdbSnapshot(cryptoIndexedDb(), join(this.deps.storePath, 'indexeddb'));
    // Store names carry the store path, so two bridges in one process (tests) keep apart.
    this.storePrefix = `personas-crypto|${createHash('sha256').update(resolve(this.deps.storePath)).digest('hex').slice(0, 12)}|`;
    const restored = await this.snapshot.restoreAll(this.storePrefix);
    log.info(`crypto store at ${this.deps.storePath}: ${restored.length} database(s) loaded`);
  }

  /** Saves every store and closes the machines. */
  async stop(): Promise<void> {
    // No machine opens after this (a warm-up or a late event would leave it unsaved and open).
    this.stopped = true;
    this.probe.stop();
    await this.idle();
    const users = await Promise.all([...this.users.values()].map((p) => p.catch(() => null)));
    await Promise.all(users.map((u) => (u ? this.save(u) : undefined)));
    await Promise.all([...this.saving.values()]);
    for (const u of users) await u?.close();
    this.users.clear();
    this.opened.clear();
  }

  /**
   * Settles once room keys sent to the user's device will reach it (UserCrypto.reachable),
   * opening or creating the device first; rejects when it cannot be opened.
   */
  async reachable(userId: string): Promise<void> {
    await (await this.forUser(userId)).reachable;
  }

  /**
   * True when opening the user's device means making one (none yet, or its store was lost):
   * its keys must go up before clients can encrypt for it. A device with its store opens on
   * first use; clients already have its keys.
   */
  async needsNewDevice(userId: string): Promise<boolean> {
    const deviceId = this.deps.devices.known(userId);
    return deviceId === null || (await this.storeOf(userId, deviceId)) === null;
  }

  /** Key counts and device lists still being fed outside their transactions (tests). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** The user's device and machine, created (device registered, keys uploaded) on first use. */
  forUser(userId: string): Promise<UserCrypto> {
    if (this.stopped) return Promise.reject(new Error('the crypto engine is stopped'));
    let pending = this.users.get(userId);
    if (!pending) {
      pending = this.open(userId);
      this.users.set(userId, pending);
      pending.catch(() => this.users.delete(userId));
    }
    return pending;
  }

  private async open(userId: string): Promise<UserCrypto> {
    let deviceId = await this.deps.devices.deviceFor(userId);
    if (!(await this.storeOf(userId, deviceId)) && this.deps.devices.wasUsed(userId)) {
      // The device's keys are gone (crypto store lost or deleted): a new account under the
      // old device ID would contradict the keys everyone has for it. A clean new device instead.
      log.warn(`${userId}: the crypto store of device ${deviceId} is missing; replacing the device`);
      deviceId = await this.deps.devices.replace(userId);
    }
    const store = (await this.storeOf(userId, deviceId)) ?? { name: this.storeName(userId, deviceId, true), keyed: true };
    const machine = await this.openMachine(userId, deviceId, store);
    this.storeNames.set(`${userId}|${deviceId}`, store.name);
    const user: UserCrypto = new UserCrypto(userId, deviceId, machine, this.deps.http, () => this.save(user));
    user.onRoomKeys((keys) => {
      for (const key of keys) this.givenUp.delete(`${key.roomId}|${key.sessionId}`);
      const roomIds = keys.map((k) => k.roomId);
      this.keyWaiters.forEach((w) => w(roomIds));
    });
    // A device made just now is announced (its keys uploaded) only once to-device messages to it
    // are sure to reach us, or the room keys clients send it as soon as they see it may be lost.
    // One that already had its keys up is reachable once delivery is known to be live (after a
    // restart the homeserver may still be dropping to-device messages for us). Not awaited: this
    // can run inside a transaction, and the probe comes in a later one.
    if (this.deps.devices.createdByThisProcess(userId)) {
      user.holdKeyUploadUntil(this.probe.confirm(userId, deviceId));
      user.reachable = user.announced;
    } else {
      user.reachable = this.probe.confirmLive(userId, deviceId).then(() => undefined);
    }
    // Device lists may have changed while this machine was not loaded.
    await machine.markAllTrackedUsersAsDirty();
    await user.flush();
    log.info(`${userId}: crypto device ${deviceId} ready (identity key ${user.identityKey})`);
    this.opened.add(userId);
    return user;
  }

  /**
   * Feeds one transaction's to-device messages, device list changes and one-time key counts
   * to our users' machines, before its room events are handled: a room key usually arrives
   * in the same transaction as the first message it decrypts.
   */
  async handleTransaction(body: CryptoTransaction): Promise<void> {
    const changes = new Map<string, SyncChanges>();
    const lists = isRecord(body['org.matrix.msc3202.device_lists']) ? body['org.matrix.msc3202.device_lists'] : {};
    const changed = stringList(lists.changed);
    const left = stringList(lists.left);
    const changesFor = async (userId: string, deviceId: string): Promise<SyncChanges | null> => {
      if (!this.deps.isOurUser(userId)) return null;
      // Messages for a device that is not (or no longer) ours are not for us to read.
      const ours = this.deps.devices.known(userId);
      if (ours !== deviceId && !(ours === null && this.users.has(userId))) return null;
      let c = changes.get(userId);
      if (!c) changes.set(userId, (c = { toDevice: [], changed, left }));
      return c;
    };
    const toDevice = body['de.sorunome.msc2409.to_device'];
    for (const message of Array.isArray(toDevice) ? toDevice : []) {
      if (!isRecord(message) || typeof message.to_user_id !== 'string' || typeof message.to_device_id !== 'string' || typeof message.type !== 'string') continue;
      if (this.probe.take({ type: message.type, content: message.content })) continue;
      const c = await changesFor(message.to_user_id, message.to_device_id);
      if (!c) continue;
      const { to_user_id: _u, to_device_id: _d, ...event } = message;
      c.toDevice.push(event);
    }
    const counts = body['org.matrix.msc3202.device_one_time_keys_count'];
    for (const [userId, devices] of Object.entries(isRecord(counts) ? counts : {})) {
      for (const [deviceId, perAlgorithm] of Object.entries(isRecord(devices) ? devices : {})) {
        const c = await changesFor(userId, deviceId);
        if (c && isRecord(perAlgorithm)) c.otkCounts = Object.fromEntries(Object.entries(perAlgorithm).filter((e): e is [string, number] => typeof e[1] === 'number'));
      }
    }
    const fallbacks = body['org.matrix.msc3202.device_unused_fallback_key_types'];
    for (const [userId, devices] of Object.entries(isRecord(fallbacks) ? fallbacks : {})) {
      for (const [deviceId, types] of Object.entries(isRecord(devices) ? devices : {})) {
        const c = await changesFor(userId, deviceId);
        if (c) c.unusedFallbackKeys = stringList(types);
      }
    }
    // Device list changes concern every machine that tracks those users.
    if (changed.length || left.length) {
      for (const userId of this.users.keys()) if (!changes.has(userId)) changes.set(userId, { toDevice: [], changed, left });
    }
    for (const [userId, c] of changes) {
      // Key counts come with every transaction that touches the user's rooms (during a start
      // with 20 new devices: all of them, in every transaction). A machine is fed them only when
      // it must replenish its keys (mustReplenishKeys), and then once per new count: each feed
      // costs a save of its store and often an upload.
      const counts = JSON.stringify([c.otkCounts ?? null, c.unusedFallbackKeys ?? null]);
      if (!mustReplenishKeys(c)) this.lastCounts.delete(userId);
      if (!mustReplenishKeys(c) || this.lastCounts.get(userId) === counts) {
        delete c.otkCounts;
        delete c.unusedFallbackKeys;
        if (c.toDevice.length === 0 && changed.length === 0 && left.length === 0) changes.delete(userId);
      } else {
        this.lastCounts.set(userId, counts);
      }
    }
    const feed = async (userId: string, c: SyncChanges): Promise<void> => {
      if (c.toDevice.length) log.debug(`${userId}: ${c.toDevice.length} to-device message(s)`);
      try {
        await (await this.forUser(userId)).receive(c);
      } catch (err) {
        if (!this.stopped) log.error(`${userId}: processing crypto changes failed: ${describeErrorWithStack(err)}`);
      }
    };
    // To-device messages (room keys) are in place, and saved, before the transaction is answered
    // and its events decrypted, and so is whatever concerns a machine already open: answering
    // after its key upload keeps the counts the homeserver sends next current. A machine not open
    // yet is not opened on this path for counts or device lists alone: the homeserver sends
    // nothing else (our delivery probes included) until this transaction is answered, and gives
    // up after 60 s. Those are fed once it is open, outside the transaction.
    const started = Date.now();
    const urgent: Promise<void>[] = [];
    const fedNow: string[] = [];
    for (const [userId, c] of changes) {
      if (c.toDevice.length > 0 || this.opened.has(userId)) {
        urgent.push(feed(userId, c));
        fedNow.push(`${userId}${c.toDevice.length ? ` (${c.toDevice.map((m) => m.type).join(', ')})` : ''}${this.opened.has(userId) ? '' : ' opening'}`);
      } else {
        this.inBackground(feed(userId, c));
      }
    }
    await Promise.all(urgent);
    const tookMs = Date.now() - started;
    if (tookMs > SLOW_TRANSACTION_MS) {
      log.warn(`the crypto part of a transaction took ${tookMs} ms, for ${fedNow.slice(0, 5).join('; ')}${fedNow.length > 5 ? ` and ${fedNow.length - 5} more` : ''}; the homeserver gives up after 60 s and then drops room keys for a while`);
    }
  }

  /**
   * Feeds the to-device messages waiting in the user's inbox on the homeserver to its machine
   * (in the background: a room key found there wakes the messages waiting for it). Messages that
   * also came in a transaction are harmless: the machine cannot decrypt an Olm message twice
   * and skips it.
   */
  private readInbox(userId: string): void {
    if (this.stopped) return;
    // A read under way may have passed the inbox before the key now missing was written in it:
    // one more read follows it (however many messages ask meanwhile).
    if (this.readingInbox.has(userId)) {
      this.readInboxAgain.add(userId);
      return;
    }
    const work = (async () => {
      const user = await this.forUser(userId);
      const toDevice = await this.inbox.fetch(userId, user.deviceId);
      if (toDevice.length === 0) return;
      log.info(`${userId}: ${toDevice.length} to-device message(s) read from the inbox of device ${user.deviceId} (${[...new Set(toDevice.map((m) => m.type))].join(', ')})`);
      await user.receive({ toDevice, changed: [], left: [] });
    })()
      .catch((err: unknown) => {
        if (!this.stopped) log.warn(`${userId}: reading the to-device inbox failed: ${describeError(err)}`);
      })
      .finally(() => {
        this.readingInbox.delete(userId);
        if (this.readInboxAgain.delete(userId)) this.readInbox(userId);
      });
    this.readingInbox.set(userId, work);
    this.inBackground(work);
  }

  private inBackground(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /**
   * Decrypts an m.room.encrypted event with the first of `candidates` (our users in the room)
   * that can. A key still on its way is waited for (up to keyWaitMs); null when none can.
   */
  async decrypt(event: RoomEvent, candidates: string[]): Promise<{ event: RoomEvent } | { event: null; reason: string }> {
    const sessionId = typeof event.content.session_id === 'string' ? event.content.session_id : '';
    const session = `${event.room_id}|${sessionId}`;
    // A session already waited for in vain is not waited for again: a stream of messages
    // without keys must not hold up the room's queue 10 s each.
    const deadline = this.givenUp.has(session) || this.fromReplacedDevice(event) ? 0 : Date.now() + (this.deps.keyWaitMs ?? DEFAULT_KEY_WAIT_MS);
    let reason = 'none of our users is in the room';
    let inboxRead = false;
    for (;;) {
      // Registered before trying, so a key arriving during the attempt is not missed.
      const keyArrived = this.nextRoomKey(event.room_id, deadline);
      let missingKey = false;
      for (const userId of candidates) {
        const user = await this.forUser(userId).catch((err: unknown) => {
          reason = `crypto for ${userId} unavailable: ${describeError(err)}`;
          return null;
        });
        if (!user) continue;
        const result = await user.decrypt(event as unknown as Record<string, unknown>, event.room_id);
        if (result.ok) {
          keyArrived.cancel();
          return {
            event: {
              ...event,
              type: result.type,
              content: result.content,
              unsigned: { ...(event.unsigned ?? {}), 'org.matrix.personas.encrypted': true },
            },
          };
        }
        missingKey ||= result.missingKey;
        reason = result.reason;
      }
      // The key may have been left out of the transactions (ToDeviceInbox says when): look for
      // it in the inbox of each device that should have it, once per wait.
      if (missingKey && !inboxRead && Date.now() < deadline) {
        inboxRead = true;
        for (const userId of candidates) this.readInbox(userId);
      }
      if (!missingKey || Date.now() >= deadline || !(await keyArrived.promise)) {
        keyArrived.cancel();
        if (missingKey && sessionId) this.givenUp.add(session);
        return { event: null, reason };
      }
    }
  }

  /** Encrypts `content` as `userId` when the room is encrypted; null when it is not. */
  async encrypt(userId: string, roomId: string, type: string, content: Record<string, unknown>, members: () => Promise<string[]>): Promise<Record<string, unknown> | null> {
    const settings = await this.deps.rooms.settings(roomId, userId);
    if (!settings) return null;
    const user = await this.forUser(userId);
    return user.encrypt(roomId, type, content, await members(), settings);
  }

  /**
   * True for a message one of our users sent from a device it no longer has (replaced after its
   * store was lost): only that device could share the session's key, so none is coming.
   */
  private fromReplacedDevice(event: RoomEvent): boolean {
    const device = event.content.device_id;
    if (!this.deps.isOurUser(event.sender) || typeof device !== 'string') return false;
    const current = this.deps.devices.known(event.sender);
    return current !== null && current !== device;
  }

  /**
   * A store's name. Stores made before keyed stores existed are opened with the passphrase
   * (their cipher is wrapped with a PBKDF2 key derived from it, ~150 ms of CPU per opening);
   * new ones with a key derived from it once per process (storeKey), under a name of their own
   * so that which is which needs no guess.
   */
  private storeName(userId: string, deviceId: string, keyed: boolean): string {
    return `${this.storePrefix}${userId}|${deviceId}${keyed ? '|key' : ''}`;
  }

  /** The device's saved store, keyed or not; null when it has none. */
  private async storeOf(userId: string, deviceId: string): Promise<{ name: string; keyed: boolean } | null> {
    const names = new Set((await cryptoIndexedDb().databases()).map((d) => d.name));
    for (const keyed of [true, false]) {
      const name = this.storeName(userId, deviceId, keyed);
      if (names.has(`${name}${DATABASE_SUFFIXES[0]}`)) return { name, keyed };
    }
    return null;
  }

  private async openMachine(userId: string, deviceId: string, store: { name: string; keyed: boolean }): Promise<Wasm.OlmMachine> {
    const user = new (wasm().UserId)(userId);
    const device = new (wasm().DeviceId)(deviceId);
    if (!store.keyed) return wasm().OlmMachine.initialize(user, device, store.name, this.passphrase);
    const handle = await wasm().StoreHandle.openWithKey(store.name, this.storeKey);
    try {
      return await wasm().OlmMachine.initFromStore(user, device, handle);
    } finally {
      handle.free();
    }
  }

  /** Resolves true when a key for the room arrives, false at the deadline. */
  private nextRoomKey(roomId: string, deadline: number): { promise: Promise<boolean>; cancel: () => void } {
    let cancel = (): void => undefined;
    const promise = new Promise<boolean>((resolve) => {
      const waiter = (roomIds: string[]): void => {
        if (!roomIds.includes(roomId)) return;
        cancel();
        resolve(true);
      };
      const timer = setTimeout(() => {
        cancel();
        resolve(false);
      }, Math.max(0, deadline - Date.now()));
      cancel = () => {
        clearTimeout(timer);
        this.keyWaiters.delete(waiter);
      };
      this.keyWaiters.add(waiter);
    });
    return { promise, cancel: () => cancel() };
  }

  /** Persists the user's store; coalesces bursts (one save running, at most one more queued). */
  private save(user: UserCrypto): Promise<void> {
    const name = this.storeNames.get(`${user.userId}|${user.deviceId}`);
    if (!name) return Promise.resolve();
    if (this.saving.has(name)) {
      this.saveAgain.add(name);
      return this.saving.get(name)!;
    }
    const run = (async () => {
      do {
        this.saveAgain.delete(name);
        try {
          for (const suffix of DATABASE_SUFFIXES) await this.snapshot?.save(`${name}${suffix}`);
        } catch (err) {
          log.error(`saving the crypto store of ${user.userId} failed: ${describeErrorWithStack(err)}`);
        }
      } while (this.saveAgain.has(name));
    })().finally(() => this.saving.delete(name));
    this.saving.set(name, run);
    return run;
  }
}

/**
 * True when the counts a transaction gives for a device call for new keys: its signed one-time
 * keys on the homeserver are below half of the 50 the machine keeps, or its fallback key was used
 * (the machine then makes a new one). Fed any count below 50 the machine tops up at once: an
 * upload for every key claimed, where waiting for half costs nothing (clients claim one key per
 * new Olm session, and the fallback key covers a run on them).
 */
function mustReplenishKeys(c: SyncChanges): boolean {
  const count = c.otkCounts?.signed_curve25519;
  const fallbackUsed = c.unusedFallbackKeys !== undefined && !c.unusedFallbackKeys.includes('signed_curve25519');
  return (count !== undefined && count < 25) || fallbackUsed;
}

/** The IndexedDB databases matrix-sdk-crypto's store opens for a store name. */
const DATABASE_SUFFIXES = ['::matrix-sdk-crypto', '::matrix-sdk-crypto-meta'];


/** The passphrase the stores encrypt their secrets with, made once and kept beside them (0600). */
function readOrCreatePassphrase(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const passphrase = randomBytes(32).toString('base64');
  writeFileSync(path, `${passphrase}\n`, { mode: 0o600 });
  return passphrase;
}
