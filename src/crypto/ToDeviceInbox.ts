import { randomBytes } from 'node:crypto';
import type { CryptoHttp } from './CryptoHttp.js';
import { DELIVERY_PROBE_TYPE } from './DeliveryProbe.js';

/**
 * Everything but to-device messages left out of the sync (no rooms, presence or account data),
 * in a filter of its own for every request. Synapse keeps each non-empty /sync response for
 * 2 minutes (`caches.sync_response_cache_duration`) and answers a request with the same user,
 * device, `since`, `timeout` and filter text from it: the first read after each start (no
 * `since`) got the response of the read of an earlier start, without the room keys written
 * since, for 2 minutes (e2ee.test.ts, "a room key sent while the bridge is down", under load).
 * Filter fields it does not know are allowed (forward compatibility) and ignored.
 */
function toDeviceOnlyFilter(): string {
  return JSON.stringify({
    room: { rooms: [] },
    presence: { not_types: ['*'] },
    account_data: { not_types: ['*'] },
    'org.matrix.personas.request': randomBytes(8).toString('hex'),
  });
}

/** Synapse returns at most 100 to-device messages per sync. */
const MAX_PAGES = 5;

/**
 * Reads one of our devices' to-device inbox on the homeserver the way a client does: `/sync`
 * as that device (MSC3202 device masquerading), with a filter that leaves only the to-device
 * messages.
 *
 * Why: Synapse keeps every to-device message for a device in its inbox until that device syncs
 * past it, but what it *pushes* to an appservice can skip messages. (1) While it counts the
 * appservice as down it drops them from transactions. (2) When two to-device sends complete out
 * of order, each notification covers the stream up to the last position with nothing still
 * being written but lists only its own recipients, and the appservice's position moves past the
 * other's message: measured in e2eeFirstMessage.test.ts, a client's room key (stream id 57)
 * sent while four of our delivery probes (54-56, 58) were being written never came in any
 * transaction, nor did two of those probes (synapse/handlers/appservice.py
 * `_get_to_device_messages`, deviceinbox.py `add_local_messages_from_client_to_device_inbox`).
 * A message whose room key is missing is therefore looked for here before it counts as
 * unreadable. Our delivery probes found here are left out: only a probe that came in a
 * transaction proves that pushing works.
 */
export class ToDeviceInbox {
  /** Each device's sync position: syncing from it tells the homeserver to delete what came before. */
  private readonly since = new Map<string, string>();

  constructor(private readonly http: CryptoHttp) {}

  /** The to-device messages waiting in the device's inbox (some may already have come in transactions). */
  async fetch(userId: string, deviceId: string): Promise<Record<string, unknown>[]> {
    const key = `${userId}|${deviceId}`;
    const messages: Record<string, unknown>[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = new URLSearchParams({ filter: toDeviceOnlyFilter(), timeout: '0' });
      const since = this.since.get(key);
      if (since) params.set('since', since);
      const res = (await this.http.request(userId, deviceId, 'GET', `/_matrix/client/v3/sync?${params.toString()}`)) as {
        next_batch?: unknown;
        to_device?: { events?: unknown };
      } | null;
      if (typeof res?.next_batch === 'string') this.since.set(key, res.next_batch);
      const events = Array.isArray(res?.to_device?.events) ? (res.to_device.events as unknown[]) : [];
      for (const e of events) {
        if (typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string' && (e as { type: string }).type !== DELIVERY_PROBE_TYPE) {
          messages.push(e as Record<string, unknown>);
        }
      }
      // A full page may have more behind it; the next sync (from next_batch) gets them.
      if (events.length < 100 || typeof res?.next_batch !== 'string') break;
    }
    return messages;
  }
}
