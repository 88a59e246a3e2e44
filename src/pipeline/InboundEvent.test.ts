import type { RoomEvent } from '../matrix/events.js';
import { inboundOf, TEST_BOT } from '../../tests/support/inbound.js';

const message = (sender: string, body: string): RoomEvent => ({
  type: 'm.room.message',
  room_id: '!room:localhost',
  sender,
  event_id: `$${Math.random()}`,
  origin_server_ts: 0,
  content: { msgtype: 'm.text', body },
});

describe('InboundEvent: only people run commands (issue 22 #2)', () => {
  test("a person's command is one; the same text from a persona or the bot is just text", () => {
    expect(inboundOf(message('@alice:localhost', '!forget')).command).toBe('persona');
    expect(inboundOf(message('@alice:localhost', '!help')).command).toBe('bot');
    for (const sender of ['@persona_fern:localhost', TEST_BOT]) {
      for (const body of ['!forget', '!help', '!stop', '!summary']) {
        const inbound = inboundOf(message(sender, body));
        expect(inbound.command).toBeNull();
        expect(inbound.body).toBe(body);
      }
    }
  });
});
