import type { RoomEvent } from '../matrix/events.js';
import { openDatabase } from './Database.js';
import { PendingEventStore } from './PendingEventStore.js';
import { ProcessedEventStore } from './ProcessedEventStore.js';
import { ReceivedMessages } from './ReceivedMessages.js';

const message = (id: string): RoomEvent =>
  ({ event_id: id, room_id: '!r:hs', sender: '@u:hs', type: 'm.room.message', origin_server_ts: 1, content: { msgtype: 'm.text', body: 'hi' } }) as RoomEvent;

describe('ReceivedMessages', () => {
  test('a message resumed from the last process passes de-duplication once, and its redelivery is still a duplicate', () => {
    const db = openDatabase(':memory:');
    const processed = new ProcessedEventStore(db);
    const pending = new PendingEventStore(db);
    // What the last process received and left pending.
    expect(new ReceivedMessages(db, processed, pending).receive([message('$left')]).map((e) => e.event_id)).toEqual(['$left']);

    const received = new ReceivedMessages(db, processed, pending);
    expect(received.takeFresh('$left')).toBe(false);
    received.resume('$left');
    // The homeserver redelivering it meanwhile: seen before, not received again.
    expect(received.receive([message('$left')])).toEqual([]);
    expect(received.takeFresh('$left')).toBe(true);
    expect(received.takeFresh('$left')).toBe(false);
    expect(processed.has('$left')).toBe(true);
    expect(pending.count).toBe(1);
    db.close();
  });
});
