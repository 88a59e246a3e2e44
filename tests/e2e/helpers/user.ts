// A real Matrix user for e2e tests: registered on the test Synapse through the shared-secret
// admin API, driven by matrix-js-sdk (the client real people's apps are built on).
import { randomBytes } from 'node:crypto';
import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';
import type { RoomEvent } from '../../../src/matrix/events.js';
import { registerUser } from '../../harness/synapse.js';
import { readState } from './state.js';

// matrix-js-sdk logs every sync step at debug level through per-module loglevel children,
// which drowns test output; its root logger's level does not reach the children, so debug
// output is muted at the console for e2e runs (our own logs go through winston at info+).
(sdkLogger as unknown as { setLevel?: (level: string) => void }).setLevel?.('warn');
console.debug = () => undefined;
// Its Rust crypto logs every key-sharing step at info level through console.info directly.
console.info = () => undefined;

// Every fresh account's first sync makes matrix-js-sdk warn once per default push rule that
// Synapse's ruleset lacks (a dozen lines per test user, with stacks under jest). Expected and
// harmless for test accounts, so each client gets a logger that drops exactly those lines and
// everything below warn, and passes every other warning and error through.
const PUSH_RULE_NOISE = /^(Adding|Missing) default global \w+ push rule /;
function quietSdkLogger(prefix = ''): Logger {
  const tagged = (msg: unknown[]): unknown[] => (prefix ? [prefix, ...msg] : msg);
  const mute = (): void => undefined;
  return {
    trace: mute,
    debug: mute,
    info: mute,
    warn: (...msg: unknown[]) => {
      if (typeof msg[0] === 'string' && PUSH_RULE_NOISE.test(msg[0])) return;
      console.warn(...tagged(msg));
    },
    error: (...msg: unknown[]) => console.error(...tagged(msg)),
    getChild: (namespace: string) => quietSdkLogger(prefix + namespace),
  };
}

/** A timeline event as plain JSON, the way the homeserver sent it (the bridge's own event shape). */
export type RawEvent = RoomEvent & {
  content: RoomEvent['content'] & { body?: string; msgtype?: string; formatted_body?: string };
};

export interface TestUser {
  userId: string;
  localpart: string;
  accessToken: string;
  client: sdk.MatrixClient;
  /** `encrypted` puts m.room.encryption (Megolm) in the room's initial state, as Element does for DMs. */
  createRoom(opts?: { invite?: string[]; isDirect?: boolean; name?: string; encrypted?: boolean }): Promise<string>;
  /** Creates a direct chat with `userId` (a persona or the bot) and waits until it has joined. */
  openDm(userId: string): Promise<string>;
  join(roomIdOrAlias: string): Promise<string>;
  sendText(roomId: string, body: string, extra?: Record<string, unknown>): Promise<string>;
  sendContent(roomId: string, content: Record<string, unknown>, type?: string): Promise<string>;
  /** Events seen so far in the room (from sync), oldest first. */
  events(roomId: string): RawEvent[];
  /** Resolves with the first event (already seen or arriving later) matching the predicate. */
  waitForEvent(roomId: string, predicate: (e: RawEvent) => boolean, timeoutMs?: number, what?: string): Promise<RawEvent>;
  waitForMessage(roomId: string, predicate: (e: RawEvent) => boolean, timeoutMs?: number, what?: string): Promise<RawEvent>;
  /** Waits until the user is joined to the room per the room state we have synced. */
  waitForMembership(roomId: string, userId: string, membership: string, timeoutMs?: number): Promise<void>;
  stop(): void;
}

export const DEFAULT_WAIT_MS = 30_000;

