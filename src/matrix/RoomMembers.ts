import type { RoomEvent } from './events.js';

export interface MemberInfo {
  membership: string;
  displayName?: string;
}

/** Fetches a room's joined members (e.g. `/joined_members` as one of our users). */
export type MemberLoader = (roomId: string) => Promise<Map<string, { displayName?: string }>>;

type Members = Map<string, MemberInfo>;
type Change = (members: Members) => void;

/**
 * Room membership as we see it, kept current from the member events the homeserver pushes,
 * so deciding "DM or group?" costs no HTTP round trip per message. A room is loaded once
 * through the loader; events are then applied on top in order.
 */
export class RoomMembers {
  private readonly rooms = new Map<string, Members>();
  /** Rooms whose full membership was loaded; others only hold what events told us. */
  private readonly loaded = new Set<string>();
  private readonly loading = new Map<string, Promise<void>>();
  /**
   * Changes made while a room's load is in flight. The snapshot may predate them, so they are
   * re-applied on top of it once it arrives.
   */
  private readonly changesWhileLoading = new Map<string, Change[]>();

  constructor(private readonly loader: MemberLoader) {}

  /** True once the full membership is known (loaded, then kept current by events). */
  isKnown(roomId: string): boolean {
    return this.loaded.has(roomId);
  }

  /**
   * Loads the room once; concurrent callers share one request. A failed load is retried next
   * time. A room first seen through a member event (our user being invited, say) is still
   * loaded: that one event says nothing about who else is in the room.
   */
  async ensureLoaded(roomId: string): Promise<void> {
    if (this.loaded.has(roomId)) return;
    let pending = this.loading.get(roomId);
    if (!pending) {
      this.changesWhileLoading.set(roomId, []);
      pending = this.loader(roomId)
        .then((joined) => this.replaceWithSnapshot(roomId, joined))
        .finally(() => {
          this.loading.delete(roomId);
          this.changesWhileLoading.delete(roomId);
        });
      this.loading.set(roomId, pending);
    }
    await pending;
  }

  private replaceWithSnapshot(roomId: string, joined: Map<string, { displayName?: string }>): void {
    const members: Members = new Map();
    // joined_members lists only joins; invites we learnt from events stay.
    for (const [userId, info] of this.rooms.get(roomId) ?? []) if (info.membership !== 'join') members.set(userId, info);
    for (const [userId, info] of joined) {
      const entry: MemberInfo = { membership: 'join' };
      if (info.displayName) entry.displayName = info.displayName;
      members.set(userId, entry);
    }
    for (const change of this.changesWhileLoading.get(roomId) ?? []) change(members);
    this.rooms.set(roomId, members);
    this.loaded.add(roomId);
  }

  /** Applies an m.room.member event (join, leave, kick, ban, invite, profile change). */
  apply(event: RoomEvent): void {
    if (event.type !== 'm.room.member' || event.state_key === undefined) return;
    const userId = event.state_key;
    const membership = typeof event.content.membership === 'string' ? event.content.membership : 'leave';
    if (membership === 'leave' || membership === 'ban') {
      this.change(event.room_id, (members) => members.delete(userId));
      return;
    }
    const entry: MemberInfo = { membership };
    const displayName = event.content.displayname;
    if (typeof displayName === 'string' && displayName) entry.displayName = displayName;
    this.change(event.room_id, (members) => members.set(userId, entry));
  }

  /** Records a membership we caused ourselves (e.g. a persona joining) before its event arrives. */
  set(roomId: string, userId: string, info: MemberInfo | null): void {
    this.change(roomId, (members) => (info ? members.set(userId, info) : members.delete(userId)));
  }

  /** Applies a change now and, if a load is in flight, again on top of its snapshot. */
  private change(roomId: string, change: Change): void {
    let members = this.rooms.get(roomId);
    if (!members) {
      members = new Map();
      this.rooms.set(roomId, members);
    }
    this.changesWhileLoading.get(roomId)?.push(change);
    change(members);
  }

  forgetRoom(roomId: string): void {
    this.rooms.delete(roomId);
    this.loaded.delete(roomId);
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
