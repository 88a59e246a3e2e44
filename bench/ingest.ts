import { performance } from 'node:perf_hooks';
import type { RoomEvent } from '../src/matrix/events.js';
import type { BridgeUnderTest } from './BridgeProcess.js';
import { summarize, type Summary } from './stats.js';
import { putTransaction, textEvent, type RecordedWatcher } from './transactions.js';
import { chatText, prng, type BenchRoom, type World } from './world.js';

export const EVENTS_PER_TRANSACTION = 100;

export interface LoadRoomsResult {
  rooms: number;
  seconds: number;
}

/**
 * Makes every room of the world known to the bridge the way production does: a message
 * arrives, the recorder loads the room's members (joined_members through a persona) and
 * remembers the message. The messages are an hour old, as after downtime, so the DMs among
 * them trigger no replies.
 */
export async function loadAllRooms(bridge: BridgeUnderTest, world: World, watcher: RecordedWatcher): Promise<LoadRoomsResult> {
  const random = prng(7);
  const started = performance.now();
  const last = new Map<string, string>();
  for (let i = 0; i < world.rooms.length; i += EVENTS_PER_TRANSACTION) {
    const events = world.rooms.slice(i, i + EVENTS_PER_TRANSACTION).map((room) => {
      const event = textEvent(room.roomId, room.humans[0]!, chatText(random), 3600_000);
      last.set(room.roomId, event.event_id);
      return event;
    });
    await putTransaction(bridge, events);
    // Like Synapse's backlog after downtime, but without flooding the bridge with 10,000
    // concurrent member loads: wait for each batch.
    await watcher.waitFor(events.map((e) => e.event_id));
  }
  return { rooms: world.rooms.length, seconds: (performance.now() - started) / 1000 };
}

export interface IngestResult {
  transactions: number;
  events: number;
  rooms: number;
  /** Events per second from the first transaction sent to the last event handled. */
  eventsPerSecond: number;
  /** Events per second the bridge accepted transactions at (it answers before handling). */
  acceptedEventsPerSecond: number;
  /** How long after the last transaction was answered the last event was handled (s). */
  drainSeconds: number;
  seconds: number;
  /** The bridge's CPU time for the measured events, per 1,000 (ms): work, whatever the machine's load. */
  cpuMsPerThousandEvents: number;
  transactionMs: Summary;
}

/**
 * Transactions of 100 messages from people in group rooms, nobody mentioned: every event
 * goes through the whole pipeline (de-duplication, membership, recorder, dispatcher) and
 * none is answered. Sent one at a time, as Synapse sends an appservice's transactions.
 */
export async function runIngest(
  bridge: BridgeUnderTest,
  world: World,
  watcher: RecordedWatcher,
  opts: { transactions: number; warmupTransactions: number },
): Promise<IngestResult> {
  const random = prng(11);
  const rooms = world.ingestRooms;
  let cursor = 0;
  const batch = (): RoomEvent[] =>
    Array.from({ length: EVENTS_PER_TRANSACTION }, () => {
      const room: BenchRoom = rooms[cursor++ % rooms.length]!;
      const sender = room.humans[cursor % room.humans.length]!;
      return textEvent(room.roomId, sender, chatText(random));
    });

  // Warm-up: JIT, connection pools, SQLite page cache; not measured.
  for (let i = 0; i < opts.warmupTransactions; i++) {
    const events = batch();
    await putTransaction(bridge, events);
    await watcher.waitFor([events.at(-1)!.event_id]);
  }
  const warm = batch();
  await putTransaction(bridge, warm);
  await watcher.waitFor(lastPerRoom(warm).values());

  const times: number[] = [];
  const last = new Map<string, string>();
  const started = performance.now();
  const cpuBefore = bridge.cpuSeconds();
  for (let i = 0; i < opts.transactions; i++) {
    const events = batch();
    times.push(await putTransaction(bridge, events));
    for (const [roomId, eventId] of lastPerRoom(events)) last.set(roomId, eventId);
  }
  const accepted = performance.now();
  const done = await watcher.waitFor(last.values(), 600_000, 2);
  const cpuSeconds = bridge.cpuSeconds() - cpuBefore;
  const events = opts.transactions * EVENTS_PER_TRANSACTION;
  const seconds = (done - started) / 1000;
  return {
    transactions: opts.transactions,
    events,
    rooms: rooms.length,
    eventsPerSecond: events / seconds,
    acceptedEventsPerSecond: events / ((accepted - started) / 1000),
    drainSeconds: (done - accepted) / 1000,
    seconds,
    cpuMsPerThousandEvents: (cpuSeconds * 1000 * 1000) / events,
    transactionMs: summarize(times),
  };
}

function lastPerRoom(events: RoomEvent[]): Map<string, string> {
  const last = new Map<string, string>();
  for (const e of events) last.set(e.room_id, e.event_id);
  return last;
}
