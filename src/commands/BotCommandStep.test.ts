import { RoomQueue } from '../pipeline/RoomQueue.js';
import { message } from '../../tests/support/dispatchFixtures.js';
import { inboundOf } from '../../tests/support/inbound.js';
import { BotCommandStep } from './BotCommandStep.js';
import { RoomVoice } from '../rooms/RoomVoice.js';
import { CommandTable, type Command } from './CommandTable.js';

const BOT = '@personas:localhost';
const cmd = (name: string, extra: Partial<Command> = {}): Command => ({ name, usage: '', help: name, permission: 'anyone', run: async (ctx) => ctx.reply(`ran ${name}`), ...extra });

const ADA = '@persona_ada:localhost';

/** A room with the bot, or with only the persona Ada, or with none of our users; a direct chat or a group. */
function setUp(here: 'bot' | 'persona' | 'nobody', room: 'direct' | 'group' = 'direct', admin = false) {
  const replies: string[] = [];
  const queue = new RoomQueue();
  const voice = new RoomVoice({
    botUserId: BOT,
    members: { ensureLoaded: async () => undefined, isJoined: (_r, u) => here === 'bot' && u === BOT },
    personasIn: () => (here === 'nobody' ? [] : [ADA]),
    sendNotice: async () => undefined,
  });
  const table = new CommandTable('!').add(
    cmd('help'),
    cmd('ping'),
    cmd('status'),
    cmd('persona list', { permission: 'admin' }),
    cmd('persona set', { permission: 'admin' }),
    cmd('converse', { where: 'group' }),
    cmd('forget', { scope: 'persona' }),
  );
  const step = new BotCommandStep({
    table,
    botUserId: BOT,
    isAdmin: () => admin,
    where: async () => ({ room, ...(here === 'bot' ? {} : { botHere: false }) }),
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

  test('without the bot, a persona there speaks for the bridge: room commands run; admin ones say where to send them', async () => {
    const s = setUp('persona', 'group', true);
    await s.send('!converse 4 the moon');
    await s.send('!ping');
    await s.send('!persona list');
    expect(s.replies).toEqual([
      `${ADA}: ran converse`,
      `${ADA}: ran ping`,
      `${ADA}: !persona list is an admin command for the bridge bot (${BOT}), which is not in this room: send it in a direct chat with the bot, or invite the bot here.`,
    ]);
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

  test("in the bot's direct chat every !word is answered: unknown ones with the nearest commands that apply there", async () => {
    const s = setUp('bot', 'direct', true);
    await s.send('!hlep');
    await s.send('!persna list');
    await s.send('!persona lst');
    await s.send('!foo');
    await s.send('!converse 3 x');
    expect(s.replies).toEqual([
      `${BOT}: Unknown command !hlep. Did you mean !help? !help lists the commands that apply here.`,
      `${BOT}: Unknown command !persna. Did you mean !persona list? !help lists the commands that apply here.`,
      `${BOT}: Unknown command !persona lst. Did you mean !persona list or !persona set? !help lists the commands that apply here.`,
      `${BOT}: Unknown command !foo. !help lists the commands that apply here.`,
      // A group-room command typed in a direct chat runs (and says what it can); only typos are guessed at.
      `${BOT}: ran converse`,
    ]);
  });

  test('a non-admin is not pointed at admin commands', async () => {
    const s = setUp('bot', 'direct', false);
    await s.send('!persona lst');
    await s.send('!stauts');
    expect(s.replies).toEqual([
      `${BOT}: Unknown command !persona lst. !help lists the commands that apply here.`,
      `${BOT}: Unknown command !stauts. Did you mean !status? !help lists the commands that apply here.`,
    ]);
  });

  test('in a group room an unknown !word may be another bot’s: left alone; a typo after one of our words is answered', async () => {
    const s = setUp('bot', 'group', true);
    await s.send('!weather Paris');
    await s.send('!hlep');
    await s.send('!persona lst');
    await s.send('!!!');
    expect(s.replies).toEqual([`${BOT}: Unknown command !persona lst. Did you mean !persona list or !persona set? !help lists the commands that apply here.`]);
  });
});
