import type { AddressInfo } from 'node:net';
import express from 'express';
import type { RoomEvent } from '../matrix/events.js';
import { openDatabase } from '../store/Database.js';
import { PendingEventStore } from '../store/PendingEventStore.js';
import { ProcessedEventStore } from '../store/ProcessedEventStore.js';
import { ReceivedMessages } from '../store/ReceivedMessages.js';
import { TRANSACTION_ROUTE } from './Ingress.js';
import { transactionInbox, type Inbox } from './transactionInbox.js';
import { AnswerTimelines } from '../metrics/AnswerTimeline.js';

const message = (id: string, type = 'm.room.message'): RoomEvent =>
  ({ event_id: id, room_id: '!r:hs', sender: '@a:hs', type, origin_server_ts: 1, content: { msgtype: 'm.text', body: 'hi' } }) as RoomEvent;

async function withApp(inbox: Inbox, fn: (url: string, delivered: unknown[]) => Promise<void>): Promise<void> {
  const app = express();
  app.use(express.json());
  const delivered: unknown[] = [];
  // After the inbox, a stand-in for matrix-appservice's handler, which answers 200.
  app.put(TRANSACTION_ROUTE, transactionInbox(inbox), (req, res) => {
    delivered.push(...(req.body as { events: unknown[] }).events);
    res.json({});
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/_matrix/app/v1/transactions/t1`, delivered);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const put = (url: string, events: RoomEvent[]) =>
  fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });

describe('transaction inbox', () => {
  test('messages are marked processed and stored as pending, in one write, before the transaction is acknowledged; replays and state are not', async () => {
    const db = openDatabase(':memory:');
    const pending = new PendingEventStore(db);
    const processed = new ProcessedEventStore(db);
    const received = new ReceivedMessages(db, processed, pending);
    processed.markProcessed('$old', '!r:hs');
    let whenRecorded: { pending: string[]; processed: boolean[] } | null = null;
    const record: Inbox['record'] = (events) => {
      const fresh = received.receive(events);
      // Committed when record returns: only then does the inbox hand the request on to the handler that answers 200.
      whenRecorded = { pending: pending.list().map((p) => p.event.event_id).sort(), processed: ['$new', '$enc'].map((id) => processed.has(id)) };
      return fresh;
    };
    await withApp({ record }, async (url, delivered) => {
      const res = await put(url, [message('$new'), message('$old'), message('$enc', 'm.room.encrypted'), message('$state', 'm.room.member')]);
      expect(res.status).toBe(200);
      expect(delivered).toHaveLength(4);
    });
    expect(whenRecorded).toEqual({ pending: ['$enc', '$new'], processed: [true, true] });
    // The de-duplication step lets each new one through once, without a write of its own.
    expect(['$new', '$new', '$old', '$enc', '$state'].map((id) => received.takeFresh(id))).toEqual([true, false, false, true, false]);
    pending.done('$new');
    expect(pending.count).toBe(1);
    db.close();
  });

  test('the processed marks and the pending rows are one transaction: when one cannot be written, neither is', () => {
    const db = openDatabase(':memory:');
    const pending = new PendingEventStore(db);
    const processed = new ProcessedEventStore(db);
    const failing = { add: (event: RoomEvent) => (event.event_id === '$b' ? (() => { throw new Error('disk full'); })() : pending.add(event)) };
    const received = new ReceivedMessages(db, processed, failing);
    expect(() => received.receive([message('$a'), message('$b')])).toThrow('disk full');
    expect([processed.has('$a'), processed.has('$b'), pending.count, received.takeFresh('$a')]).toEqual([false, false, 0, false]);
    db.close();
  });

  test('when they cannot be stored the transaction is refused (503), so the homeserver retries it', async () => {
    const inbox: Inbox = {
      record: () => {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      },
    };
    const refused: string[] = [];
    inbox.refused = (events, err) => void refused.push(...events.map((e) => `${e.event_id} ${(err as Error).message}`));
    await withApp(inbox, async (url, delivered) => {
      const res = await put(url, [message('$x')]);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ errcode: 'M_UNKNOWN', error: 'Cannot store events right now; retry later' });
      expect(delivered).toEqual([]);
    });
    expect(refused).toEqual(['$x database or disk is full']);
  });

  test('a recorded message reports the write as working again; a transaction with nothing to record does not', async () => {
    let recorded = 0;
    const inbox: Inbox = { record: (events) => events, recorded: () => void recorded++ };
    await withApp(inbox, async (url) => {
      expect((await put(url, [message('$state', 'm.room.member')])).status).toBe(200);
      expect(recorded).toBe(0);
      expect((await put(url, [message('$y')])).status).toBe(200);
      expect(recorded).toBe(1);
    });
  });

  test("each recorded message's timeline starts at the request and has its parse and pending write; replays get none", async () => {
    const timelines = new AnswerTimelines();
    await withApp({ record: (events) => events.filter((e) => e.event_id !== '$old'), timelines }, async (url) => {
      expect((await put(url, [message('$new'), message('$old'), message('$state', 'm.room.member')])).status).toBe(200);
    });
    const timeline = timelines.take('$new');
    expect([...timeline!.stages().keys()]).toEqual(['auth', 'parse', 'pending']);
    expect(timelines.take('$old')).toBeUndefined();
    expect(timelines.take('$state')).toBeUndefined();
  });
});
