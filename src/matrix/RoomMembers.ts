import type { RoomEvent } from './events.js';

export interface MemberInfo {
  membership: string;
  displayName?: string;
}

/** Fetches a room's joined members (e.g. `/joined_members` as one of our users). */
export type MemberLoader = (roomId: string) => Promise<Map<string, { displayName?: string }>>;

/**
 * Room membership as we see it, kept current from the member events the homeserver pushes,
 * so deciding "DM or group?" costs no HTTP round trip per message. A room we have not seen
 * since start is loaded once through the loader; events are then applied on top in order.
 */
export class RoomMembers {
  private readonly rooms = new Map<string, Map<string, MemberInfo>>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(private readonly loader: MemberLoader) {}

  isKnown(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  /** Loads the room once; concurrent callers share one request. A failed load is retried next time. */
  async ensureLoaded(roomId: string): Promise<void> {
    if (this.rooms.has(roomId)) return;
    let pending = this.loading.get(roomId);
    if (!pending) {
      pending = this.loader(roomId)
        .then((joined) => {
          const members = this.rooms.get(roomId) ?? new Map<string, MemberInfo>();
          for (const [userId, info] of joined) {
            const entry: MemberInfo = { membership: 'join' };
            if (info.displayName) entry.displayName = info.displayName;
            members.set(userId, entry);
          }
          this.rooms.set(roomId, members);
        })
        .finally(() => this.loading.delete(roomId));
      this.loading.set(roomId, pending);
    }
    await pending;
  }

  /** Applies an m.room.member event (join, leave, kick, ban, invite, profile change). */
  apply(event: RoomEvent): void {
    if (event.type !== 'm.room.member' || event.state_key === undefined) return;
    let members = this.rooms.get(event.room_id);
    if (!members) {
      members = new Map();
      this.rooms.set(event.room_id, members);
    }
    const membership = typeof event.content.membership === 'string' ? event.content.membership : 'leave';
    if (membership === 'leave' || membership === 'ban') {
      members.delete(event.state_key);
      return;
    }
    const entry: MemberInfo = { membership };
    const displayName = event.content.displayname;
    if (typeof displayName === 'string' && displayName) entry.displayName = displayName;
    members.set(event.state_key, entry);
  }

  /** Records a membership we caused ourselves (e.g. a persona joining) before its event arrives. */
  set(roomId: string, userId: string, info: MemberInfo | null): void {
    let members = this.rooms.get(roomId);
    if (!members) {
      if (!info) return;
      members = new Map();
      this.rooms.set(roomId, members);
    }
    if (info) members.set(userId, info);
    else members.delete(userId);
  }

  forgetRoom(roomId: string): void {
    this.rooms.delete(roomId);
  }

  joined(roomId: string): string[] {
    const members = this.rooms.get(roomId);
    if (!members) return [];
    return [...members].filter(([, m]) => m.membership === 'join').map(([id]) => id);
  }

  joinedCount(roomId: string): number {
    return this.joined(roomId).length;
  }

  isJoined(roomId: string, userId: string): boolean {
    return this.rooms.get(roomId)?.get(userId)?.membership === 'join';
  }

  displayName(roomId: string, userId: string): string | undefined {
    return this.rooms.get(roomId)?.get(userId)?.displayName;
  }

  /** Rooms where the user is joined: used when a persona is despawned. */
  roomsOf(userId: string): string[] {
    const out: string[] = [];
    for (const [roomId, members] of this.rooms) if (members.get(userId)?.membership === 'join') out.push(roomId);
    return out;
  }

  roomCount(): number {
    return this.rooms.size;
  }
}
