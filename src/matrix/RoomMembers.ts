import type { RoomEvent } from './events.js';
import { isHomeserverUnreachable } from './sendRetry.js';

export interface MemberInfo {
  membership: string;
  displayName?: string;
}

/** Fetches a room's joined members (e.g. `/joined_members` as one of our users). */
export type MemberLoader = (roomId: string) => Promise<Map<string, { displayName?: string }>>;

/**
 * One room's membership, kept small because there are tens of thousands of them: joined users
 * map straight to their displayname ('' for none), no object per member; the rare other
 * memberships (invite, knock) live in a map of their own, created only when needed.
 */
interface Room {
  joined: Map<string, string>;
  others: Map<string, string> | null;
  /** The full membership was loaded; otherwise only what events told us. */
  loaded: boolean;
  /** When the room was last used, for eviction (ms, from the injected clock). */
  usedAt: number;
}

type Change = (room: Room) => void;

export interface RoomMembersOptions {
  /** Rooms kept at most; the least recently used beyond it are forgotten. */
  maxRooms?: number;
  /** A room unused for this long is forgotten (ms). */
  idleMs?: number;
  /** Member loads in flight at most; more wait their turn. */
  maxConcurrentLoads?: number;
  /** After a failed load, the room is not asked again for this long (ms), unless its membership changes. */
  failedLoadRetryMs?: number;
  now?: () => number;
}

/**
 * Defaults: a forgotten room costs one `/joined_members` request when it speaks again, while
 * a kept room costs a few hundred bytes; so keep every room active within the hour, and
 * enough of them for a large deployment's busy set.
 */
export const ROOM_MEMBERS_DEFAULTS = { maxRooms: 5000, idleMs: 3600_000, maxConcurrentLoads: 8, failedLoadRetryMs: 60_000 } as const;

/**
 * Room membership as we see it, kept current from the member events the homeserver pushes,
 * so deciding "DM or group?" costs no HTTP round trip per message. A room is loaded once
 * through the loader; events are then applied on top in order.
 *
 * Bounded: rooms that have gone quiet are forgotten (least recently used first, and any room
 * unused for `idleMs`), so memory follows the active rooms, not every room ever seen. A
 * forgotten room is simply loaded again when it is next used.
 */
export class RoomMembers {
  /** In least-recently-used order: a Map iterates in insertion order, and use re-inserts. */
  private readonly rooms = new Map<string, Room>();
  /**
   * The room at the most recently used end of `rooms`. An event's handling asks about its room
   * several times in a row (joined, counts, names per persona checked); moving a room that is
   * already last cost a delete and an insert each time (~3% of the bridge's CPU under ingest).
   */
  private newest: string | null = null;
  private readonly loading = new Map<string, Promise<void>>();
  /**
   * Changes made while a room's load is in flight. The snapshot may predate them, so they are
   * re-applied on top of it once it arrives.
   */
  private readonly changesWhileLoading = new Map<string, Change[]>();
  private readonly maxRooms: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  /**
   * Loads run a few at a time: a burst of events for thousands of unknown rooms (a backlog
   * after downtime) would otherwise open thousands of requests at once, each holding its
   * HTTP machinery in memory (hundreds of MB at 5,000 rooms, BENCHMARKS.md).
   */
  private readonly maxConcurrentLoads: number;
  private loadsInFlight = 0;
  private readonly loadQueue: (() => void)[] = [];
  /**
   * Rooms whose load just failed (none of our users can read them): every event there would
   * otherwise cost failing requests (10,000 events made 20,004 in the fault test). Forgotten
   * after `failedLoadRetryMs` or as soon as a member event says the room changed.
   */
  private readonly unreadable = new Map<string, { until: number; error: unknown }>();
  private readonly failedLoadRetryMs: number;

  constructor(
    private readonly loader: MemberLoader,
    opts: RoomMembersOptions = {},
  ) {
    this.maxRooms = opts.maxRooms ?? ROOM_MEMBERS_DEFAULTS.maxRooms;
    this.idleMs = opts.idleMs ?? ROOM_MEMBERS_DEFAULTS.idleMs;
    if (!Number.isInteger(this.maxRooms) || this.maxRooms < 1) throw new Error(`maxRooms must be a positive integer, got ${this.maxRooms}`);
    if (!(this.idleMs > 0)) throw new Error(`idleMs must be positive, got ${this.idleMs}`);
    this.maxConcurrentLoads = opts.maxConcurrentLoads ?? ROOM_MEMBERS_DEFAULTS.maxConcurrentLoads;
    if (!Number.isInteger(this.maxConcurrentLoads) || this.maxConcurrentLoads < 1) {
      throw new Error(`maxConcurrentLoads must be a positive integer, got ${this.maxConcurrentLoads}`);
    }
    this.now = opts.now ?? Date.now;
    this.failedLoadRetryMs = opts.failedLoadRetryMs ?? ROOM_MEMBERS_DEFAULTS.failedLoadRetryMs;
  }

  /** True once the full membership is known (loaded, then kept current by events). */
  isKnown(roomId: string): boolean {
    return this.rooms.get(roomId)?.loaded === true;
  }