export function uniqueLocalpart(prefix = 'user'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Registers a user and starts a syncing client; invites are accepted automatically. */
/**
 * `crypto: true` gives the client matrix-js-sdk's Rust crypto (the WebAssembly build Element
 * Web uses), in memory: it encrypts what it sends to encrypted rooms and decrypts what it
 * receives there; `events()` then holds the decrypted events.
 */
export async function newUser(opts: { localpart?: string; autoJoin?: boolean; crypto?: boolean } = {}): Promise<TestUser> {
  const state = readState();
  const localpart = opts.localpart ?? uniqueLocalpart();
  const password = `pw-${localpart}`;
  const reg = await registerUser(state.synapse, localpart, password);
  const client = sdk.createClient({
    baseUrl: state.synapse.baseUrl,
    accessToken: reg.accessToken,
    userId: reg.userId,
    deviceId: reg.deviceId,
    logger: quietSdkLogger(),
  });
  const timelines = new Map<string, RawEvent[]>();
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((w) => w());

  const record = (event: sdk.MatrixEvent): void => {
    // Encrypted events are recorded once decrypted (or once decryption failed), below.
    if (opts.crypto && (event.isBeingDecrypted() || event.shouldAttemptDecryption())) return;
    const raw = event.getEffectiveEvent() as unknown as RawEvent;
    // Our own messages first appear as local echoes with temporary ids; they are recorded
    // when the server's id arrives (LocalEchoUpdated), since the timeline event is reused.
    if (!raw.event_id?.startsWith('$') || !raw.room_id) return;
    const list = timelines.get(raw.room_id) ?? [];
    if (!list.some((e) => e.event_id === raw.event_id)) list.push(raw);
    timelines.set(raw.room_id, list);
    notify();
  };
  client.on(sdk.RoomEvent.Timeline, record);
  client.on(sdk.RoomEvent.LocalEchoUpdated, record);
  client.on(sdk.MatrixEventEvent.Decrypted, (event: sdk.MatrixEvent) => {
    // Replace the ciphertext version recorded before (if any) with what it decrypted to.
    const raw = event.getEffectiveEvent() as unknown as RawEvent;
    const list = timelines.get(raw.room_id ?? '');
    if (list) {
      const i = list.findIndex((e) => e.event_id === raw.event_id);
      if (i >= 0) list.splice(i, 1);
    }
    record(event);
  });
  client.on(sdk.RoomStateEvent.Members, () => notify());
  if (opts.autoJoin ?? true) {
    client.on(sdk.RoomEvent.MyMembership, (room: sdk.Room, membership: string) => {
      if (membership === 'invite') client.joinRoom(room.roomId).catch(() => undefined);
    });
  }
  const prepared = new Promise<void>((resolve, reject) => {
    client.on(sdk.ClientEvent.Sync, (syncState: sdk.SyncState) => {
      if (syncState === sdk.SyncState.Prepared) resolve();
      if (syncState === sdk.SyncState.Error) reject(new Error(`sync failed for ${reg.userId}`));
    });
  });
  if (opts.crypto) await client.initRustCrypto({ useIndexedDB: false });
  await client.startClient({ initialSyncLimit: 20 });
  await prepared;

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const attempt = (): boolean => {
        const found = check();
        if (found === undefined) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${reg.userId} timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter = (): void => void attempt();
      waiters.add(waiter);
      attempt();
    });

  const user: TestUser = {
    userId: reg.userId,
    localpart,
    accessToken: reg.accessToken,
    client,
    async createRoom({ invite = [], isDirect = false, name, encrypted = false } = {}) {
      const res = await client.createRoom({
        invite,
        is_direct: isDirect,
        preset: isDirect ? sdk.Preset.TrustedPrivateChat : sdk.Preset.PrivateChat,
        ...(name ? { name } : {}),
        ...(encrypted ? { initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] } : {}),
      });
      // Until its state has synced the client does not know the room is encrypted and would
      // send in the clear.
      if (encrypted) {
        await waitFor(() => (client.getRoom(res.room_id)?.hasEncryptionStateEvent() ? true : undefined), DEFAULT_WAIT_MS, `encryption state of ${res.room_id}`);
      }
      return res.room_id;
    },
    async openDm(userId) {
      const roomId = await user.createRoom({ invite: [userId], isDirect: true });
      await user.waitForMembership(roomId, userId, 'join');
      return roomId;
    },
    async join(roomIdOrAlias) {
      return (await client.joinRoom(roomIdOrAlias)).roomId;
    },
    async sendText(roomId, body, extra = {}) {
      return user.sendContent(roomId, { msgtype: 'm.text', body, ...extra });
    },
    async sendContent(roomId, content, type = 'm.room.message') {
      const res = await client.sendEvent(roomId, type as keyof sdk.TimelineEvents, content as never);
      return res.event_id;
    },
    events: (roomId) => [...(timelines.get(roomId) ?? [])],
    waitForEvent(roomId, predicate, timeoutMs = DEFAULT_WAIT_MS, what = 'a matching event') {
      return waitFor(() => timelines.get(roomId)?.find(predicate), timeoutMs, `${what} in ${roomId}`);
    },
    waitForMessage(roomId, predicate, timeoutMs = DEFAULT_WAIT_MS, what = 'a matching message') {
      return user.waitForEvent(roomId, (e) => e.type === 'm.room.message' && predicate(e), timeoutMs, what);
    },
    async waitForMembership(roomId, userId, membership, timeoutMs = DEFAULT_WAIT_MS) {
      await waitFor(
        () => (client.getRoom(roomId)?.getMember(userId)?.membership === membership ? true : undefined),
        timeoutMs,
        `${userId} to be '${membership}' in ${roomId}`,
      );
    },
    stop: () => client.stopClient(),
  };
  return user;
}
