import { message, persona } from '../../tests/support/dispatchFixtures.js';
import type { Persona } from '../personas/Persona.js';
import { RoomVoice } from '../rooms/RoomVoice.js';
import { CommandTable, type Command } from './CommandTable.js';
import { runUnaddressedCommand } from './unaddressedCommands.js';

const BOT = '@personas:localhost';
const ada = persona('Ada');
const bob = persona('Bob');

function setUp(speakers: Persona[], botHere: boolean) {
  const ran: string[] = [];
  const replies: string[] = [];
  const command = (name: string, roomWide: boolean): Command => ({
    name,
    usage: '',
    help: name,
    permission: 'anyone',
    scope: 'persona',
    ...(roomWide ? { roomWide } : {}),
    run: async (ctx) => {
      ran.push(`${name} for ${ctx.persona?.persona.name} (direct: ${ctx.persona?.isDirect})`);
      await ctx.reply(`done ${name}`);
    },
  });
  const table = new CommandTable('!').add(command('remember', true), command('summary', false));
  const voice = new RoomVoice({
    botUserId: BOT,
    members: { ensureLoaded: async () => undefined, isJoined: (_r, u) => botHere && u === BOT },
    personasIn: () => speakers.map((p) => p.userId),
    sendNotice: async () => undefined,
  });
  const run = (body: string) =>
    runUnaddressedCommand(
      { table, isAdmin: () => false, voice, reply: async (from, _e, text) => void replies.push(`${from}: ${text}`) },
      message('@alice:localhost', body),
      body,
      speakers,
    );
  return { ran, replies, run };
}

describe('a persona command that names no persona, in a group room', () => {
  test('about the room (notes, search): runs once, for the room, in the room’s voice', async () => {
    const s = setUp([ada, bob], false);
    await s.run('!remember the meeting is at 5');
    expect(s.ran).toEqual(['remember for Ada (direct: false)']);
    expect(s.replies).toEqual([`${ada.userId}: done remember`]);
    const withBot = setUp([ada, bob], true);
    await withBot.run('!remember x');
    expect(withBot.replies).toEqual([`${BOT}: done remember`]);
  });

  test('about one persona’s memory: the only persona’s, or the answer asks which', async () => {
    const alone = setUp([ada], false);
    await alone.run('!summary');
    expect(alone.ran).toEqual(['summary for Ada (direct: false)']);
    const two = setUp([ada, bob], false);
    await two.run('!summary');
    expect(two.ran).toEqual([]);
    expect(two.replies).toEqual([`${ada.userId}: !summary: which persona? Name one after the command, e.g. !summary Ada (here: Ada, Bob).`]);
  });
});
