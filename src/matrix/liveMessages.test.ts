import type { RoomEvent } from './events.js';
import { FINAL_KEY, finalLiveAnswer, isLiveInProgress, LIVE_KEY } from './liveMessages.js';

const base = { room_id: '!r:hs', sender: '@persona_ada:hs', origin_server_ts: 1, type: 'm.room.message' };

describe('live messages', () => {
  it('tells a message still being written', () => {
    expect(isLiveInProgress({ body: 'x', [LIVE_KEY]: {} })).toBe(true);
    expect(isLiveInProgress({ body: 'x' })).toBe(false);
  });

  it('sees the final edit as the finished message with the original relation', () => {
    const event = {
      ...base,
      event_id: '$edit',
      content: {
        body: '* hi @Bex',
        'm.new_content': { msgtype: 'm.text', body: 'hi @Bex', 'm.mentions': { user_ids: ['@persona_bex:hs'] } },
        'm.relates_to': { rel_type: 'm.replace', event_id: '$orig' },
        [FINAL_KEY]: { relates_to: { rel_type: 'm.thread', event_id: '$root' } },
      },
    } as RoomEvent;
    expect(finalLiveAnswer(event)).toEqual({
      ...event,
      content: { msgtype: 'm.text', body: 'hi @Bex', 'm.mentions': { user_ids: ['@persona_bex:hs'] }, 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } },
    });
  });

  it('ignores ordinary edits and messages', () => {
    const edit = { ...base, event_id: '$e', content: { body: '* x', 'm.new_content': { body: 'x' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$o' } } } as RoomEvent;
    expect(finalLiveAnswer(edit)).toBeNull();
    expect(finalLiveAnswer({ ...base, event_id: '$m', content: { body: 'x', [FINAL_KEY]: {} } } as RoomEvent)).toBeNull();
  });
});
