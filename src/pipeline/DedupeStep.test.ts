import type { RoomEvent } from '../matrix/events.js';
import { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import { MEMORY_WRITE_FAILED_NOTICE } from '../reply/messages.js';
import { DedupeStep } from './DedupeStep.js';

const message = (id: string): RoomEvent =>
  ({ event_id: id, room_id: '!r:hs', sender: '@u:hs', type: 'm.room.message', origin_server_ts: 1, content: { msgtype: 'm.text', body: 'hi' } }) as RoomEvent;

/** A processed-events store whose writes fail (disk full) while `full`, reads always working. */
function store(seen: string[] = []) {
  const ids = new Set(seen);
  const s = {
    full: false,
    markProcessed: (id: string) => {
      if (s.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      if (ids.has(id)) return false;
      ids.add(id);
      return true;
    },
    has: (id: string) => ids.has(id),
  };
  return s;
}

describe('DedupeStep', () => {
  test('a message marked processed as it was received goes on once, without a write; a replay of it stops', async () => {
    const processed = store(['$received']);
    let writes = 0;
    const counting = { markProcessed: (id: string) => (writes++, processed.markProcessed(id)), has: processed.has };
    const fresh = new Set(['$received']);
    const step = new DedupeStep(counting, undefined, { takeFresh: (id) => fresh.delete(id) });
    expect(await step.handle(message('$received'))).toBe('continue');
    expect(writes).toBe(0);
    expect(await step.handle(message('$received'))).toBe('stop');
  });

  test('new events continue, replays stop', async () => {
    const step = new DedupeStep(store(['$old']));
    expect(await step.handle(message('$new'))).toBe('continue');
    expect(await step.handle(message('$new'))).toBe('stop');
    expect(await step.handle(message('$old'))).toBe('stop');
  });

  test('a mark committed later (GroupCommit): the step waits for it; a commit that fails is a failed write', async () => {
    const processed = store(['$old']);
    const later = { markProcessed: async (id: string) => processed.markProcessed(id), has: processed.has };
    const notices: string[] = [];
    const step = new DedupeStep(later, new MemoryWriteGuard({ notify: async (roomId, text) => void notices.push(`${roomId} ${text}`) }));
    expect(await step.handle(message('$new'))).toBe('continue');
    expect(await step.handle(message('$new'))).toBe('stop');
    processed.full = true;
    expect(await step.handle(message('$old'))).toBe('stop');
    expect(await step.handle(message('$a'))).toBe('continue');
    expect(notices).toEqual([`!r:hs ${MEMORY_WRITE_FAILED_NOTICE}`]);
    // Without a guard, a failed commit stops the event (unsure whether it is new).
    expect(await new DedupeStep(later).handle(message('$b'))).toBe('stop');
  });

  test('a failed write (disk filled after the transaction was recorded): the room is told once and new messages are still answered', async () => {
    const processed = store(['$old']);
    const notices: string[] = [];
    const step = new DedupeStep(processed, new MemoryWriteGuard({ notify: async (roomId, text) => void notices.push(`${roomId} ${text}`) }));
    processed.full = true;
    expect(await step.handle(message('$a'))).toBe('continue');
    expect(await step.handle(message('$b'))).toBe('continue');
    // Seen before: still a replay, whatever the write did.
    expect(await step.handle(message('$old'))).toBe('stop');
    expect(notices).toEqual([`!r:hs ${MEMORY_WRITE_FAILED_NOTICE}`]);
  });

  test('without a guard a failed write skips the event (nothing to tell the room with)', async () => {
    const processed = store();
    processed.full = true;
    expect(await new DedupeStep(processed).handle(message('$a'))).toBe('stop');
  });
});
