import { createHash, randomBytes } from 'node:crypto';
import type { Bridge } from 'matrix-appservice-bridge';
import { getLogger } from '../logging.js';
import { downloadMedia, type DownloadedMedia } from '../media/mediaDownload.js';
import { matrixErrcode } from './errors.js';
import { RecoveryWatch } from './recoveryWatch.js';
import { describeSendFailure, isHomeserverUnreachable, SEND_RETRY_DELAYS_MS, withRetries } from './sendRetry.js';
import { wellFormed } from './wellFormed.js';

const log = getLogger('MatrixGateway');
const enc = encodeURIComponent;

/** Joined members of a room as `/joined_members` lists them. */
export type JoinedMembers = Map<string, { displayName?: string }>;

/**
 * Turns a room event into what goes on the wire: in an encrypted room an m.room.encrypted
 * content (src/crypto); null sends the event as it is.
 */
export type RoomEventEncryptor = (userId: string, roomId: string, type: string, content: Record<string, unknown>) => Promise<Record<string, unknown> | null>;
/** Settles when the user may join the room (end-to-end encryption: once its device can be sent room keys). */
export type JoinGate = (userId: string, roomId: string) => Promise<void>;

/**
 * The query parameters that make an appservice request act as one device of a user (MSC3202
 * device masquerading: `device_id`, `org.matrix.msc3202.device_id` before it was stable).
 * `user_id` is given even for the appservice's own sender: Synapse 1.160 answers 500 to a
 * `device_id` without `user_id` (it looks the device up with the sender as an object).
 */
export function deviceQuery(userId: string, deviceId: string | null): Record<string, string> {
  return deviceId ? { user_id: userId, device_id: deviceId, 'org.matrix.msc3202.device_id': deviceId } : {};
}

export interface CreateRoomOptions {
  name: string;
  preset?: 'private_chat' | 'public_chat' | 'trusted_private_chat';
  invite?: string[];
  /** Users given power level 100 besides the creator. */
  moderators?: string[];
  isDirect?: boolean;
}

/**
 * Every client-server call the bridge makes, as any of its users (the bot or a persona):
 * the appservice token with `user_id` impersonation. The one module that touches the
 * Matrix client library; everything else depends on the small interfaces it satisfies, so
 * it can be faked in unit tests and swapped for another library in one place.
 *
 * Raw endpoints are used where the library's Intent would cache membership or swallow the
 * errors callers need to see (registration, joins, profiles).
 */
export interface MatrixGatewayOptions {
  /** Waits before each retry of a send the homeserver could not take (default SEND_RETRY_DELAYS_MS). */
  sendRetryDelaysMs?: readonly number[];
  /** Waits between retries; by default a wait that ends early once the homeserver answers again. */
  sleep?: (ms: number) => Promise<void>;
  /** While sends wait to be retried, the homeserver is asked this often whether it is back (default 1 s). */
  recoveryProbeEveryMs?: number;
  /** A send was dropped: the homeserver stayed unreachable through every retry (metrics). */
  onSendDropped?: () => void;
}

export class MatrixGateway {
  private txnCounter = 0;
  /** Sends not yet answered by the homeserver (a shutdown waits for them). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly instance = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  private encryptor: RoomEventEncryptor | null = null;
  private joinGate: JoinGate | null = null;
  /** Retried sends go out as soon as the homeserver is back, not up to 30 s later. */
  private readonly recovery: RecoveryWatch;

  constructor(
    private readonly bridge: Pick<Bridge, 'getIntent'>,
    /** The appservice bot: who creates rooms, invites and uploads when no one else is named. */
    readonly botUserId: string,
    private readonly opts: MatrixGatewayOptions = {},
  ) {
    this.recovery = new RecoveryWatch({ probe: () => this.probeHomeserver(), probeEveryMs: opts.recoveryProbeEveryMs ?? 1_000 });
  }

  /** Resolves once the homeserver answers anything of its own (its unauthenticated /versions). */
  private async probeHomeserver(): Promise<void> {
    try {
      await this.client(this.botUserId).doRequest('GET', '/_matrix/client/versions');
    } catch (err) {
      if (isHomeserverUnreachable(err)) throw err;
    }
  }

  /** The library's client for the user: only for its helpers (join, invite, upload, ...). */
  private client(userId: string) {
    return this.bridge.getIntent(userId).matrixClient;
  }

