import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RoomEvent } from '../src/matrix/events.js';
import type { BridgeUnderTest } from './BridgeProcess.js';
import { putTransaction, textEvent, type RecordedWatcher } from './transactions.js';
import { chatText, prng, type World } from './world.js';

export interface BurstOptions {
  transactions: number;
  eventsPerTransaction: number;
}

export interface BurstResult {
  transactions: number;
  eventsPerTransaction: number;
  rooms: number;
  /** First transaction sent to the last event handled (s); null when the bridge died. */
  seconds: number | null;
  /** The bridge's CPU time for the burst (s). */
  cpuSeconds: number;
  /** The bridge's highest RSS so far (VmHWM), read after the burst. */
  peakRss: number;
  /** RSS after the burst, once idle again. */
  afterRss: number | null;
  /** Null when the bridge survived; how it ended and its last log lines otherwise. */
  crash: { how: string; logTail: string } | null;
}

/**
 * The largest legitimate burst: transactions of 10,000 events each (Synapse's backlog after
 * downtime, or a bridge far behind), spread over every room of the world, so each event
 * opens a room queue and rooms forgotten meanwhile load their members again. Sent one at a
 * time, as Synapse does. The point is that the heap caps leave room for it: the bridge must
 * not exit out of memory. The messages are an hour old, so nobody answers them.
 */
export async function runBurst(bridge: BridgeUnderTest, world: World, watcher: RecordedWatcher, opts: BurstOptions): Promise<BurstResult> {
  const random = prng(13);
  const rooms = world.rooms;
  let cursor = 0;
  const last = new Map<string, string>();
  const started = performance.now();
  const cpuBefore = bridge.cpuSeconds();
  const result = (seconds: number | null, crash: BurstResult['crash']): BurstResult => ({
    transactions: opts.transactions,
    eventsPerTransaction: opts.eventsPerTransaction,
    rooms: Math.min(rooms.length, opts.transactions * opts.eventsPerTransaction),
    seconds,
    cpuSeconds: bridge.cpuSeconds() - cpuBefore,
    peakRss: bridge.peakRssBytes(),
    afterRss: null,
    crash,
  });
  try {
    for (let t = 0; t < opts.transactions; t++) {
      const events: RoomEvent[] = Array.from({ length: opts.eventsPerTransaction }, () => {
        const room = rooms[cursor++ % rooms.length]!;
        return textEvent(room.roomId, room.humans[cursor % room.humans.length]!, chatText(random), 3600_000);
      });
      for (const e of events) last.set(e.room_id, e.event_id);
      await putTransaction(bridge, events);
    }
    // In slices, so that a bridge that died is noticed at once rather than after the timeout.
    for (const deadline = performance.now() + 600_000; ; ) {
      try {
        await watcher.waitFor(last.values(), 2000, 20);
        break;
      } catch (err) {
        if (bridge.exited() || performance.now() > deadline) throw err;
      }
    }
  } catch (err) {
    // A refused connection may come before the exit is reported.
    for (let i = 0; i < 40 && !bridge.exited(); i++) await sleep(50);
    const how = bridge.exited();
    if (how) return result(null, { how, logTail: bridge.logTail(15) });
    throw err;
  }
  return result((performance.now() - started) / 1000, null);
}
