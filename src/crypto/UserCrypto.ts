import { getLogger } from '../logging.js';
import type { CryptoHttp } from './CryptoHttp.js';
import { wasm, type Wasm } from './wasm.js';
import { describeError, describeErrorWithStack } from '../util/describeError.js';

const log = getLogger('UserCrypto');

/** What a transaction carried for one of our users' devices (MSC2409 / MSC3202). */
export interface SyncChanges {
  toDevice: Record<string, unknown>[];
  changed: string[];
  left: string[];
  /** One-time keys left on the server, by algorithm; absent when the transaction did not say. */
  otkCounts?: Record<string, number>;
  /** Fallback key algorithms not used yet; absent when the transaction did not say. */
  unusedFallbackKeys?: string[];
}

/** Megolm settings from a room's m.room.encryption state. */
export interface RoomEncryption {
  algorithm: string;
  rotation_period_ms?: number;
  rotation_period_msgs?: number;
}

export type DecryptResult =
  | { ok: true; type: string; content: Record<string, unknown>; senderDevice?: string }
  | { ok: false; missingKey: boolean; reason: string };

type Outgoing = Awaited<ReturnType<Wasm.OlmMachine['outgoingRequests']>>[number];

/**
 * One of our users' device: its OlmMachine and the requests it asks for. Operations that
 * change the machine's state run one at a time (the order to-device messages, uploads and
 * key shares happen in matters); decryption does not wait for them.
 */
export class UserCrypto {
  private queue: Promise<unknown> = Promise.resolve();
  /** While true, the device's keys are not uploaded (see holdKeyUploadUntil). */
  private uploadHeld = false;
  private closed = false;
  /** Settles once a held key upload was made (or failed); at once for a device not held. */
  announced: Promise<void> = Promise.resolve();
  /**
   * Settles once room keys sent to this device will reach it: its keys are on the homeserver
   * (clients see the device) and the homeserver delivers to-device messages to us live. Set
   * by BridgeCrypto when it opens the device; joins of encrypted rooms wait for it.
   */
  reachable: Promise<void> = Promise.resolve();

  constructor(
    readonly userId: string,
    readonly deviceId: string,
    private readonly machine: Wasm.OlmMachine,
    private readonly http: CryptoHttp,
    /** Called after every change of state, to persist the store. */
    private readonly onChanged: () => void,
  ) {}

  get identityKey(): string {
    return this.machine.identityKeys.curve25519.toBase64();
  }

  /** Runs `fn` after everything queued before it; a failure does not block what follows. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run.finally(() => this.onChanged());
  }

  /** Uploads keys and answers whatever the machine asks for (key queries, claims, to-device). */
  flush(): Promise<void> {
    return this.serial(() => this.processOutgoing());
  }

  /**
   * Keeps the device's keys off the homeserver until `until` settles, then uploads them. Clients
   * encrypt for a device from the moment its keys are there, so a new device's keys wait until
   * messages sent to it are sure to reach us (DeliveryProbe). Everything else goes on meanwhile.
   */
  holdKeyUploadUntil(until: Promise<unknown>): void {
    this.uploadHeld = true;
    this.announced = until
      .catch(() => undefined)
      .then(() => {
        this.uploadHeld = false;
        // Stopping: the keys go up at the next start (the machine still asks for the upload).
        if (this.closed) return;
        return this.flush();
      })
      .catch((err: unknown) => {
        log.warn(`${this.userId}: uploading the keys of device ${this.deviceId} failed: ${describeErrorWithStack(err)}`);
      });
  }

  async receive(changes: SyncChanges): Promise<void> {
    // Device list changes come for every user who shares a room with any of ours (our own new
    // devices included: 20 personas starting make 20): feeding them to a machine that tracks
    // none of those users changes nothing, yet costs a save of its store.
    if (changes.toDevice.length === 0 && !changes.otkCounts && !changes.unusedFallbackKeys && !(await this.tracksAny([...changes.changed, ...changes.left]))) return;
    return this.serial(async () => {
      const counts = new Map(Object.entries(changes.otkCounts ?? {}));
      const fallbacks = changes.unusedFallbackKeys ? new Set(changes.unusedFallbackKeys) : undefined;
      const lists = new (wasm().DeviceLists)(
        changes.changed.map((u) => new (wasm().UserId)(u)),
        changes.left.map((u) => new (wasm().UserId)(u)),
      );
      await this.machine.receiveSyncChanges(JSON.stringify(changes.toDevice), lists, counts, fallbacks);
      await this.processOutgoing();
    });
  }

  /** True when the machine tracks the devices of any of `userIds` (it encrypted for them, or was told to). */
  private async tracksAny(userIds: string[]): Promise<boolean> {
    if (userIds.length === 0) return false;
    const tracked = new Set([...(await this.machine.trackedUsers())].map((u) => u.toString()));
    return userIds.some((u) => tracked.has(u));
  }

