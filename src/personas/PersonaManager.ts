import { describeMatrixError } from '../matrix/errors.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';

/** The homeserver side of the persona lifecycle; faked in unit tests. */
export interface PersonaMatrix {
  /** Registers the user in our namespace; 'existed' when the homeserver already had it. */
  register(userId: string): Promise<'created' | 'existed'>;
  /** null clears the field. */
  setDisplayName(userId: string, displayname: string | null): Promise<void>;
  setAvatarUrl(userId: string, mxc: string | null): Promise<void>;
  /** Uploads to the media repo as the bot; returns the mxc:// URI. */
  uploadImage(data: Buffer, contentType: string, filename: string): Promise<string>;
  /** A room ID as is, an alias through the room directory. */
  resolveRoom(roomIdOrAlias: string): Promise<string>;
  /** Gets the user into the room: the bot invites it (when it can), then it joins. */
  joinRoom(userId: string, roomId: string): Promise<void>;
  /** Joins a room the user was invited to. */
  acceptInvite(userId: string, roomId: string): Promise<void>;
  leaveRoom(userId: string, roomId: string): Promise<void>;
  /** Rooms the homeserver says the user is joined to. */
  joinedRooms(userId: string): Promise<string[]>;
  /** Deactivates the account (no user-interactive auth for appservice users). Irreversible. */
  deactivate(userId: string): Promise<void>;
  /** Creates a private room as the bot, inviting `invite`; `moderators` get power level 100. */
  createRoom(opts: { name: string; invite: string[]; moderators: string[] }): Promise<string>;
}

/** The gateway calls the persona lifecycle makes. */
export type PersonaGateway = Pick<
  MatrixGateway,
  'botUserId' | 'register' | 'setDisplayName' | 'setAvatarUrl' | 'uploadContent' | 'resolveRoom' | 'invite' | 'join' | 'leave' | 'joinedRooms' | 'deactivate' | 'createRoom'
>;

/** PersonaMatrix over the Matrix gateway: the persona's side of each call, with the bot's help where needed. */
export class PersonaManager implements PersonaMatrix {
  constructor(private readonly matrix: PersonaGateway) {}

  register(userId: string): Promise<'created' | 'existed'> {
    return this.matrix.register(userId);
  }

  setDisplayName(userId: string, displayname: string | null): Promise<void> {
    return this.matrix.setDisplayName(userId, displayname);
  }

  setAvatarUrl(userId: string, mxc: string | null): Promise<void> {
    return this.matrix.setAvatarUrl(userId, mxc);
  }

  uploadImage(data: Buffer, contentType: string, filename: string): Promise<string> {
    return this.matrix.uploadContent(data, contentType, filename);
  }

  resolveRoom(roomIdOrAlias: string): Promise<string> {
    return this.matrix.resolveRoom(roomIdOrAlias);
  }

  async joinRoom(userId: string, roomId: string): Promise<void> {
    let inviteError: unknown = null;
    try {
      await this.matrix.invite(this.matrix.botUserId, userId, roomId);
    } catch (err) {
      // Expected when the bot is not in the room (a public room the persona can join alone)
      // or the persona is already invited or joined; the join below decides.
      inviteError = err;
    }
    try {
      await this.matrix.join(userId, roomId);
    } catch (err) {
      // The client's join strategy already retried through a bot invite, so the two errors are
      // often the same; say it once.
      const why = describeMatrixError(err).replace(/\.$/, '');
      const inviteWhy = inviteError ? describeMatrixError(inviteError).replace(/\.$/, '') : null;
      const also = inviteWhy && inviteWhy !== why ? `; the bot could not invite it either (${inviteWhy})` : '';
      const hint = inviteError ? '. Invite the bot (or the persona) to the room first' : '';
      throw new Error(`cannot join ${roomId}: ${why}${also}${hint}`, { cause: err });
    }
  }

  acceptInvite(userId: string, roomId: string): Promise<void> {
    return this.matrix.join(userId, roomId);
  }

  leaveRoom(userId: string, roomId: string): Promise<void> {
    return this.matrix.leave(userId, roomId);
  }

  joinedRooms(userId: string): Promise<string[]> {
    return this.matrix.joinedRooms(userId);
  }

  deactivate(userId: string): Promise<void> {
    return this.matrix.deactivate(userId);
  }

  createRoom(opts: { name: string; invite: string[]; moderators: string[] }): Promise<string> {
    return this.matrix.createRoom(this.matrix.botUserId, { name: opts.name, preset: 'private_chat', invite: opts.invite, moderators: opts.moderators });
  }
}