  /**
   * Requests as `userId` through the appservice's own client, the user named by `user_id` in
   * the query (appservice identity assertion), rather than through a client of the user's
   * own: the library keeps one (with its caches, ~10 KB) per user for up to an hour, ~10 MB
   * with a thousand personas answering and loading rooms, for nothing we use (issue #18).
   */
  private as(userId: string): { doRequest(method: string, path: string, qs?: Record<string, string | number> | null, body?: unknown): Promise<unknown> } {
    const client = this.client(this.botUserId);
    return { doRequest: (method, path, qs, body) => client.doRequest(method, path, { ...qs, user_id: userId }, body) as Promise<unknown> };
  }

  /**
   * Transaction ids unique across all our users. Synapse de-duplicates appservice sends by
   * (appservice, txnId) without the user_id, and the client library numbers txnIds per
   * client, so two personas replying in the same millisecond could otherwise have the second
   * reply silently swallowed.
   */
  private nextTxnId(): string {
    return `personas.${this.instance}.${(++this.txnCounter).toString(36)}`;
  }

  /** Requests that change something (sends, typing, receipts) still in flight. */
  get sending(): number {
    return this.inFlight.size;
  }

  /** Resolves once no send is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private tracked<T>(request: Promise<T>): Promise<T> {
    this.inFlight.add(request);
    const done = (): void => void this.inFlight.delete(request);
    request.then(done, done);
    return request;
  }

  // --- Sending ------------------------------------------------------------------------------

  /** From now on every room event sent goes through it (end-to-end encryption). */
  setEncryptor(encryptor: RoomEventEncryptor | null): void {
    this.encryptor = encryptor;
  }

  /** From now on every join waits for it first (end-to-end encryption: the joining user's device). */
  setJoinGate(gate: JoinGate | null): void {
    this.joinGate = gate;
  }

  /**
   * Sends any room event (a message, an `m.replace` edit, a reaction); returns its event id.
   * In an encrypted room (with encryption on) it goes out as m.room.encrypted.
   * With an `idempotencyKey` the transaction id is derived from it, so sending the same key
   * again (an answer resumed after a crash that had already sent it) is de-duplicated by the
   * homeserver, which returns the first event's id instead of posting a second.
   */
  async sendEvent(userId: string, roomId: string, type: string, content: Record<string, unknown>, idempotencyKey?: string): Promise<string> {
    const txnId = idempotencyKey === undefined ? this.nextTxnId() : keyedTxnId(idempotencyKey);
    // Every message, edit, reaction and notice passes here: a lone surrogate (model output)
    // would make the homeserver refuse the whole event.
    content = wellFormed(content);
    // Encrypted once, inside the retries: encrypting can need the homeserver too (device
    // lists, one-time keys, the room key for new devices), and a retry after it worked sends
    // the same ciphertext again under the same txnId.
    let wire: { type: string; content: Record<string, unknown> } | null = null;
    const sendOnce = async (): Promise<{ event_id: string }> => {
      wire ??= await this.onTheWire(userId, roomId, type, content);
      const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(wire.type)}/${enc(txnId)}`;
      return (await this.as(userId).doRequest('PUT', path, null, wire.content)) as { event_id: string };
    };
    // The same txnId on every attempt: the homeserver de-duplicates by it, so an attempt that
    // reached it but whose answer was lost is not posted twice.
    const send = withRetries(sendOnce, {
      delaysMs: this.opts.sendRetryDelaysMs ?? SEND_RETRY_DELAYS_MS,
      retryable: isHomeserverUnreachable,
      sleep: this.opts.sleep ?? ((ms) => this.recovery.wait(ms)),
      onRetry: (err, attempt, delayMs) =>
        log.warn(`sending ${type} to ${roomId} as ${userId} failed (attempt ${attempt}: ${describeSendFailure(err)}); retrying in ${delayMs} ms`),
      onGiveUp: (err, attempts) => {
        log.error(
          `dropped ${type} to ${roomId} as ${userId} (txn ${txnId}): homeserver unreachable through ${attempts} attempts: ${describeSendFailure(err)}`,
          err instanceof Error ? { error: err } : {},
        );
        this.opts.onSendDropped?.();
      },
    });
    const res = await this.tracked(send);
    return res.event_id;
  }

  /** The event as it goes out: m.room.encrypted in an encrypted room (with encryption on), else as it is. */
  private async onTheWire(userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<{ type: string; content: Record<string, unknown> }> {
    const encrypted = this.encryptor ? await this.encryptor(userId, roomId, type, content) : null;
    return encrypted ? { type: 'm.room.encrypted', content: encrypted } : { type, content };
  }

  /** An `m.notice` (what bots and error messages speak in), with optional HTML. */
  sendNotice(userId: string, roomId: string, body: string, html?: string): Promise<string> {
    const content: Record<string, unknown> = { msgtype: 'm.notice', body };
    if (html) Object.assign(content, { format: 'org.matrix.custom.html', formatted_body: html });
    return this.sendEvent(userId, roomId, 'm.room.message', content);
  }

  /** Redacts an event; returns the redaction's event id. */
  async redact(userId: string, roomId: string, eventId: string, reason?: string): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(this.nextTxnId())}`;
    const res = (await this.tracked(this.as(userId).doRequest('PUT', path, null, reason ? { reason: wellFormed(reason) } : {}))) as { event_id: string };
    return res.event_id;
  }