  /**
   * Megolm-encrypts an event for the room's members' devices: learns their devices, opens
   * Olm sessions to the new ones, shares the room key (a new one when the old must rotate),
   * then encrypts. Devices are not verified: the bridge has no one to verify them with.
   */
  encrypt(roomId: string, type: string, content: Record<string, unknown>, members: string[], settings: RoomEncryption): Promise<Record<string, unknown>> {
    return this.serial(async () => {
      // The bindings take ownership of the IDs passed in arrays: a fresh list for every call.
      const users = (): Wasm.UserId[] => members.map((u) => new (wasm().UserId)(u));
      await this.machine.updateTrackedUsers(users());
      await this.processOutgoing();
      const claim = await this.machine.getMissingSessions(users());
      if (claim) await this.send(claim);
      const encryption = new (wasm().EncryptionSettings)();
      if (settings.rotation_period_ms) encryption.rotationPeriod = BigInt(settings.rotation_period_ms) * 1000n;
      if (settings.rotation_period_msgs) encryption.rotationPeriodMessages = BigInt(settings.rotation_period_msgs);
      for (const share of await this.machine.shareRoomKey(new (wasm().RoomId)(roomId), users(), encryption)) await this.send(share);
      const encrypted = JSON.parse(await this.machine.encryptRoomEvent(new (wasm().RoomId)(roomId), type, JSON.stringify(content))) as Record<string, unknown>;
      // Relations stay readable to the server (threads, edits, replies aggregate there).
      if (content['m.relates_to']) encrypted['m.relates_to'] = content['m.relates_to'];
      return encrypted;
    });
  }

  async decrypt(event: Record<string, unknown>, roomId: string): Promise<DecryptResult> {
    try {
      const decrypted = await this.machine.decryptRoomEvent(
        JSON.stringify(event),
        new (wasm().RoomId)(roomId),
        new (wasm().DecryptionSettings)(wasm().TrustRequirement.Untrusted),
      );
      const clear = JSON.parse(decrypted.event) as { type?: unknown; content?: unknown };
      if (typeof clear.type !== 'string' || typeof clear.content !== 'object' || clear.content === null) {
        return { ok: false, missingKey: false, reason: 'decrypted payload has no type or content' };
      }
      const content = clear.content as Record<string, unknown>;
      const outer = (event.content as Record<string, unknown> | undefined)?.['m.relates_to'];
      if (outer && !content['m.relates_to']) content['m.relates_to'] = outer;
      return { ok: true, type: clear.type, content, ...(decrypted.senderDevice ? { senderDevice: decrypted.senderDevice.toString() } : {}) };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const missingKey = code === wasm().DecryptionErrorCode.MissingRoomKey || code === wasm().DecryptionErrorCode.UnknownMessageIndex;
      return { ok: false, missingKey, reason: (err as { description?: string }).description ?? describeError(err) };
    }
  }

  /** Calls back with the room keys (room, Megolm session) that just arrived. */
  onRoomKeys(callback: (keys: { roomId: string; sessionId: string }[]) => void): void {
    this.machine.registerRoomKeyUpdatedCallback(async (infos) => callback(infos.map((i) => ({ roomId: i.roomId.toString(), sessionId: i.sessionId }))));
  }

  /** Closes the machine once the operations queued so far are done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    try {
      this.machine.close();
    } catch (err) {
      // A decryption still running holds it; the process is stopping anyway.
      log.debug(`${this.userId}: machine not closed: ${describeError(err)}`);
    }
  }

  private async processOutgoing(): Promise<void> {
    // A request can lead to more (an upload after a query); a few rounds settle it.
    for (let round = 0; round < 5; round++) {
      const requests = (await this.machine.outgoingRequests()).filter((r) => !(this.uploadHeld && r.type === wasm().RequestType.KeysUpload));
      if (requests.length === 0) return;
      for (const request of requests) await this.send(request);
    }
  }

  private async send(request: Outgoing): Promise<void> {
    const body = JSON.parse(request.body) as Record<string, unknown>;
    let response: unknown;
    let id: string = request.id ?? '';
    switch (request.type) {
      case wasm().RequestType.KeysUpload:
        response = await this.http.request(this.userId, this.deviceId, 'POST', '/_matrix/client/v3/keys/upload', body);
        break;
      case wasm().RequestType.KeysQuery:
        response = await this.http.request(this.userId, this.deviceId, 'POST', '/_matrix/client/v3/keys/query', body);
        break;
      case wasm().RequestType.KeysClaim:
        response = await this.http.request(this.userId, this.deviceId, 'POST', '/_matrix/client/v3/keys/claim', body);
        break;
      case wasm().RequestType.ToDevice: {
        const toDevice = request as Wasm.ToDeviceRequest;
        const path = `/_matrix/client/v3/sendToDevice/${encodeURIComponent(toDevice.event_type)}/${encodeURIComponent(toDevice.txn_id)}`;
        response = await this.http.request(this.userId, this.deviceId, 'PUT', path, body);
        id = toDevice.id;
        break;
      }
      case wasm().RequestType.SignatureUpload:
        response = await this.http.request(this.userId, this.deviceId, 'POST', '/_matrix/client/v3/keys/signatures/upload', body);
        break;
      default:
        // Room messages (interactive verification) and key backup: the bridge does neither.
        log.debug(`${this.userId}: skipping crypto request of type ${request.type}`);
        return;
    }
    await this.machine.markRequestAsSent(id, request.type, JSON.stringify(response ?? {}));
  }
}
