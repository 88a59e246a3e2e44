import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('JoinGate');

/** How long a join waits at most for the joining user's device (the delivery probe gives up after 30 s). */
export const DEFAULT_JOIN_WAIT_MS = 40_000;

/** What can be told of a room's encryption before joining it. */
export type JoinEncryption = 'encrypted' | 'plain' | 'unknown';

/**
 * Reads the stripped state an invite carries (`unsigned.invite_room_state`: Synapse includes
 * m.room.encryption by default, `room_prejoin_state`, also in appservice transactions).
 * 'unknown' when the invite carries none (the homeserver was configured not to send it).
 */
export function inviteEncryption(invite: RoomEvent): JoinEncryption {
  const state = invite.unsigned?.invite_room_state;
  if (!Array.isArray(state)) return 'unknown';
  const encrypted = state.some((e: unknown) => {
    const s = e as { type?: unknown; state_key?: unknown; content?: { algorithm?: unknown } } | null;
    return s?.type === 'm.room.encryption' && (s.state_key ?? '') === '' && typeof s.content?.algorithm === 'string';
  });
  return encrypted ? 'encrypted' : 'plain';
}

export interface JoinGateDeps {
  /** True when the room is already known to be encrypted. */
  knownEncrypted(roomId: string): boolean;
  /** What the user's invite to the room said (inviteEncryption), when one was seen. */
  invited(userId: string, roomId: string): JoinEncryption | undefined;
  /**
   * The room's encryption from its state, read by one of our users who can (a join without an
   * invite: the bot in the room); 'unknown' when none can.
   */
  readState?(roomId: string): Promise<JoinEncryption>;
  /** Settles once room keys sent to the user's device will reach it (BridgeCrypto.reachable). */
  reachable(userId: string): Promise<void>;
  /** The bound on the wait (DEFAULT_JOIN_WAIT_MS). */
  waitMs?: number;
}

/**
 * Holds one of our users' joins of an encrypted room until its device can be sent room keys.
 *
 * Why: a client encrypts each message for the devices the room's members have *when it sends*.
 * A persona that joins before its device's keys are on the homeserver (a new device's keys wait
 * for the delivery probe) is seen without a device; a client that sends the moment it sees the
 * join shares that message's key with nobody on our side, and it stays unreadable (issue 29).
 * Joining only once the keys are visible and to-device delivery is live closes that window.
 *
 * What waits: a room known to be encrypted, an invite whose stripped state has
 * m.room.encryption, and anything that cannot be told (no stripped state, a join without an
 * invite whose room state nobody of ours can read): DMs are encrypted by default in Element and
 * most clients, and the wait costs at most a probe round trip for a device opened just now,
 * nothing for one already confirmed. An invite whose stripped state shows no encryption joins
 * at once. The wait is bounded (a device that never becomes reachable still joins, logged).
 * Every join of our users passes here (MatrixGateway.join): invites accepted on the room's
 * event queue, spawns and joins on the command queue; never on the transaction path, as the
 * probe it may wait for arrives in a later transaction.
 */
export class JoinGate {
  constructor(private readonly deps: JoinGateDeps) {}

  async beforeJoin(userId: string, roomId: string): Promise<void> {
    const encryption = await this.encryption(userId, roomId);
    if (encryption === 'plain') return;
    const waitMs = this.deps.waitMs ?? DEFAULT_JOIN_WAIT_MS;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.deps.reachable(userId).then(
        () => 'ready' as const,
        (err: unknown) => {
          log.warn(`${userId}: no crypto device to join ${roomId} with: ${describeError(err)}`);
          return 'failed' as const;
        },
      ),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs))),
    ]);
    clearTimeout(timer);
    const waited = Date.now() - started;
    if (outcome === 'timeout') {
      log.warn(`${userId} joins ${roomId} (${encryption}) although its device is not reachable after ${waited} ms: messages sent to it before it is may stay unreadable`);
    } else if (outcome === 'ready' && waited >= 100) {
      log.info(`${userId} joins ${roomId} (${encryption}) after waiting ${waited} ms for its device's keys and delivery`);
    }
  }

  private async encryption(userId: string, roomId: string): Promise<JoinEncryption> {
    if (this.deps.knownEncrypted(roomId)) return 'encrypted';
    const invited = this.deps.invited(userId, roomId);
    if (invited) return invited;
    if (!this.deps.readState) return 'unknown';
    return this.deps.readState(roomId).catch(() => 'unknown' as const);
  }
}
