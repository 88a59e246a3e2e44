import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** A timeline event as /sync returns it, with when this process saw it. */
export interface SyncedEvent {
  event_id: string;
  sender: string;
  type: string;
  origin_server_ts: number;
  state_key?: string;
  content: Record<string, unknown>;
  /** performance.now() when the sync response carrying it arrived. */
  seenAt: number;
}

/**
 * A real user on a real homeserver over the plain client-server API (fetch): sends, and a
 * long-polling /sync loop that notices new events as soon as the server hands them out.
 * Enough for timing a command and its answer, with nothing between us and the homeserver.
 */
export class MatrixUser {
  private readonly timelines = new Map<string, SyncedEvent[]>();
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private since: string | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly baseUrl: string,
    readonly userId: string,
    private readonly accessToken: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.accessToken}`, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: this.abort.signal,
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Does the initial sync, then keeps syncing in the background until stop(). */
  async startSyncing(): Promise<void> {
    await this.syncOnce(0);
    this.loop = (async () => {
      while (!this.abort.signal.aborted) {
        try {
          await this.syncOnce(30_000);
        } catch (err) {
          if (this.abort.signal.aborted) return;
          throw err;
        }
      }
    })();
    this.loop.catch(() => undefined);
  }

  private async syncOnce(timeoutMs: number): Promise<void> {
    const filter = JSON.stringify({ presence: { types: [] }, account_data: { types: [] }, room: { timeline: { limit: 50 } } });
    const qs = new URLSearchParams({ timeout: String(timeoutMs), filter });
    if (this.since) qs.set('since', this.since);
    const res = await this.call<{ next_batch: string; rooms?: { join?: Record<string, { timeline?: { events?: SyncedEvent[] } }> } }>(
      'GET',
      `/_matrix/client/v3/sync?${qs}`,
    );
    const seenAt = performance.now();
    this.since = res.next_batch;
    for (const [roomId, room] of Object.entries(res.rooms?.join ?? {})) {
      const list = this.timelines.get(roomId) ?? [];
      for (const event of room.timeline?.events ?? []) list.push({ ...event, seenAt });
      this.timelines.set(roomId, list);
    }
    for (const waiter of this.waiters) waiter();
  }

  async createRoom(invite: string[]): Promise<string> {
    const res = await this.call<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {
      invite,
      is_direct: true,
      preset: 'trusted_private_chat',
    });
    return res.room_id;
  }

  async sendText(roomId: string, body: string): Promise<string> {
    const txnId = randomBytes(8).toString('hex');
    const res = await this.call<{ event_id: string }>(
      'PUT',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`,
      { msgtype: 'm.text', body },
    );
    return res.event_id;
  }

  async joinRoom(roomId: string): Promise<void> {
    await this.call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
  }

  /** Every event of the room seen so far, oldest first. */
  events(roomId: string): SyncedEvent[] {
    return [...(this.timelines.get(roomId) ?? [])];
  }

  /** The first event in the room (seen already or arriving later) matching the predicate. */
  waitForEvent(roomId: string, predicate: (e: SyncedEvent) => boolean, timeoutMs = 30_000): Promise<SyncedEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.timelines.get(roomId)?.find(predicate);
        if (!found) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.userId}: no matching event in ${roomId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => undefined);
  }
}
