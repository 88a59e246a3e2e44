import { RoomQueue } from '../pipeline/RoomQueue.js';
import { message } from '../../tests/support/dispatchFixtures.js';
import { inboundOf } from '../../tests/support/inbound.js';
import { BotCommandStep } from './BotCommandStep.js';
import { RoomVoice } from '../rooms/RoomVoice.js';
import { CommandTable, type Command } from './CommandTable.js';

const BOT = '@personas:localhost';
const cmd = (name: string): Command => ({ name, usage: '', help: name, permission: 'anyone', run: async (ctx) => ctx.reply(`ran ${name}`) });

const ADA = '@persona_ada:localhost';

/** A room with the bot, or with only the persona Ada, or with none of our users. */
function setUp(here: 'bot' | 'persona' | 'nobody') {
  const replies: string[] = [];
  const queue = new RoomQueue();
  const table = new CommandTable('!').add({ ...cmd('help'), withoutBot: true }, cmd('ping'));
  const voice = new RoomVoice({
    botUserId: BOT,
    members: { ensureLoaded: async () => undefined, isJoined: (_r, u) => here === 'bot' && u === BOT },
    personasIn: () => (here === 'nobody' ? [] : [ADA]),
    sendNotice: async () => undefined,
  });
  const step = new BotCommandStep({
    table,
    isAdmin: () => false,
    reply: async (from, _roomId, text) => void replies.push(`${from}: ${text}`),
    sendFile: async () => undefined,
    queue,
  });
  const send = async (body: string, sender = '@alice:localhost') => {
    const event = message(sender, body);
    await step.handle(event, inboundOf(event, { botUserId: BOT, classify: (b) => table.classify(b), voice: await voice.voiceFor(event.room_id) }));
    await queue.idle();
  };
  return { replies, send };
}

describe('BotCommandStep', () => {
  test('the bot answers its commands in rooms it is in', async () => {
    const s = setUp('bot');
    await s.send('!help');
    await s.send('!ping');
    expect(s.replies).toEqual([`${BOT}: ran help`, `${BOT}: ran ping`]);
  });

  test('without the bot, the persona there answers the commands marked withoutBot (!help); other bot commands nobody', async () => {
    const s = setUp('persona');
    await s.send('!help');
    await s.send('!ping');
    expect(s.replies).toEqual([`${ADA}: ran help`]);
  });

  test("our own users' messages are never run as the bot's commands", async () => {
    const s = setUp('bot');
    await s.send('!ping', ADA);
    await s.send('!ping', BOT);
    expect(s.replies).toEqual([]);
  });

  test('with none of our users in the room, nothing is answered', async () => {
    const s = setUp('nobody');
    await s.send('!help');
    expect(s.replies).toEqual([]);
  });
});
