import { randomBytes } from 'node:crypto';
import type { Db } from '../store/Database.js';
import { getLogger } from '../logging.js';
import type { CryptoHttp } from './CryptoHttp.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('CryptoDevices');

/** A device ID of ours: recognisable in device lists, unique per user. */
export function newDeviceId(): string {
  return `PERSONAS${randomBytes(5).toString('hex').toUpperCase()}`;
}

/**
 * Each of our users has exactly one device, created once through the appservice (MSC4190:
 * `PUT /devices/{deviceId}` as the user creates it, no login or access token needed) and
 * remembered in the database, so its keys in the crypto store stay valid across restarts.
 */
export class CryptoDevices {
  private readonly get;
  private readonly insert;
  private readonly remove;
  /** Devices created by this process: their stores do not exist yet, and that is fine. */
  private readonly createdNow = new Set<string>();

  constructor(
    db: Db,
    private readonly http: CryptoHttp,
    private readonly displayName = 'matrix-appservice-personas',
  ) {
    this.get = db.prepare('SELECT device_id FROM crypto_devices WHERE user_id = ?');
    this.insert = db.prepare('INSERT INTO crypto_devices (user_id, device_id, created_at) VALUES (?, ?, ?)');
    this.remove = db.prepare('DELETE FROM crypto_devices WHERE user_id = ?');
  }

  /** True when the user's device existed before this process created it (so it should have keys stored). */
  wasUsed(userId: string): boolean {
    return this.known(userId) !== null && !this.createdNow.has(userId);
  }

  /** True when this process created the user's device (new, or replacing a lost one): its keys are not on the homeserver yet. */
  createdByThisProcess(userId: string): boolean {
    return this.createdNow.has(userId);
  }

  /** Deletes the user's device on the homeserver (appservices need no interactive auth) and creates a new one. */
  async replace(userId: string): Promise<string> {
    const old = this.known(userId);
    if (old) {
      await this.http.request(userId, null, 'DELETE', `/_matrix/client/v3/devices/${encodeURIComponent(old)}`, {}).catch((err: unknown) => {
        // Already gone is fine; otherwise a stale device stays in lists (apps encrypt for it in
        // vain), which is no reason to leave the user without a working one.
        if ((err as { statusCode?: number }).statusCode !== 404) log.warn(`${userId}: could not delete old device ${old}: ${describeError(err)}`);
      });
      this.remove.run(userId);
    }
    return this.deviceFor(userId);
  }

  known(userId: string): string | null {
    return (this.get.get(userId) as { device_id: string } | undefined)?.device_id ?? null;
  }

  async deviceFor(userId: string): Promise<string> {
    const known = this.known(userId);
    if (known) return known;
    const deviceId = newDeviceId();
    await this.http.request(userId, null, 'PUT', `/_matrix/client/v3/devices/${encodeURIComponent(deviceId)}`, { display_name: this.displayName });
    this.insert.run(userId, deviceId, Date.now());
    this.createdNow.add(userId);
    return deviceId;
  }
}
