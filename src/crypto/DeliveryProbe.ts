import { randomBytes } from 'node:crypto';
import { getLogger } from '../logging.js';
import type { CryptoHttp } from './CryptoHttp.js';
import { describeError, describeErrorWithStack } from '../util/describeError.js';

const log = getLogger('DeliveryProbe');

/** The to-device event type the bridge sends its own new devices to see that delivery works. */
export const DELIVERY_PROBE_TYPE = 'org.matrix.personas.delivery_probe';

export interface DeliveryProbeDeps {
  http: CryptoHttp;
  /**
   * Asks the homeserver to retry its unsent transactions now (the appservice ping), which ends
   * its recovery mode at once instead of after its backoff (2 s doubling up to 8.5 min).
   */
  ping?: () => Promise<void>;
  /** How long the first probe is waited for before pinging and probing again (later ones: longer). */
  attemptMs?: number;
  /** How long probing goes on before the device is used anyway (a warning is logged). */
  giveUpMs?: number;
  /** How long a confirmed delivery (to any of our devices) counts for devices that already had keys (see confirmLive). */
  recentMs?: number;
}

/**
 * Confirms that the homeserver delivers to-device messages to one of our devices live, before
 * that device's keys are uploaded (announced).
 *
 * Why: once a transaction to us fails (a restart: the old process is gone or stopping), Synapse
 * marks the appservice down and, until its recoverer has redelivered the stored transactions,
 * it *drops* to-device messages: a transaction made while down is stored with its room events
 * only, and one with no events is not made at all (synapse/appservice/scheduler.py and
 * `get_oldest_unsent_txn`: "to-device messages ... are not yet populated for catch-up
 * transactions"). A client that sees a new device encrypts the room key for it in a to-device
 * message; sent in that window it is lost for good and the device can never read the session.
 * A probe sent to the device itself and received back proves the window is over.
 */
export class DeliveryProbe {
  /** Probe nonces sent and not back yet → what to call when one arrives. */
  private readonly waiting = new Map<string, () => void>();
  /** Wakes every probe under way (stop). */
  private readonly sleepers = new Set<() => void>();
  private stopped = false;
  /** When a probe (to any device) last came back. */
  private lastConfirmed = 0;
  /** A probe under way for confirmLive, shared by the devices asking meanwhile. */
  private live: Promise<boolean> | null = null;

  constructor(private readonly deps: DeliveryProbeDeps) {}

  /**
   * For a device whose keys are already on the homeserver (opened again after a start): true
   * once the homeserver is known to deliver to-device messages to us live. Whether it does is
   * a property of the appservice, not of one device (Synapse drops them for the whole
   * appservice while recovering from a failed push), so a probe that came back recently, or
   * one under way for another device, answers for this one too.
   */
  confirmLive(userId: string, deviceId: string): Promise<boolean> {
    if (Date.now() - this.lastConfirmed < (this.deps.recentMs ?? 60_000)) return Promise.resolve(true);
    this.live ??= this.confirm(userId, deviceId).finally(() => (this.live = null));
    return this.live;
  }

  /**
   * True once a probe sent to the device came back in a transaction; false when none did in
   * time (or probing stopped). Each probe not back within the attempt's wait is followed by a
   * ping and another probe, the waits doubling (attemptMs, then 2x, up to 8x); every probe sent
   * counts when it arrives, however late: a busy homeserver (or bridge) can take seconds per
   * transaction, and giving up on a probe only to send another adds to them.
   */
  async confirm(userId: string, deviceId: string): Promise<boolean> {
    const attemptMs = this.deps.attemptMs ?? 1_000;
    const deadline = Date.now() + (this.deps.giveUpMs ?? 30_000);
    const nonces: string[] = [];
    let arrived = false;
    let wake = (): void => undefined;
    const onArrival = (): void => {
      arrived = true;
      wake();
    };
    try {
      for (let attempt = 1; !this.stopped; attempt++) {
        await this.ping(userId);
        if (arrived || this.stopped) break;
        const nonce = randomBytes(8).toString('hex');
        nonces.push(nonce);
        this.waiting.set(nonce, onArrival);
        try {
          const path = `/_matrix/client/v3/sendToDevice/${encodeURIComponent(DELIVERY_PROBE_TYPE)}/${nonce}`;
          await this.deps.http.request(userId, null, 'PUT', path, { messages: { [userId]: { [deviceId]: { nonce } } } });
        } catch (err) {
          log.warn(`${userId}: sending a delivery probe to device ${deviceId} failed: ${describeErrorWithStack(err)}`);
        }
        const waitMs = Math.min(attemptMs * 2 ** Math.min(attempt - 1, 3), Math.max(0, deadline - Date.now()));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, waitMs);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          wake = done;
          this.sleepers.add(done);
          if (arrived || this.stopped) done();
        }).finally(() => this.sleepers.delete(wake));
        if (arrived) {
          if (attempt > 1) log.info(`${userId}: to-device delivery to device ${deviceId} confirmed after ${attempt} probes`);
          break;
        }
        if (Date.now() >= deadline) {
          log.warn(`${userId}: no delivery probe reached device ${deviceId} in time; using it anyway (room keys sent to it now may be lost)`);
          return false;
        }
      }
    } finally {
      for (const nonce of nonces) this.waiting.delete(nonce);
    }
    if (arrived) this.lastConfirmed = Date.now();
    return arrived;
  }

  /** Ends every probe under way (they answer false, unless one had arrived) and starts no more: the bridge is stopping. */
  stop(): void {
    this.stopped = true;
    for (const wakeUp of [...this.sleepers]) wakeUp();
  }

  /** True when the to-device message is one of our probes (it is then consumed here). */
  take(message: { type: string; content?: unknown }): boolean {
    if (message.type !== DELIVERY_PROBE_TYPE) return false;
    const nonce = (message.content as { nonce?: unknown } | undefined)?.nonce;
    if (typeof nonce === 'string') this.waiting.get(nonce)?.();
    return true;
  }

  private async ping(userId: string): Promise<void> {
    try {
      await this.deps.ping?.();
    } catch (err) {
      log.debug(`${userId}: appservice ping failed: ${describeError(err)}`);
    }
  }
}
