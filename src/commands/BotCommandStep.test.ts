import { RoomQueue } from '../pipeline/RoomQueue.js';
import { message } from '../../tests/support/dispatchFixtures.js';
import { BotCommandStep } from './BotCommandStep.js';
import { CommandTable, type Command } from './CommandTable.js';

const BOT = '@personas:localhost';
const cmd = (name: string): Command => ({ name, usage: '', help: name, permission: 'anyone', run: async (ctx) => ctx.reply(`ran ${name}`) });

function setUp(botJoined: boolean) {
  const replies: string[] = [];
  const helpedWithoutBot: string[] = [];
  const queue = new RoomQueue();
  const step = new BotCommandStep({
    table: new CommandTable('!').add(cmd('help'), cmd('ping')),
    botUserId: BOT,
    isOurUser: (u) => u === BOT,
    isAdmin: () => false,
    members: { ensureLoaded: async () => undefined, isJoined: (_r, u) => botJoined && u === BOT },
    reply: async (_roomId, text) => void replies.push(text),
    sendFile: async () => undefined,
    queue,
    helpWithoutBot: async (_event, body) => void helpedWithoutBot.push(body),
  });
  const send = async (body: string) => {
    await step.handle(message('@alice:localhost', body));
    await queue.idle();
  };
  return { replies, helpedWithoutBot, send };
}

describe('BotCommandStep', () => {
  test('the bot answers its commands in rooms it is in', async () => {
    const s = setUp(true);
    await s.send('!help');
    await s.send('!ping');
    expect(s.replies).toEqual(['ran help', 'ran ping']);
    expect(s.helpedWithoutBot).toEqual([]);
  });

  test('without the bot, !help goes to the fallback (a persona answers it); other bot commands to nobody', async () => {
    const s = setUp(false);
    await s.send('!help');
    await s.send('!ping');
    expect(s.replies).toEqual([]);
    expect(s.helpedWithoutBot).toEqual(['!help']);
  });
});
