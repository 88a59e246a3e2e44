import type { RoomEvent } from '../matrix/events.js';
import type { Persona } from '../personas/Persona.js';
import type { SceneStart } from '../scenes/scene.js';
import { runCommand } from './CommandRunner.js';
import { CommandTable } from './CommandTable.js';
import { sceneCommands } from './sceneCommands.js';

const ROOM = '!room:hs';
const ALICE = '@alice:hs';
const p = (name: string) => ({ name, userId: `@p_${name.toLowerCase()}:hs` }) as Persona;

function setUp(present: Persona[], budget = 10) {
  const table = new CommandTable('!');
  const started: SceneStart[] = [];
  table.add(...sceneCommands({ speakers: async () => present, turnLimit: () => budget, start: (s) => void started.push(s), prefix: '!' }));
  const replies: string[] = [];
  let n = 0;
  const send = async (body: string, content: Record<string, unknown> = {}): Promise<string> => {
    const event: RoomEvent = { event_id: `$e${++n}`, room_id: ROOM, sender: ALICE, type: 'm.room.message', origin_server_ts: n, content: { body, ...content } };
    await runCommand({ table, isAdmin: () => false, reply: async (_room, text) => void replies.push(text) }, event, body);
    return replies.at(-1) ?? '';
  };
  return { table, started, send };
}

describe('!converse', () => {
  test('anyone in a room with two or more personas starts a scene; the bot says what it will be', async () => {
    const { started, send } = setUp([p('Ara'), p('Bex'), p('Cyd')]);
    expect(await send('!converse 6 the best tea', { 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } })).toBe(
      'Scene: 6 turns about "the best tea" between Ara, Bex and Cyd. Say anything, or !stop, to end it early.',
    );
    expect(started).toEqual([
      { roomId: ROOM, topic: 'the best tea', turns: 6, startedBy: ALICE, start: { eventId: '$e1', sender: ALICE, body: '!converse 6 the best tea' }, threadRootId: '$root' },
    ]);
  });

  test('bad syntax gets the right syntax', async () => {
    const { started, send } = setUp([p('Ara'), p('Bex')]);
    expect(await send('!converse')).toBe('Give the number of turns, then the topic.\nUsage: !converse <turns> <topic>');
    expect(await send('!converse 6')).toBe('Give the number of turns, then the topic.\nUsage: !converse <turns> <topic>');
    expect(started).toEqual([]);
  });

  test('turns outside 1..the room turn budget are explained', async () => {
    const { started, send } = setUp([p('Ara'), p('Bex')], 4);
    for (const asked of ['0', '5', 'six', '2.5']) {
      expect(await send(`!converse ${asked} tea`)).toBe(
        `The number of turns is a whole number from 1 to 4 (this room's turn budget), not '${asked}'.\nUsage: !converse <turns> <topic>`,
      );
    }
    expect(started).toEqual([]);
  });

  test('a room whose turn budget is 0 allows no scene, and says how to change that', async () => {
    const { started, send } = setUp([p('Ara'), p('Bex')], 0);
    expect(await send('!converse 1 tea')).toBe(
      "This room's turn budget is 0, so personas may not talk among themselves here; a moderator can raise it with !room set turn_budget <N>.",
    );
    expect(started).toEqual([]);
  });

  test('fewer than two personas who may speak: a clear message, no scene', async () => {
    const one = setUp([p('Ara')]);
    expect(await one.send('!converse 3 tea')).toBe('A scene needs at least two personas in this room who may speak (not muted); there is only one. Invite another persona first.');
    const none = setUp([]);
    expect(await none.send('!converse 3 tea')).toMatch(/there is none\./);
    expect([...one.started, ...none.started]).toEqual([]);
  });

  test('is in the help', () => {
    const { table } = setUp([]);
    expect(table.helpText(false)).toContain('!converse <turns> <topic> — the personas here talk among themselves about the topic');
  });
});
