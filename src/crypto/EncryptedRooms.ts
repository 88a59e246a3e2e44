import type { Db } from '../store/Database.js';
import type { RoomEvent } from '../matrix/events.js';
import type { RoomEncryption } from './UserCrypto.js';

/** Reads a room's m.room.encryption content as one of our users; null when there is none. */
export type EncryptionStateLoader = (roomId: string, asUserId: string) => Promise<RoomEncryption | null>;

/**
 * Which rooms are encrypted, and how. Learnt from the m.room.encryption events that pass by,
 * or asked from the room state the first time we send to a room (a DM's encryption is in its
 * initial state, before any of our users is in the room to be told). Encryption can never be
 * turned off in a room, so a "yes" is kept for good; a "no" is asked again after a restart.
 */
export class EncryptedRooms {
  private readonly upsert;
  private readonly get;
  private readonly plain = new Set<string>();

  constructor(
    db: Db,
    private readonly load: EncryptionStateLoader,
  ) {
    this.upsert = db.prepare('INSERT INTO encrypted_rooms (room_id, settings) VALUES (?, ?) ON CONFLICT (room_id) DO UPDATE SET settings = excluded.settings');
    this.get = db.prepare('SELECT settings FROM encrypted_rooms WHERE room_id = ?');
  }

  /** Records m.room.encryption state events. */
  observe(event: RoomEvent): void {
    if (event.type !== 'm.room.encryption' || event.state_key !== '' || typeof event.content.algorithm !== 'string') return;
    this.remember(event.room_id, event.content as unknown as RoomEncryption);
  }

  remember(roomId: string, settings: RoomEncryption): void {
    this.plain.delete(roomId);
    this.upsert.run(roomId, JSON.stringify(settings));
  }

  /** True when the room is known to be encrypted (nothing is asked). */
  isKnownEncrypted(roomId: string): boolean {
    return this.get.get(roomId) !== undefined;
  }

  /** The room's encryption, asking the room state as `asUserId` (one of our users there) when unknown. */
  async settings(roomId: string, asUserId: string): Promise<RoomEncryption | null> {
    const row = this.get.get(roomId) as { settings: string } | undefined;
    if (row) return JSON.parse(row.settings) as RoomEncryption;
    if (this.plain.has(roomId)) return null;
    const loaded = await this.load(roomId, asUserId);
    if (loaded) this.remember(roomId, loaded);
    else this.plain.add(roomId);
    return loaded;
  }
}
