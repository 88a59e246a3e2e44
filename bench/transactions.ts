import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import type { RoomEvent } from '../src/matrix/events.js';
import type { BridgeUnderTest } from './BridgeProcess.js';

let eventCounter = 0;
let txnCounter = 0;
const runId = Date.now().toString(36);

/** An m.room.message as a homeserver pushes it; `ageMs` backdates it. */
export function textEvent(roomId: string, sender: string, body: string, ageMs = 0): RoomEvent {
  const ts = Date.now() - ageMs;
  return {
    event_id: `$bench${runId}_${++eventCounter}`,
    room_id: roomId,
    sender,
    type: 'm.room.message',
    origin_server_ts: ts,
    content: { msgtype: 'm.text', body },
    unsigned: { age: ageMs },
  };
}

/**
 * Plain node:http with keep-alive rather than fetch: fetch (undici) leaves about a fifth of
 * what it allocates alive through the next scavenge, and this process's own GC pauses would
 * land in the latencies it measures (10-20 ms scavenges with fetch, under 1 ms without).
 */
const agent = new Agent({ keepAlive: true });

/**
 * PUTs one appservice transaction, as Synapse does, and resolves with the response time
 * (ms). Throws unless the bridge answers 200.
 */
export async function putTransaction(bridge: Pick<BridgeUnderTest, 'url' | 'hsToken'>, events: RoomEvent[]): Promise<number> {
  const txnId = `bench${runId}_${++txnCounter}`;
  const body = JSON.stringify({ events });
  try {
    return await putOnce(bridge, txnId, body);
  } catch (err) {
    // A kept-alive socket the server closed just as it was reused (its keep-alive timeout):
    // sent again with the same txnId, as Synapse retries; the bridge de-duplicates.
    if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
    return putOnce(bridge, txnId, body);
  }
}

function putOnce(bridge: Pick<BridgeUnderTest, 'url' | 'hsToken'>, txnId: string, body: string): Promise<number> {
  const url = new URL(`${bridge.url}/_matrix/app/v1/transactions/${txnId}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      {
        method: 'PUT',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${bridge.hsToken}` },
      },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => {
          const elapsed = performance.now() - started;
          if (res.statusCode === 200) resolve(elapsed);
          else reject(new Error(`transaction ${txnId}: HTTP ${res.statusCode}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sees, from outside the bridge, when events have been fully handled: the conversation
 * recorder writes every message of a room with personas to memory_messages, in each
 * room's order, so the last event of each room being there means the room's events are done.
 * Reads the bridge's database with its own read-only connection (WAL lets it read while the
 * bridge writes).
 */
export class RecordedWatcher {
  private readonly db: BetterSqlite3.Database;
  private readonly lookup: BetterSqlite3.Statement<[string], { n: number }>;

  constructor(databasePath: string) {
    this.db = new BetterSqlite3(databasePath, { readonly: true, fileMustExist: true });
    this.lookup = this.db.prepare('SELECT COUNT(*) AS n FROM memory_messages WHERE event_id = ?');
  }

  isRecorded(eventId: string): boolean {
    return this.lookup.get(eventId)!.n > 0;
  }

  /** Resolves with performance.now() at the first poll that found every event recorded. */
  async waitFor(eventIds: Iterable<string>, timeoutMs = 300_000, pollMs = 5): Promise<number> {
    const pending = new Set(eventIds);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const id of pending) {
        if (!this.isRecorded(id)) break;
        pending.delete(id);
      }
      if (pending.size === 0) return performance.now();
      if (performance.now() > deadline) throw new Error(`${pending.size} event(s) not recorded within ${timeoutMs} ms`);
      await sleep(pollMs);
    }
  }

  close(): void {
    this.db.close();
  }
}
