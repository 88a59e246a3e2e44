import { LRUCache } from 'lru-cache';
import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep, StepResult } from '../pipeline/EventStep.js';
import type { Db } from '../store/Database.js';
import { BridgeCrypto, type CryptoTransaction } from './BridgeCrypto.js';
import { CryptoDevices } from './CryptoDevices.js';
import type { CryptoHttp } from './CryptoHttp.js';
import { EncryptedRooms } from './EncryptedRooms.js';
import { inviteEncryption, JoinGate, type JoinEncryption } from './JoinGate.js';
import type { UndecryptableNotices } from './UndecryptableNotices.js';
import type { RoomEncryption } from './UserCrypto.js';
import { describeError, describeErrorWithStack } from '../util/describeError.js';

const log = getLogger('EndToEndEncryption');

const inviteKey = (userId: string, roomId: string): string => `${roomId}|${userId}`;

/** How many devices the start-up warm-up opens at once (network round trips overlap; the CPU part does not). */
const WARM_UP_CONCURRENCY = 4;

/**
 * The order devices are opened in after a start: the first user (the bot, which rooms are
 * brought to) first, then the others by how many encrypted rooms they are in (most first:
 * those are the ones people are writing to), ties and the rest in the given order.
 */
export function warmUpOrder(users: string[], encryptedRooms: (userId: string) => number): string[] {
  return users
    .map((userId, index) => ({ userId, index, rank: index === 0 ? Infinity : encryptedRooms(userId) }))
    .sort((a, b) => b.rank - a.rank || a.index - b.index)
    .map((u) => u.userId);
}

/** What the encryption layer needs from the bridge. */
export interface EncryptionHost {
  db: Db;
  storePath: string;
  http: CryptoHttp;
  isOurUser(userId: string): boolean;
  /** The rooms a persona is in (as recorded): personas in encrypted rooms get their devices first at start. */
  roomsOf(userId: string): string[];
  /** Our users (personas, then the bot) that are in the room: who can decrypt there. */
  ourUsersInRoom(roomId: string): Promise<string[]>;
  /** Everyone joined to the room: whose devices get the room key. */
  joinedMembers(roomId: string): Promise<string[]>;
  /** Our users whose devices should be ready at start: the bot first, then the live personas. */
  usersAtStart(): string[];
  notices: UndecryptableNotices;
  keyWaitMs?: number;
  /** The bound on a join's wait for the joining user's device (JoinGate). */
  joinWaitMs?: number;
  /**
   * The appservice ping (`/_matrix/client/v1/appservice/{id}/ping`): the homeserver then retries
   * what it could not deliver at once and ends its recovery mode, in which it drops to-device
   * messages (room keys). Absent when the registration has no ID.
   */
  ping?: () => Promise<void>;
}

/**
 * End-to-end encryption for the bridge, in three places: the ingress's decrypt stage
 * (a transaction's to-device messages, device lists, key counts), the event pipeline's first step (decrypt;
 * keep track of encrypted rooms; a device for every user of ours that is invited somewhere,
 * before it joins, so the inviter's client encrypts for it) and every room event sent
 * (encrypt in encrypted rooms).
 */
export class EndToEndEncryption implements EventStep {
  readonly name = 'Decrypt';
  private readonly crypto: BridgeCrypto;
  private readonly rooms: EncryptedRooms;
  private readonly joins: JoinGate;
  /** What the invites of our users said of their rooms' encryption (stripped state), until they join. */
  private readonly invites = new LRUCache<string, JoinEncryption>({ max: 10_000 });
  private started = false;
  /** The devices' warm-up after a start (prepareDevices), running in the background. */
  private warmUp: Promise<void> = Promise.resolve();

  constructor(private readonly host: EncryptionHost) {
    this.rooms = new EncryptedRooms(host.db, (roomId, asUserId) => this.loadRoomEncryption(roomId, asUserId));
    this.crypto = new BridgeCrypto({
      http: host.http,
      devices: new CryptoDevices(host.db, host.http),
      rooms: this.rooms,
      storePath: host.storePath,
      isOurUser: (u) => host.isOurUser(u),
      ...(host.keyWaitMs !== undefined ? { keyWaitMs: host.keyWaitMs } : {}),
      ...(host.ping ? { ping: host.ping } : {}),
    });
    this.joins = new JoinGate({
      knownEncrypted: (roomId) => this.rooms.isKnownEncrypted(roomId),
      invited: (userId, roomId) => this.invites.get(inviteKey(userId, roomId)),
      readState: async (roomId) => {
        const reader = (await host.ourUsersInRoom(roomId))[0];
        if (!reader) return 'unknown';
        return (await this.rooms.settings(roomId, reader)) ? 'encrypted' : 'plain';
      },
      reachable: (userId) => this.crypto.reachable(userId),
      ...(host.joinWaitMs !== undefined ? { waitMs: host.joinWaitMs } : {}),
    });
  }

  /** Loads the engine and the saved crypto store; before listening. */
  async start(): Promise<void> {
    await this.crypto.start();
    this.started = true;
  }

  /**
   * The ingress's decrypt stage: a transaction's to-device messages, device list changes and
   * one-time key counts, fed to our users' machines before its room events are handled.
   */
  readonly handleTransaction = async (transaction: CryptoTransaction): Promise<void> => {
    if (this.started) await this.crypto.handleTransaction(transaction);
  };

