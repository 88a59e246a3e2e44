import type { PersonaMatrix } from '../../src/personas/PersonaManager.js';

/** An error shaped like matrix-bot-sdk's MatrixError (errcode on the error and in its body). */
export function matrixError(errcode: string, error: string, statusCode = 403): Error {
  return Object.assign(new Error(`${errcode}: ${error}`), { errcode, error, statusCode, body: { errcode, error } });
}

export interface FakeRoom {
  name?: string;
  /** Anyone may join without an invite. */
  isPublic: boolean;
  joined: Set<string>;
  invited: Set<string>;
}

type Method = keyof PersonaMatrix;

/**
 * A small model of the homeserver side of the persona lifecycle: registrations (deactivated
 * IDs stay taken, as on Synapse), profiles, rooms with join rules and invites, uploads. Every
 * call is logged; the next call of a method can be made to fail.
 */
export class FakePersonaMatrix implements PersonaMatrix {
  readonly registered = new Set<string>();
  readonly deactivated = new Set<string>();
  readonly profiles = new Map<string, { displayname: string | null; avatarUrl: string | null }>();
  readonly rooms = new Map<string, FakeRoom>();
  readonly aliases = new Map<string, string>();
  readonly uploads: { contentType: string; filename: string; mxc: string }[] = [];
  readonly calls: string[] = [];
  private readonly failures = new Map<Method, Error[]>();
  private roomCounter = 0;

  constructor(readonly botUserId = '@personas:localhost') {
    this.registered.add(botUserId);
  }

  failNext(method: Method, error: Error = matrixError('M_UNKNOWN', `${method} failed`, 500)): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
  }

  /** A room the bot is (or is not) in, optionally public and with an alias. */
  addRoom(opts: { id?: string; alias?: string; isPublic?: boolean; botJoined?: boolean; members?: string[] } = {}): string {
    const id = opts.id ?? `!room${++this.roomCounter}:localhost`;
    const joined = new Set(opts.members ?? []);
    if (opts.botJoined ?? true) joined.add(this.botUserId);
    this.rooms.set(id, { isPublic: opts.isPublic ?? false, joined, invited: new Set() });
    if (opts.alias) this.aliases.set(opts.alias, id);
    return id;
  }

  roomsOf(userId: string): string[] {
    return [...this.rooms].filter(([, r]) => r.joined.has(userId)).map(([id]) => id);
  }

  private enter(method: Method, ...args: unknown[]): void {
    this.calls.push([method, ...args.map((a) => (Buffer.isBuffer(a) ? `<${a.length} bytes>` : String(a)))].join(' '));
    const error = this.failures.get(method)?.shift();
    if (error) throw error;
  }

  private requireUser(userId: string): void {
    if (!this.registered.has(userId)) throw matrixError('M_FORBIDDEN', `Application service has not registered this user (${userId})`);
  }

  private room(roomId: string): FakeRoom {
    const room = this.rooms.get(roomId);
    if (!room) throw matrixError('M_NOT_FOUND', `Unknown room ${roomId}`, 404);
    return room;
  }

  async register(userId: string): Promise<'created' | 'existed'> {
    this.enter('register', userId);
    if (this.registered.has(userId)) return 'existed';
    this.registered.add(userId);
    // Synapse gives new users their localpart as displayname.
    this.profiles.set(userId, { displayname: userId.slice(1, userId.indexOf(':')), avatarUrl: null });
    return 'created';
  }

  async setDisplayName(userId: string, displayname: string | null): Promise<void> {
    this.enter('setDisplayName', userId, displayname);
    this.requireUser(userId);
    const profile = this.profiles.get(userId) ?? { displayname: null, avatarUrl: null };
    this.profiles.set(userId, { ...profile, displayname });
  }

  async setAvatarUrl(userId: string, mxc: string | null): Promise<void> {
    this.enter('setAvatarUrl', userId, mxc);
    this.requireUser(userId);
    const profile = this.profiles.get(userId) ?? { displayname: null, avatarUrl: null };
    this.profiles.set(userId, { ...profile, avatarUrl: mxc });
  }

  async uploadImage(data: Buffer, contentType: string, filename: string): Promise<string> {
    this.enter('uploadImage', data, contentType, filename);
    const mxc = `mxc://localhost/upload${this.uploads.length + 1}`;
    this.uploads.push({ contentType, filename, mxc });
    return mxc;
  }

  async resolveRoom(roomIdOrAlias: string): Promise<string> {
    this.enter('resolveRoom', roomIdOrAlias);
    if (roomIdOrAlias.startsWith('!')) return roomIdOrAlias;
    const id = this.aliases.get(roomIdOrAlias);
    if (!id) throw matrixError('M_NOT_FOUND', `Room alias ${roomIdOrAlias} not found`, 404);
    return id;
  }

  async joinRoom(userId: string, roomId: string): Promise<void> {
    this.enter('joinRoom', userId, roomId);
    this.requireUser(userId);
    const room = this.room(roomId);
    if (room.joined.has(this.botUserId) && !room.joined.has(userId)) room.invited.add(userId);
    if (!room.joined.has(userId) && !room.invited.has(userId) && !room.isPublic) {
      throw new Error(`cannot join ${roomId}: M_FORBIDDEN: You are not invited to this room.`);
    }
    room.invited.delete(userId);
    room.joined.add(userId);
  }

  async acceptInvite(userId: string, roomId: string): Promise<void> {
    this.enter('acceptInvite', userId, roomId);
    this.requireUser(userId);
    const room = this.room(roomId);
    if (!room.invited.has(userId) && !room.joined.has(userId) && !room.isPublic) {
      throw matrixError('M_FORBIDDEN', 'You are not invited to this room.');
    }
    room.invited.delete(userId);
    room.joined.add(userId);
  }

  async leaveRoom(userId: string, roomId: string): Promise<void> {
    this.enter('leaveRoom', userId, roomId);
    this.requireUser(userId);
    const room = this.room(roomId);
    if (!room.joined.has(userId)) throw matrixError('M_FORBIDDEN', 'User is not in the room');
    room.joined.delete(userId);
  }

  async joinedRooms(userId: string): Promise<string[]> {
    this.enter('joinedRooms', userId);
    this.requireUser(userId);
    return this.roomsOf(userId);
  }

  async deactivate(userId: string): Promise<void> {
    this.enter('deactivate', userId);
    this.requireUser(userId);
    this.deactivated.add(userId);
    for (const room of this.rooms.values()) {
      room.joined.delete(userId);
      room.invited.delete(userId);
    }
  }

  async createRoom(opts: { name: string; invite: string[]; moderators: string[] }): Promise<string> {
    this.enter('createRoom', opts.name, opts.invite.join(','));
    const id = this.addRoom();
    const room = this.rooms.get(id)!;
    room.name = opts.name;
    for (const u of opts.invite) room.invited.add(u);
    return id;
  }
}
