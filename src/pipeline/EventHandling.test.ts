import type { RoomEvent } from '../matrix/events.js';
import { inboundEvents } from '../../tests/support/inbound.js';
import { EventHandling, type LibraryRequest } from './EventHandling.js';
import { EventPipeline } from './EventPipeline.js';
import type { InboundEvent } from './InboundEvent.js';
import { RoomQueue } from './RoomQueue.js';

const NOW = 1_000_000;
const message = (id: string, ts = NOW): RoomEvent => ({
  event_id: id,
  room_id: '!r:localhost',
  sender: '@alice:localhost',
  type: 'm.room.message',
  origin_server_ts: ts,
  content: { msgtype: 'm.text', body: `hello ${id}` },
});

/** The handling with an in-memory pending store, a pipeline recording what it ran, and an answer queue. */
function setup(queuedAnswers: string[] = []) {
  const pending = new Map<string, RoomEvent>();
  const ran: string[] = [];
  const forgotten: string[] = [];
  const missed: string[] = [];
  const queue = new RoomQueue();
  const events = new EventHandling({
    queue,
    pending: { list: () => [...pending.values()].map((event) => ({ event })), done: (id) => void pending.delete(id) },
    commitLater: async (write) => write(),
    received: { resume: (id) => void forgotten.push(id) },
    timelines: { lap: () => undefined, close: () => undefined },
    maxEventAgeMs: 60_000,
    now: () => NOW,
  });
  const pipeline = new EventPipeline([{ name: 'recorder', handle: (e) => void ran.push(e.event_id) }], { inbound: inboundEvents() });
  events.serve({
    pipeline,
    inbound: inboundEvents(),
    answers: {
      hasQueued: (id) => queuedAnswers.includes(id),
      noticeMissed: async (inbound: InboundEvent) => void missed.push(inbound.event.event_id),
    },
  });
  /** Hands an event over as the library does; resolves once the library's request is resolved. */
  const deliver = (data: unknown) =>
    new Promise<void>((resolve) => {
      const request: LibraryRequest = { getData: () => data, resolve: () => resolve() };
      events.onEvent(request);
    });
  /** Lets the settling writes (promises) run. */
  const settled = async () => {
    await queue.idle();
    await new Promise((r) => setImmediate(r));
  };
  return { events, pending, ran, forgotten, missed, deliver, settled };
}

describe('EventHandling', () => {
  test('an event runs through the pipeline and, with no answer queued, is no longer pending', async () => {
    const t = setup();
    t.pending.set('$a', message('$a'));
    await t.deliver(message('$a'));
    await t.settled();
    expect(t.ran).toEqual(['$a']);
    expect(t.pending.has('$a')).toBe(false);
  });

  test('an event with answers queued stays pending: the dispatcher settles it when they are written', async () => {
    const t = setup(['$a']);
    t.pending.set('$a', message('$a'));
    await t.deliver(message('$a'));
    await t.settled();
    expect(t.ran).toEqual(['$a']);
    expect(t.pending.has('$a')).toBe(true);
    t.events.settle('$a');
    await t.settled();
    expect(t.pending.has('$a')).toBe(false);
  });

  test('a malformed event is settled without reaching the pipeline, and the library hears back', async () => {
    const t = setup();
    t.pending.set('$bad', message('$bad'));
    await t.deliver({ event_id: '$bad', type: 42 });
    await t.settled();
    expect(t.ran).toEqual([]);
    expect(t.pending.has('$bad')).toBe(false);
  });

  test('after stop, events are left pending for the next start', async () => {
    const t = setup();
    t.pending.set('$late', message('$late'));
    t.events.stop();
    await t.deliver(message('$late'));
    await t.settled();
    expect(t.ran).toEqual([]);
    expect(t.pending.has('$late')).toBe(true);
  });

  test('resuming: a recent message runs again past de-duplication; an old one gets the missed notice; both settle', async () => {
    const t = setup();
    t.pending.set('$recent', message('$recent', NOW - 1_000));
    t.pending.set('$old', message('$old', NOW - 120_000));
    t.events.holdPending();
    // Held until the bridge is ready; a message delivered meanwhile queues behind the resumed one.
    const later = t.deliver(message('$later'));
    await t.events.resumePending();
    await later;
    await t.settled();
    expect(t.ran).toEqual(['$recent', '$later']);
    expect(t.forgotten).toEqual(['$recent']);
    expect(t.missed).toEqual(['$old']);
    expect(t.pending.size).toBe(0);
  });
});
