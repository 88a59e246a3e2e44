import { randomBytes } from 'node:crypto';
import type { Db } from '../store/Database.js';
import type { CryptoHttp } from './CryptoHttp.js';

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

  constructor(
    db: Db,
    private readonly http: CryptoHttp,
    private readonly displayName = 'matrix-appservice-personas',
  ) {
    this.get = db.prepare('SELECT device_id FROM crypto_devices WHERE user_id = ?');
    this.insert = db.prepare('INSERT INTO crypto_devices (user_id, device_id, created_at) VALUES (?, ?, ?)');
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
    return deviceId;
  }
}
