import type { Bridge } from 'matrix-appservice-bridge';
import { getLogger } from '../logging.js';

const log = getLogger('PersonaManager');

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

/** The `errcode` of a Matrix error response, however the client library wrapped it. */
export function matrixErrcode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { errcode?: unknown; body?: { errcode?: unknown } };
  if (typeof e.errcode === 'string') return e.errcode;
  if (typeof e.body?.errcode === 'string') return e.body.errcode;
  return undefined;
}

/** A short, human description of a failed homeserver call, for chat answers. */
export function describeMatrixError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { errcode?: unknown; error?: unknown; body?: { errcode?: unknown; error?: unknown }; message?: unknown };
    const code = matrixErrcode(err);
    const text = typeof e.error === 'string' ? e.error : typeof e.body?.error === 'string' ? e.body.error : undefined;
    if (code) return text ? `${code}: ${text}` : code;
    if (typeof e.message === 'string' && e.message) return e.message;
  }
  return String(err);
}

const enc = encodeURIComponent;

/**
 * PersonaMatrix over matrix-appservice-bridge: every call is made as the right user through
 * the appservice token (`user_id` impersonation), with raw endpoints where the bridge's Intent
 * would cache membership or swallow the errors we need to see (registration, joins).
 */
export class PersonaManager implements PersonaMatrix {
  constructor(
    private readonly bridge: Pick<Bridge, 'getIntent'>,
    private readonly botUserId: string,
  ) {}

  private client(userId: string) {
    return this.bridge.getIntent(userId).matrixClient;
  }

  private get bot() {
    return this.client(this.botUserId);
  }

  async register(userId: string): Promise<'created' | 'existed'> {
    // Asking first spares existing personas a failing /register on every start (which the
    // client library logs as an error): the homeserver answers for a masqueraded user only
    // once the appservice has registered it.
    try {
      await this.client(userId).doRequest('GET', '/_matrix/client/v3/account/whoami');
      return 'existed';
    } catch (err) {
      if (matrixErrcode(err) !== 'M_FORBIDDEN') throw err;
    }
    const localpart = userId.slice(1, userId.indexOf(':'));
    try {
      // inhibit_login: we act through the appservice token and need no device or access token.
      await this.bot.doRequest('POST', '/_matrix/client/v3/register', null, {
        type: 'm.login.application_service',
        username: localpart,
        inhibit_login: true,
      });
      log.info(`registered ${userId}`);
      return 'created';
    } catch (err) {
      if (matrixErrcode(err) === 'M_USER_IN_USE') return 'existed';
      throw err;
    }
  }

  async setDisplayName(userId: string, displayname: string | null): Promise<void> {
    // Synapse treats an empty value as "remove".
    await this.client(userId).doRequest('PUT', `/_matrix/client/v3/profile/${enc(userId)}/displayname`, null, {
      displayname: displayname ?? '',
    });
  }

  async setAvatarUrl(userId: string, mxc: string | null): Promise<void> {
    await this.client(userId).doRequest('PUT', `/_matrix/client/v3/profile/${enc(userId)}/avatar_url`, null, { avatar_url: mxc ?? '' });
  }

  uploadImage(data: Buffer, contentType: string, filename: string): Promise<string> {
    return this.bot.uploadContent(data, contentType, filename);
  }

  resolveRoom(roomIdOrAlias: string): Promise<string> {
    return this.bot.resolveRoom(roomIdOrAlias);
  }

  async joinRoom(userId: string, roomId: string): Promise<void> {
    let inviteError: unknown = null;
    try {
      await this.bot.inviteUser(userId, roomId);
    } catch (err) {
      // Expected when the bot is not in the room (a public room the persona can join alone)
      // or the persona is already invited or joined; the join below decides.
      inviteError = err;
    }
    try {
      await this.client(userId).joinRoom(roomId);
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

  async acceptInvite(userId: string, roomId: string): Promise<void> {
    await this.client(userId).joinRoom(roomId);
  }

  async leaveRoom(userId: string, roomId: string): Promise<void> {
    await this.client(userId).leaveRoom(roomId);
  }

  joinedRooms(userId: string): Promise<string[]> {
    return this.client(userId).getJoinedRooms();
  }

  async deactivate(userId: string): Promise<void> {
    // The client adds ?user_id=<persona>; an appservice needs no user-interactive auth for its users.
    await this.client(userId).doRequest('POST', '/_matrix/client/v3/account/deactivate', null, { erase: false });
    log.info(`deactivated ${userId}`);
  }

  createRoom(opts: { name: string; invite: string[]; moderators: string[] }): Promise<string> {
    const users: Record<string, number> = { [this.botUserId]: 100 };
    for (const id of opts.moderators) users[id] = 100;
    return this.bot.createRoom({
      name: opts.name,
      preset: 'private_chat',
      invite: opts.invite,
      power_level_content_override: { users },
    });
  }
}
