import { CommandTable, UsageError, type Command } from './CommandTable.js';
import { runCommand } from './CommandRunner.js';
import { splitArgs } from './splitArgs.js';
import type { RoomEvent } from '../matrix/events.js';

describe('splitArgs', () => {
  test.each([
    ['a b  c', ['a', 'b', 'c']],
    ['Ada --model "gpt 4" \'single quoted\'', ['Ada', '--model', 'gpt 4', 'single quoted']],
    ['say “curly quotes” too', ['say', 'curly quotes', 'too']],
    ['escaped\\ space "and \\"inner\\""', ['escaped space', 'and "inner"']],
    ['empty "" arg', ['empty', '', 'arg']],
    ['', []],
  ])('%s', (line, expected) => expect(splitArgs(line)).toEqual(expected));

  test('an unclosed quote is an error', () => expect(() => splitArgs('say "hello')).toThrow(/unclosed quote/));
});

const event = (sender: string, body: string): RoomEvent => ({
  event_id: '$e',
  room_id: '!r:localhost',
  sender,
  type: 'm.room.message',
  origin_server_ts: Date.now(),
  content: { msgtype: 'm.text', body },
});

describe('CommandTable and runCommand', () => {
  const ran: string[][] = [];
  const spawn: Command = {
    name: 'persona spawn',
    usage: '<Name> <prompt...>',
    help: 'create a persona',
    permission: 'admin',
    async run(ctx) {
      if (ctx.args.length < 2) throw new UsageError('Missing name or prompt.');
      ran.push(ctx.args);
    },
  };
  const list: Command = { name: 'persona list', usage: '', help: 'list personas', permission: 'anyone', run: async () => void ran.push(['list']) };
  const table = new CommandTable('!').add(spawn, list);
  const replies: string[] = [];
  const deps = { table, isAdmin: (u: string) => u === '@admin:localhost', reply: async (_r: string, text: string) => void replies.push(text) };

  beforeEach(() => {
    ran.length = 0;
    replies.length = 0;
  });

  test('dispatches by command words with shell-split arguments', async () => {
    await runCommand(deps, event('@admin:localhost', '!persona spawn Ada "You are Ada"'), '!persona spawn Ada "You are Ada"');
    expect(ran).toEqual([['Ada', 'You are Ada']]);
  });

  test('non-admins are refused and nothing runs', async () => {
    await runCommand(deps, event('@eve:localhost', '!persona spawn Ada x'), '!persona spawn Ada x');
    expect(ran).toEqual([]);
    expect(replies).toEqual(['Sorry, only bridge admins may use !persona spawn.']);
  });

  test('usage errors come back with the right syntax', async () => {
    await runCommand(deps, event('@admin:localhost', '!persona spawn'), '!persona spawn');
    expect(replies).toEqual(['Missing name or prompt.\nUsage: !persona spawn <Name> <prompt...>']);
  });

  test('an unknown subcommand gets the nearest one, not the whole list', async () => {
    await runCommand(deps, event('@admin:localhost', '!persona spwan Ada'), '!persona spwan Ada');
    expect(replies[0]).toBe('Unknown command !persona spwan. Did you mean !persona spawn? !help lists the commands that apply here.');
    await runCommand(deps, event('@admin:localhost', '!persona frobnicate'), '!persona frobnicate');
    expect(replies[1]).toBe('Unknown command !persona frobnicate. !help lists the commands that apply here.');
  });

  test('unclosed quotes are reported with usage', async () => {
    await runCommand(deps, event('@admin:localhost', '!persona spawn "Ada'), '!persona spawn "Ada');
    expect(replies).toEqual(['unclosed quote ". Usage: !persona spawn <Name> <prompt...>']);
  });

  test('help is generated from the table, filtered by permission', () => {
    expect(table.helpText(true)).toBe('!persona list — list personas\n!persona spawn <Name> <prompt...> — create a persona (admin)');
    expect(table.helpText(false)).toBe('!persona list — list personas');
  });

  test('only known command words count as commands', () => {
    expect(table.classify('!persona list')).toBe('bot');
    expect(table.classify('!Persona list')).toBe('bot');
    expect(table.classify('!wow what a day')).toBeNull();
    expect(table.classify('persona list')).toBeNull();
  });

  test('the prefix is the table\'s (commands.prefix)', () => {
    const dotted = new CommandTable('.').add(list);
    expect(dotted.classify('.persona list')).toBe('bot');
    expect(dotted.classify('!persona list')).toBeNull();
    expect(dotted.helpText(false)).toBe('.persona list — list personas');
  });
});

describe('help where it is asked', () => {
  const cmd = (name: string, over: Partial<Command> = {}): Command => ({ name, usage: '', help: name, permission: 'anyone', run: async () => undefined, ...over });
  const table = new CommandTable('!').add(
    cmd('ping'),
    cmd('persona spawn', { permission: 'admin' }),
    cmd('next', { where: 'group' }),
    cmd('room set', { where: 'group' }),
    cmd('room purge', { where: 'group', permission: 'admin' }),
    cmd('forget', { scope: 'persona' }),
  );

  test('in a group room: the room commands under "In this room" with the note; admin-only ones only to admins', () => {
    const help = table.fullHelp(false, { room: 'group', note: 'Order: list.' });
    expect(help).toBe(
      'Commands:\n!ping — ping\n\nIn this room:\nOrder: list.\n!next — next\n!room set — room set\n\nIn a room with a persona:\n!forget — forget',
    );
    expect(table.fullHelp(true, { room: 'group' })).toContain('In this room:\n!next — next\n!room purge — room purge (admin)\n!room set — room set');
  });

  test('in a direct chat: no group-room commands', () => {
    const help = table.fullHelp(true, { room: 'direct' });
    expect(help).toBe('Commands:\n!persona spawn — persona spawn (admin)\n!ping — ping\n\nIn a room with a persona:\n!forget — forget');
  });

  test('in a room without the bot: every command but the admin ones (which need the bot), then the note', () => {
    expect(table.fullHelp(true, { room: 'direct', botHere: false, botNote: 'Invite the bot.' })).toBe('Commands:\n!ping — ping\n\nIn a room with a persona:\n!forget — forget\n\nInvite the bot.');
    expect(table.fullHelp(true, { room: 'group', botHere: false, note: 'Order: list.', botNote: 'Invite the bot.' })).toBe(
      'Commands:\n!ping — ping\n\nIn this room:\nOrder: list.\n!next — next\n!room set — room set\n\nIn a room with a persona:\n!forget — forget\n\nInvite the bot.',
    );
  });

  test('at the console (nowhere in particular): everything, group commands in their own section', () => {
    expect(table.fullHelp(true)).toContain('In a group room:\n!next — next');
  });
});
