import type { RoomEvent } from '../matrix/events.js';
import { DescriptionStore } from '../people/DescriptionStore.js';
import { openDatabase } from '../store/Database.js';
import { runCommand } from './CommandRunner.js';
import { CommandTable } from './CommandTable.js';
import { meCommands } from './meCommands.js';

const DM = '!dm:hs';
const GROUP = '!group:hs';
const BOB = '@bob:hs';

function setUp() {
  const descriptions = new DescriptionStore(openDatabase(':memory:'));
  const table = new CommandTable('!').add(...meCommands({ descriptions, isDirect: async (roomId) => roomId === DM, prefix: '!' }));
  let n = 0;
  const send = async (roomId: string, body: string, sender = BOB): Promise<string> => {
    const replies: string[] = [];
    const event: RoomEvent = { event_id: `$e${++n}`, room_id: roomId, sender, type: 'm.room.message', origin_server_ts: n, content: { body } };
    await runCommand({ table, isAdmin: () => false, reply: async (_room, text) => void replies.push(text) }, event, body);
    return replies.join('\n');
  };
  return { descriptions, send };
}

describe('!me', () => {
  test('set for everywhere and for one room; the room one wins there; shown only in a direct chat; cleared', async () => {
    const { descriptions, send } = setUp();
    expect(await send(DM, '!me')).toBe('You have not told the personas anything about yourself. Send !me <text> (or !me --room <text> for this room only).');
    expect(await send(DM, '!me I am Bob, a  botanist.')).toBe('Noted. The personas will know this about you when you speak, in every room. Nobody else is shown it.');
    expect(await send(GROUP, '!me --room I am the game master here.')).toBe(
      'Noted. In this room the personas will know this about you when you speak (instead of your !me for everywhere). Nobody else is shown it.',
    );
    expect(descriptions.forPrompt(GROUP, [BOB, '@alice:hs'])).toEqual([{ userId: BOB, text: 'I am the game master here.' }]);
    expect(descriptions.forPrompt(DM, [BOB])).toEqual([{ userId: BOB, text: 'I am Bob, a  botanist.' }]);
    expect(await send(GROUP, '!me')).toBe('I show it only in a direct chat (with me or a persona): others here would read it. Send !me there.');
    expect(await send(DM, '!me')).toBe('Everywhere: I am Bob, a  botanist.\n(and 1 other room with a description of their own)');
    expect(await send(GROUP, '!me --room clear')).toBe('Removed what you told the personas about yourself for this room.');
    expect(await send(GROUP, '!me --room clear')).toBe('You had nothing set for this room.');
    expect(descriptions.forPrompt(GROUP, [BOB])).toEqual([{ userId: BOB, text: 'I am Bob, a  botanist.' }]);
    expect(await send(DM, '!me clear')).toBe('Removed what you told the personas about yourself.');
    expect(descriptions.all(BOB)).toEqual([]);
  });

  test('too long, or an unknown option: said so, nothing stored', async () => {
    const { descriptions, send } = setUp();
    expect(await send(DM, `!me ${'x'.repeat(501)}`)).toBe('That is 501 characters; a description is at most 500. Say it shorter.');
    expect(await send(DM, '!me --everywhere hi')).toMatch(/^Unknown option '--everywhere'\.\nUsage: !me/);
    expect(descriptions.all(BOB)).toEqual([]);
  });
});
