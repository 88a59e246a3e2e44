import type { RoomEvent } from '../matrix/events.js';
import { openDatabase } from '../store/Database.js';
import { inboundOf } from '../../tests/support/inbound.js';
import { undecryptableNotice } from './messages.js';
import { SqliteNoticeLedger } from './NoticeLedger.js';
import { EncryptionDisabledHandler, UndecryptableNotices } from './UndecryptableNotices.js';

const encrypted = (roomId: string, eventId: string, sender = '@alice:hs'): RoomEvent => ({
  event_id: eventId,
  room_id: roomId,
  sender,
  type: 'm.room.encrypted',
  origin_server_ts: 1,
  content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'xyz', session_id: 's', sender_key: 'k', device_id: 'D' },
});

/** The step as the pipeline runs it: `@persona_` users and the bot `@personas:hs` are ours. */
const stepOf = (step: EncryptionDisabledHandler) => ({ handle: (e: RoomEvent) => step.handle(e, inboundOf(e, { botUserId: '@personas:hs' })) });

function setUp(opts: { speaker?: string | null; failSends?: number } = {}) {
  const db = openDatabase(':memory:');
  const ledger = new SqliteNoticeLedger(db);
  const sent: { userId: string; roomId: string; text: string }[] = [];
  const counted: string[] = [];
  let failures = opts.failSends ?? 0;
  const notices = new UndecryptableNotices({
    ledger,
    speakerFor: async () => (opts.speaker === undefined ? '@persona_ada:hs' : opts.speaker),
    sendNotice: async (userId, roomId, text) => {
      if (failures > 0) {
        failures--;
        throw new Error('homeserver down');
      }
      sent.push({ userId, roomId, text });
    },
    onUndecryptable: (reason) => counted.push(reason),
  });
  const handler = stepOf(new EncryptionDisabledHandler(notices));
  return { db, ledger, sent, counted, handler };
}

describe('EncryptionDisabledHandler', () => {
  it('tells a room once, whatever the number of encrypted messages, and counts each of them', async () => {
    const { handler, sent, counted } = setUp();
    await handler.handle(encrypted('!a:hs', '$1'));
    await handler.handle(encrypted('!a:hs', '$2'));
    await handler.handle(encrypted('!a:hs', '$3', '@bob:hs'));
    expect(sent).toEqual([{ userId: '@persona_ada:hs', roomId: '!a:hs', text: undecryptableNotice('encryption_disabled') }]);
    expect(counted).toEqual(['encryption_disabled', 'encryption_disabled', 'encryption_disabled']);
  });

  it('tells each room separately', async () => {
    const { handler, sent } = setUp();
    await handler.handle(encrypted('!a:hs', '$1'));
    await handler.handle(encrypted('!b:hs', '$2'));
    expect(sent.map((s) => s.roomId)).toEqual(['!a:hs', '!b:hs']);
  });

  it('remembers told rooms in the database (a restart does not repeat the notice)', async () => {
    const first = setUp();
    await first.handler.handle(encrypted('!a:hs', '$1'));
    const notices = new UndecryptableNotices({
      ledger: new SqliteNoticeLedger(first.db),
      speakerFor: async () => '@persona_ada:hs',
      sendNotice: async (userId, roomId, text) => first.sent.push({ userId, roomId, text }),
    });
    await stepOf(new EncryptionDisabledHandler(notices)).handle(encrypted('!a:hs', '$2'));
    expect(first.sent).toHaveLength(1);
  });

  it('ignores our own encrypted events and everything that is not encrypted', async () => {
    const { handler, sent, counted } = setUp();
    await handler.handle(encrypted('!a:hs', '$1', '@persona_bob:hs'));
    await handler.handle({ ...encrypted('!a:hs', '$2'), type: 'm.room.message', content: { msgtype: 'm.text', body: 'hi' } });
    expect(sent).toEqual([]);
    expect(counted).toEqual([]);
  });

  it('stays quiet when none of our users is in the room, and tells it once one is', async () => {
    const quiet = setUp({ speaker: null });
    await quiet.handler.handle(encrypted('!a:hs', '$1'));
    expect(quiet.sent).toEqual([]);
    expect(quiet.ledger.claim('!a:hs', 'encryption_disabled', '@x:hs')).toBe(true);
  });

  it('tries again on the next message when the notice could not be sent', async () => {
    const { handler, sent } = setUp({ failSends: 1 });
    await handler.handle(encrypted('!a:hs', '$1'));
    expect(sent).toEqual([]);
    await handler.handle(encrypted('!a:hs', '$2'));
    await handler.handle(encrypted('!a:hs', '$3'));
    expect(sent).toHaveLength(1);
  });
});

describe('undecryptableNotice', () => {
  it.each(['encryption_disabled', 'cannot_decrypt'] as const)('%s says what to do and points at the admin guide', (reason) => {
    const text = undecryptableNotice(reason);
    expect(text).toMatch(/new chat/);
    expect(text).toMatch(/homeserver admin/);
    expect(text).toMatch(/admin guide/);
  });
});