  /** Typing notification on (expiring after `timeoutMs` unless refreshed) or off. */
  async setTyping(userId: string, roomId: string, typing: boolean, timeoutMs = 30_000): Promise<void> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(userId)}`;
    await this.tracked(this.as(userId).doRequest('PUT', path, null, typing ? { typing, timeout: timeoutMs } : { typing }));
  }

  /** An (unthreaded) read receipt: everything up to the event counts as read. */
  async sendReadReceipt(userId: string, roomId: string, eventId: string): Promise<void> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`;
    await this.tracked(this.as(userId).doRequest('POST', path, null, {}));
  }

  /**
   * A request as one device of one of our users (end-to-end encryption: key uploads, queries
   * and claims, to-device messages, device creation); `deviceId` null acts as the user only.
   */
  async deviceRequest(userId: string, deviceId: string | null, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const request = this.as(userId).doRequest(method, path, deviceQuery(userId, deviceId), body ?? null);
    return method === 'GET' ? request : this.tracked(request);
  }

  // --- Reading ------------------------------------------------------------------------------

  /** One event of a room, as `asUser` (who must be able to see it). */
  /** One page of the room's history, newest first (`/messages?dir=b`), as a member of the room. */
  async messagesBackward(asUser: string, roomId: string, from: string | null, limit: number): Promise<{ chunk: unknown[]; end: string | null }> {
    const qs: Record<string, string | number> = { dir: 'b', limit };
    if (from) qs.from = from;
    const res = (await this.as(asUser).doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, qs)) as {
      chunk?: unknown[];
      end?: string;
    };
    return { chunk: Array.isArray(res.chunk) ? res.chunk : [], end: typeof res.end === 'string' ? res.end : null };
  }

  async getEvent(asUser: string, roomId: string, eventId: string): Promise<Record<string, unknown>> {
    return (await this.as(asUser).doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`)) as Record<
      string,
      unknown
    >;
  }

  /** A state event's content, asked as `asUser`; throws M_NOT_FOUND when the room has none. */
  async getState(asUser: string, roomId: string, type: string, stateKey: string): Promise<Record<string, unknown>> {
    return (await this.as(asUser).doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`)) as Record<
      string,
      unknown
    >;
  }

  /** Sets a state event as `asUser` (the room's power levels decide whether it may); returns its event id. */
  async putState(asUser: string, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`;
    const res = (await this.tracked(this.as(asUser).doRequest('PUT', path, null, wellFormed(content)))) as { event_id: string };
    return res.event_id;
  }

  /** The room's joined members, asked as `asUser` (the homeserver refuses anyone not in the room). */
  async joinedMembers(asUser: string, roomId: string): Promise<JoinedMembers> {
    const res = (await this.as(asUser).doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`)) as {
      joined?: Record<string, { display_name?: string }>;
    };
    const out: JoinedMembers = new Map();
    for (const [id, info] of Object.entries(res.joined ?? {})) out.set(id, info.display_name ? { displayName: info.display_name } : {});
    return out;
  }

  /** Rooms the homeserver says the user is joined to. */
  joinedRooms(userId: string): Promise<string[]> {
    return this.client(userId).getJoinedRooms();
  }

  /**
   * The appservice ping (Matrix v1.7): the homeserver calls our /_matrix/app/v1/ping, and when
   * that works it retries at once the transactions it holds for us instead of waiting out its
   * backoff (Synapse: up to 512 s). Used when we refused transactions and can take them again.
   */
  async pingAppservice(appserviceId: string): Promise<void> {
    await this.as(this.botUserId).doRequest('POST', `/_matrix/client/v1/appservice/${enc(appserviceId)}/ping`, null, {
      transaction_id: this.nextTxnId(),
    });
  }

  /** A room ID as is, an alias through the room directory. */
  resolveRoom(roomIdOrAlias: string): Promise<string> {
    return this.client(this.botUserId).resolveRoom(roomIdOrAlias);
  }

  // --- Accounts and profiles ------------------------------------------------------------------

  /** Registers a user of our namespace; 'existed' when the homeserver already had it. */
  async register(userId: string): Promise<'created' | 'existed'> {
    // Asking first spares existing users a failing /register on every start (which the
    // client library logs as an error): the homeserver answers for a masqueraded user only
    // once the appservice has registered it. Not for the bot: whoami always answers for the
    // appservice's sender, registered or not (and its profile needs the registration).
    if (userId !== this.botUserId) {
      try {
        await this.as(userId).doRequest('GET', '/_matrix/client/v3/account/whoami');
        return 'existed';
      } catch (err) {
        if (matrixErrcode(err) !== 'M_FORBIDDEN') throw err;
      }
    }
    const localpart = userId.slice(1, userId.indexOf(':'));
    try {
      // inhibit_login: we act through the appservice token and need no device or access token.
      await this.as(this.botUserId).doRequest('POST', '/_matrix/client/v3/register', null, {
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

  /** The user's global displayname, or null when unset or unreadable. */
  async getDisplayName(userId: string): Promise<string | null> {
    try {
      const res = (await this.as(userId).doRequest('GET', `/_matrix/client/v3/profile/${enc(userId)}/displayname`)) as {
        displayname?: unknown;
      };
      return typeof res.displayname === 'string' ? res.displayname : null;
    } catch {
      return null;
    }
  }

  /** null clears the displayname (Synapse treats an empty value as "remove"). */
  async setDisplayName(userId: string, displayname: string | null): Promise<void> {
    await this.as(userId).doRequest('PUT', `/_matrix/client/v3/profile/${enc(userId)}/displayname`, null, {
      displayname: wellFormed(displayname ?? ''),
    });
  }

  async setAvatarUrl(userId: string, mxc: string | null): Promise<void> {
    await this.as(userId).doRequest('PUT', `/_matrix/client/v3/profile/${enc(userId)}/avatar_url`, null, { avatar_url: mxc ?? '' });
  }

  /** Deactivates the account (no user-interactive auth for appservice users). Irreversible. */
  async deactivate(userId: string): Promise<void> {
    // The client adds ?user_id=<user>; an appservice needs no user-interactive auth for its users.
    await this.as(userId).doRequest('POST', '/_matrix/client/v3/account/deactivate', null, { erase: false });
    log.info(`deactivated ${userId}`);
  }

  // --- Rooms --------------------------------------------------------------------------------

  async invite(asUser: string, userId: string, roomId: string): Promise<void> {
    await this.client(asUser).inviteUser(userId, roomId);
  }

  /** Joins the room (or accepts an invite to it). */
  /** Joins as the user, once the join gate (if any) lets it: every join of our users comes here. */
  async join(userId: string, roomId: string): Promise<void> {
    await this.joinGate?.(userId, roomId);
    await this.client(userId).joinRoom(roomId);
  }

  async leave(userId: string, roomId: string): Promise<void> {
    await this.client(userId).leaveRoom(roomId);
  }

  /** Creates a room as `asUser`, who gets power level 100 with `moderators`. */
  createRoom(asUser: string, opts: CreateRoomOptions): Promise<string> {
    const users: Record<string, number> = { [asUser]: 100 };
    for (const id of opts.moderators ?? []) users[id] = 100;
    return this.client(asUser).createRoom({
      name: opts.name,
      preset: opts.preset ?? 'private_chat',
      invite: opts.invite ?? [],
      ...(opts.isDirect ? { is_direct: true } : {}),
      power_level_content_override: { users },
    });
  }

  // --- Media --------------------------------------------------------------------------------

  /** Uploads to the media repository as `asUser` (the bot by default); returns the mxc:// URI. */
  uploadContent(data: Buffer, contentType: string, filename: string, asUser: string = this.botUserId): Promise<string> {
    return this.client(asUser).uploadContent(data, contentType, filename);
  }

  /**
   * Downloads an mxc:// URI as the appservice, at most `maxBytes` (refused before and while
   * reading): message attachments and imports alike (src/media/mediaDownload.ts). Throws
   * MediaDownloadError saying what failed.
   */
  downloadMedia(mxc: string, maxBytes: number, timeoutMs: number): Promise<DownloadedMedia> {
    const client = this.client(this.botUserId);
    return downloadMedia(mxc, { homeserverUrl: client.homeserverUrl, accessToken: client.accessToken, maxBytes, timeoutMs });
  }

  /** Downloads an mxc:// URI (authenticated media) as `asUser`. */
  async downloadContent(mxc: string, asUser: string = this.botUserId): Promise<{ data: Buffer; contentType: string }> {
    return this.client(asUser).downloadContent(mxc);
  }
}

/** A transaction id from a caller's key: stable across processes, unique per key (and so per persona). */
function keyedTxnId(key: string): string {
  return `personas.k.${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`;
}
