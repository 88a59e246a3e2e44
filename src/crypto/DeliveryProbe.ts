import { randomBytes } from 'node:crypto';
import { getLogger } from '../logging.js';
import type { CryptoHttp } from './CryptoHttp.js';

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
  /** How long one probe is waited for before pinging and probing again. */
  attemptMs?: number;
  /** How long probing goes on before the device is used anyway (a warning is logged). */
  giveUpMs?: number;
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
  private readonly waiting = new Map<string, () => void>();

  constructor(private readonly deps: DeliveryProbeDeps) {}

  /** True once a probe sent to the device came back in a transaction; false when it never did. */
  async confirm(userId: string, deviceId: string): Promise<boolean> {
    const attemptMs = this.deps.attemptMs ?? 1_000;
    const deadline = Date.now() + (this.deps.giveUpMs ?? 30_000);
    for (let attempt = 1; ; attempt++) {
      await this.ping(userId);
      const nonce = randomBytes(8).toString('hex');
      const arrived = this.arrival(nonce, Math.min(attemptMs, Math.max(0, deadline - Date.now())));
      try {
        const path = `/_matrix/client/v3/sendToDevice/${encodeURIComponent(DELIVERY_PROBE_TYPE)}/${nonce}`;
        await this.deps.http.request(userId, null, 'PUT', path, { messages: { [userId]: { [deviceId]: { nonce } } } });
      } catch (err) {
        log.warn(`${userId}: sending a delivery probe to device ${deviceId} failed: ${(err as Error)?.stack ?? String(err)}`);
      }
      if (await arrived) {
        if (attempt > 1) log.info(`${userId}: to-device delivery to device ${deviceId} confirmed after ${attempt} probes`);
        return true;
      }
      if (Date.now() >= deadline) {
        log.warn(`${userId}: no delivery probe reached device ${deviceId} in time; using it anyway (room keys sent to it now may be lost)`);
        return false;
      }
    }
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
      log.debug(`${userId}: appservice ping failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  private arrival(nonce: string, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiting.delete(nonce);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiting.set(nonce, () => done(true));
    });
  }
}
