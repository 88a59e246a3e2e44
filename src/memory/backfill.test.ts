import type { RoomEvent } from '../matrix/events.js';
import { openDatabase } from '../store/Database.js';
import { fetchHistorySince, hasForgetHorizon, storeBackfill, type RoomHistory } from './backfill.js';
import { MemoryStore } from './MemoryStore.js';

const ROOM = '!room:hs';
const text = (id: string, ts: number, body: string, sender = '@bob:hs'): RoomEvent => ({
  event_id: `$${id}`,
  room_id: ROOM,
  sender,
  type: 'm.room.message',
  origin_server_ts: ts,
  content: { msgtype: 'm.text', body },
});

/** A homeserver's /messages over a fixed timeline (oldest first), paged newest first. */
function historyOf(timeline: RoomEvent[]): RoomHistory & { pages: number } {
  const h = {
    pages: 0,
    async page(_roomId: string, from: string | null, limit: number) {
      h.pages++;
      const end = from === null ? timeline.length : Number(from);
      const start = Math.max(0, end - limit);
      return { events: timeline.slice(start, end).reverse(), end: start > 0 ? String(start) : null };
    },
  };
  return h;
}

function bodies(db: ReturnType<typeof openDatabase>): string[] {
  return (db.prepare('SELECT body FROM memory_messages WHERE room_id = ? ORDER BY id').all(ROOM) as { body: string }[]).map((r) => r.body);
}

describe('backfill', () => {
  test('walks back page by page until the start time, returning oldest first', async () => {
    const timeline = Array.from({ length: 250 }, (_, i) => text(`e${i}`, 1000 + i, `m${i}`));
    const history = historyOf(timeline);
    const events = await fetchHistorySince(history, ROOM, 1000 + 20);
    expect(events.map((e) => e.content.body)).toEqual(timeline.slice(20).map((e) => e.content.body));
    expect(history.pages).toBe(3);
  });

  test('fills the gap in time order, applies edits, is idempotent, and moves summaries with their rows', () => {
    const db = openDatabase(':memory:');
    const memory = new MemoryStore(db);
    // Memory has m0, m1 and m4 (the bridge was down for m2 and m3), and a chapter over m0..m1.
    for (const [id, ts, body] of [['e0', 1, 'm0'], ['e1', 2, 'm1'], ['e4', 5, 'm4']] as const) {
      memory.record({ roomId: ROOM, eventId: `$${id}`, sender: '@bob:hs', displayName: 'Bob', msgtype: 'm.text', body, ts, threadRoot: null, fromPersona: false });
    }
    const scope = { personaId: '@persona_a:hs', roomId: ROOM, threadRoot: null };
    const [m0, m1] = memory.recent(scope, 10);
    expect(memory.addChapter(scope, { firstMessageId: m0!.id, lastMessageId: m1!.id, messageCount: 2, summary: 'hello' })).toBe(true);

    const edit: RoomEvent = {
      ...text('e5', 6, '* m3 edited', '@persona_a:hs'),
      content: { msgtype: 'm.text', body: '* m3 edited', 'm.new_content': { msgtype: 'm.text', body: 'm3 edited' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$e3' } },
    };
    const history = [text('e0', 1, 'm0'), text('e1', 2, 'm1'), text('e2', 3, 'm2'), text('e3', 4, 'm3', '@persona_a:hs'), text('e4', 5, 'm4'), edit];
    const result = storeBackfill(db, ROOM, history, { isPersona: (u) => u.startsWith('@persona_'), keep: () => true });
    expect(result).toEqual({ inserted: 2, edited: 1, renumbered: true });
    expect(bodies(db)).toEqual(['m0', 'm1', 'm2', 'm3 edited', 'm4']);
    expect(memory.byEventId('$e3')!.fromPersona).toBe(true);
    // The chapter still covers m0..m1, so the unsummarised part is m2..m4 in order.
    expect(memory.recent(scope, 10).map((m) => m.body)).toEqual(['m2', 'm3 edited', 'm4']);

    expect(storeBackfill(db, ROOM, history, { isPersona: () => false, keep: () => true })).toEqual({ inserted: 0, edited: 1, renumbered: false });
    expect(bodies(db)).toEqual(['m0', 'm1', 'm2', 'm3 edited', 'm4']);
  });

  test('other rooms keep their ids', () => {
    const db = openDatabase(':memory:');
    const memory = new MemoryStore(db);
    memory.record({ roomId: ROOM, eventId: '$a', sender: '@b:hs', displayName: null, msgtype: 'm.text', body: 'late', ts: 10, threadRoot: null, fromPersona: false });
    memory.record({ roomId: '!other:hs', eventId: '$o', sender: '@b:hs', displayName: null, msgtype: 'm.text', body: 'other', ts: 1, threadRoot: null, fromPersona: false });
    const before = memory.byEventId('$o')!.id;
    storeBackfill(db, ROOM, [text('early', 5, 'early'), text('cmd', 6, '!persona list')], { isPersona: () => false, keep: (_e, m) => !m.body.startsWith('!') });
    expect(bodies(db)).toEqual(['early', 'late']);
    expect(memory.byEventId('$o')!.id).toBe(before);
  });

  test('a room with a forget horizon is recognised', () => {
    const db = openDatabase(':memory:');
    const memory = new MemoryStore(db);
    expect(hasForgetHorizon(db, ROOM)).toBe(false);
    memory.forget('@persona_a:hs', ROOM, { deleteMessages: true });
    expect(hasForgetHorizon(db, ROOM)).toBe(true);
  });
});