  /**
   * Loads the room once; concurrent callers share one request. A failed load is retried next
   * time. A room first seen through a member event (our user being invited, say) is still
   * loaded: that one event says nothing about who else is in the room.
   */
  async ensureLoaded(roomId: string): Promise<void> {
    if (this.use(roomId)?.loaded) return;
    const failed = this.unreadable.get(roomId);
    if (failed && failed.until > this.now()) throw failed.error;
    if (failed) this.unreadable.delete(roomId);
    let pending = this.loading.get(roomId);
    if (!pending) {
      this.changesWhileLoading.set(roomId, []);
      pending = this.limited(() => this.loader(roomId))
        .then(
          (joined) => this.replaceWithSnapshot(roomId, joined),
          (err: unknown) => {
            // A homeserver that is down says nothing about the room: asked again next time,
            // so the rooms used during an outage are not taken for unreadable after it.
            if (!isHomeserverUnreachable(err)) this.rememberUnreadable(roomId, err);
            throw err;
          },
        )
        .finally(() => {
          this.loading.delete(roomId);
          this.changesWhileLoading.delete(roomId);
        });
      this.loading.set(roomId, pending);
    }
    await pending;
  }

  private rememberUnreadable(roomId: string, error: unknown): void {
    this.unreadable.set(roomId, { until: this.now() + this.failedLoadRetryMs, error });
    // Bounded like the rooms: the oldest failure goes first.
    if (this.unreadable.size > this.maxRooms) this.unreadable.delete(this.unreadable.keys().next().value as string);
  }

  /** Runs a load when a slot is free; a finishing load hands its slot to the next in line. */
  private async limited<T>(load: () => Promise<T>): Promise<T> {
    if (this.loadsInFlight < this.maxConcurrentLoads) this.loadsInFlight++;
    else await new Promise<void>((resolve) => this.loadQueue.push(resolve));
    try {
      return await load();
    } finally {
      const next = this.loadQueue.shift();
      if (next) next();
      else this.loadsInFlight--;
    }
  }

  private replaceWithSnapshot(roomId: string, joined: Map<string, { displayName?: string }>): void {
    // joined_members lists only joins; invites we learnt from events stay.
    const room: Room = { joined: new Map(), others: this.rooms.get(roomId)?.others ?? null, loaded: true, usedAt: this.now() };
    for (const [userId, info] of joined) room.joined.set(userId, info.displayName ?? '');
    for (const change of this.changesWhileLoading.get(roomId) ?? []) change(room);
    this.store(roomId, room);
  }

  /** Applies an m.room.member event (join, leave, kick, ban, invite, profile change). */
  apply(event: RoomEvent): void {
    if (event.type !== 'm.room.member' || event.state_key === undefined) return;
    // Membership changed (one of ours joined, say): the room may be readable now.
    this.unreadable.delete(event.room_id);
    const membership = typeof event.content.membership === 'string' ? event.content.membership : 'leave';
    const displayName = event.content.displayname;
    this.set(event.room_id, event.state_key, { membership, ...(typeof displayName === 'string' && displayName ? { displayName } : {}) });
  }

  /** One user's membership, as a member event states it. */
  private set(roomId: string, userId: string, info: MemberInfo | null): void {
    const membership = info?.membership ?? 'leave';
    this.change(roomId, (room) => {
      room.joined.delete(userId);
      room.others?.delete(userId);
      if (membership === 'leave' || membership === 'ban') return;
      if (membership === 'join') room.joined.set(userId, info?.displayName ?? '');
      else (room.others ??= new Map()).set(userId, membership);
    });
  }

  /** Applies a change now and, if a load is in flight, again on top of its snapshot. */
  private change(roomId: string, change: Change): void {
    let room = this.use(roomId);
    if (!room) {
      room = { joined: new Map(), others: null, loaded: false, usedAt: this.now() };
      this.store(roomId, room);
    }
    this.changesWhileLoading.get(roomId)?.push(change);
    change(room);
  }

  joined(roomId: string): string[] {
    const room = this.use(roomId);
    return room ? [...room.joined.keys()] : [];
  }

  joinedCount(roomId: string): number {
    return this.use(roomId)?.joined.size ?? 0;
  }

  isJoined(roomId: string, userId: string): boolean {
    return this.use(roomId)?.joined.has(userId) === true;
  }

  displayName(roomId: string, userId: string): string | undefined {
    return this.use(roomId)?.joined.get(userId) || undefined;
  }

  /** Rooms held now (loaded or partly known from events). */
  roomCount(): number {
    return this.rooms.size;
  }

  /** Forgets the rooms unused for idleMs; also done as rooms are stored, this catches a quiet bridge. */
  sweep(): void {
    this.trim(null);
  }

  /** The room, marked as just used (moved to the most recently used end). */
  private use(roomId: string): Room | undefined {
    const room = this.rooms.get(roomId);
    if (!room) return undefined;
    room.usedAt = this.now();
    if (roomId !== this.newest) {
      this.rooms.delete(roomId);
      this.rooms.set(roomId, room);
      this.newest = roomId;
    }
    return room;
  }

  private store(roomId: string, room: Room): void {
    this.rooms.delete(roomId);
    this.rooms.set(roomId, room);
    this.newest = roomId;
    const oldest = this.rooms.values().next().value!;
    if (this.rooms.size > this.maxRooms || oldest.usedAt <= this.now() - this.idleMs) this.trim(roomId);
  }

  /**
   * Forgets rooms from the least recently used end while over maxRooms or idle. Never the
   * room just stored, nor one whose load is in flight: its snapshot would arrive in an empty
   * slot and the changes made meanwhile would be lost (the bound may then be exceeded for
   * as long as the loads take).
   */
  private trim(keep: string | null): void {
    const cutoff = this.now() - this.idleMs;
    for (const [roomId, room] of this.rooms) {
      if (this.rooms.size <= this.maxRooms && room.usedAt > cutoff) break; // the rest were used later
      if (roomId === keep || this.loading.has(roomId)) continue;
      this.rooms.delete(roomId);
      if (roomId === this.newest) this.newest = null;
    }
  }
}
