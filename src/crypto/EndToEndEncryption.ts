import type { Application } from 'express';
import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep, StepResult } from '../pipeline/EventStep.js';
import type { Db } from '../store/Database.js';
import { BridgeCrypto } from './BridgeCrypto.js';
import { CryptoDevices } from './CryptoDevices.js';
import type { CryptoHttp } from './CryptoHttp.js';
import { EncryptedRooms } from './EncryptedRooms.js';
import { installTransactionCrypto } from './transactionCrypto.js';
import type { UndecryptableNotices } from './UndecryptableNotices.js';
import type { RoomEncryption } from './UserCrypto.js';

const log = getLogger('EndToEndEncryption');

/** What the encryption layer needs from the bridge. */
export interface EncryptionHost {
  db: Db;
  storePath: string;
  http: CryptoHttp;
  isOurUser(userId: string): boolean;
  /** Our users (personas, then the bot) that are in the room: who can decrypt there. */
  ourUsersInRoom(roomId: string): Promise<string[]>;
  /** Everyone joined to the room: whose devices get the room key. */
  joinedMembers(roomId: string): Promise<string[]>;
  /** Our users whose devices should be ready at start (the bot and live personas). */
  usersAtStart(): string[];
  notices: UndecryptableNotices;
  keyWaitMs?: number;
  /**
   * The appservice ping (`/_matrix/client/v1/appservice/{id}/ping`): the homeserver then retries
   * what it could not deliver at once and ends its recovery mode, in which it drops to-device
   * messages (room keys). Absent when the registration has no ID.
   */
  ping?: () => Promise<void>;
}

/**
 * End-to-end encryption for the bridge, in three places: the appservice transaction route
 * (to-device messages, device lists, key counts), the event pipeline's first step (decrypt;
 * keep track of encrypted rooms; a device for every user of ours that is invited somewhere,
 * before it joins, so the inviter's client encrypts for it) and every room event sent
 * (encrypt in encrypted rooms).
 */
export class EndToEndEncryption implements EventStep {
  readonly name = 'Decrypt';
  private readonly crypto: BridgeCrypto;
  private readonly rooms: EncryptedRooms;
  private started = false;

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
  }

  /** Loads the engine and the saved crypto store, and takes the transactions' crypto parts; before listening. */
  async start(app: Application): Promise<void> {
    await this.crypto.start();
    installTransactionCrypto(app, this.crypto);
    this.started = true;
  }

  /** Devices for the users that exist at start, in the background (invites also ensure one). */
  async prepareDevices(): Promise<void> {
    // A transaction that failed while we were down leaves the homeserver retrying with backoff
    // (seconds to minutes), dropping the to-device messages (room keys) meant for our devices
    // until it is done: ask it to retry now.
    await this.host.ping?.().catch((err: unknown) => log.debug(`appservice ping failed: ${(err as Error)?.message ?? String(err)}`));
    for (const userId of this.host.usersAtStart()) {
      await this.crypto.forUser(userId).catch((err: unknown) => log.error(`crypto device for ${userId} failed: ${(err as Error)?.stack ?? String(err)}`));
    }
  }

  /** Saves the crypto store; after the last event and send. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.crypto.stop();
  }

  /** The sending side: what the MatrixGateway puts on the wire instead of the plain event. */
  readonly encrypt = async (userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<Record<string, unknown> | null> => {
    if (!this.started) return null;
    return this.crypto.encrypt(userId, roomId, type, content, () => this.host.joinedMembers(roomId));
  };

  /**
   * The pipeline step, early for every event: later steps see the decrypted event in place of
   * a readable m.room.encrypted one; an unreadable one is said so (once per room) and passes on
   * as it is (no step acts on ciphertext).
   */
  async handle(event: RoomEvent): Promise<StepResult> {
    if (!this.started) return;
    this.rooms.observe(event);
    if (event.type === 'm.room.member' && event.content.membership === 'invite' && event.state_key && this.host.isOurUser(event.state_key)) {
      await this.crypto.forUser(event.state_key).catch((err: unknown) => log.error(`crypto device for ${event.state_key} failed: ${(err as Error)?.stack ?? String(err)}`));
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