  /**
   * After a start: makes the devices that do not exist yet (new personas, encryption just turned
   * on, a lost store) in the background, a few at a time, personas in encrypted rooms first
   * (warmUpOrder). Devices that exist open on first use: clients already have their keys. A user
   * needed sooner (an invite, an event, a send) is opened on demand at once, not behind this
   * queue, and its join waits only for its own device (JoinGate).
   */
  async prepareDevices(): Promise<void> {
    // A transaction that failed while we were down leaves the homeserver retrying with backoff
    // (seconds to minutes), dropping the to-device messages (room keys) meant for our devices
    // until it is done: ask it to retry now.
    await this.host.ping?.().catch((err: unknown) => log.debug(`appservice ping failed: ${describeError(err)}`));
    this.warmUp = this.warmUpDevices(warmUpOrder(this.host.usersAtStart(), (userId) => this.encryptedRoomCount(userId)));
  }

  /**
   * The gateway's join gate: before one of our users joins a room that is (or may be)
   * encrypted, waits (bounded) until its device can be sent room keys, so the first message
   * after the join is readable (JoinGate). Runs off the transaction path.
   */
  readonly beforeJoin = async (userId: string, roomId: string): Promise<void> => {
    if (!this.started) return;
    await this.joins.beforeJoin(userId, roomId);
    this.invites.delete(inviteKey(userId, roomId));
  };

  /** Saves the crypto store; after the last event and send. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.crypto.stop();
    await this.warmUp;
  }

  private encryptedRoomCount(userId: string): number {
    return this.host.roomsOf(userId).filter((roomId) => this.rooms.isKnownEncrypted(roomId)).length;
  }

  /** Makes the devices of those of `users` that need one, WARM_UP_CONCURRENCY at a time, and logs when all are reachable. */
  private async warmUpDevices(users: string[]): Promise<void> {
    const started = Date.now();
    const fresh: string[] = [];
    for (const userId of users) if (await this.crypto.needsNewDevice(userId)) fresh.push(userId);
    if (fresh.length === 0) return;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (this.started && next < fresh.length) {
        const userId = fresh[next++]!;
        await this.crypto.forUser(userId).catch((err: unknown) => {
          if (this.started) log.error(`crypto device for ${userId} failed: ${describeErrorWithStack(err)}`);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(WARM_UP_CONCURRENCY, fresh.length) }, worker));
    const made = Date.now() - started;
    const reachable = await Promise.all(fresh.map((userId) => this.crypto.reachable(userId).then(() => true, () => false)));
    if (!this.started) return;
    log.info(
      `new crypto devices for ${fresh.length} of ${users.length} users made in ${made} ms; ${reachable.filter(Boolean).length} reachable after ${Date.now() - started} ms`,
    );
  }

  /** The sending side: what the MatrixGateway puts on the wire instead of the plain event. */
  readonly encrypt = async (userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<Record<string, unknown> | null> => {
    if (!this.started) return null;
    return this.crypto.encrypt(userId, roomId, type, content, () => this.host.joinedMembers(roomId));
  };

  /** Whether events sent to the room go out encrypted (attachments must then be encrypted too). */
  async isEncrypted(roomId: string, asUser: string): Promise<boolean> {
    return this.started && (await this.rooms.settings(roomId, asUser)) !== null;
  }

  /**
   * The pipeline step, early for every event: later steps see the decrypted event in place of
   * a readable m.room.encrypted one; an unreadable one is said so (once per room) and passes on
   * as it is (no step acts on ciphertext).
   */
  async handle(event: RoomEvent): Promise<StepResult> {
    if (!this.started) return;
    this.rooms.observe(event);
    if (event.type === 'm.room.member' && event.content.membership === 'invite' && event.state_key && this.host.isOurUser(event.state_key)) {
      // Read by the join gate when the invite is accepted (a later step, through the gateway).
      this.invites.set(inviteKey(event.state_key, event.room_id), inviteEncryption(event));
      await this.crypto.forUser(event.state_key).catch((err: unknown) => log.error(`crypto device for ${event.state_key} failed: ${describeErrorWithStack(err)}`));
      return;
    }
    if (event.type !== 'm.room.encrypted') return;
    const candidates = await this.host.ourUsersInRoom(event.room_id);
    const result = await this.crypto.decrypt(event, candidates);
    if (result.event) return { event: result.event };
    log.warn(`cannot decrypt ${event.event_id} from ${event.sender} in ${event.room_id}: ${result.reason}`);
    if (!this.host.isOurUser(event.sender)) await this.host.notices.report(event, 'cannot_decrypt');
  }

  private async loadRoomEncryption(roomId: string, asUser: string): Promise<RoomEncryption | null> {
    try {
      const content = (await this.host.http.request(asUser, null, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption/`)) as Partial<RoomEncryption> | null;
      return content && typeof content.algorithm === 'string' ? (content as RoomEncryption) : null;
    } catch (err) {
      const { statusCode, errcode } = err as { statusCode?: number; errcode?: string };
      if (statusCode === 404 || errcode === 'M_NOT_FOUND') return null;
      throw err;
    }
  }
}
