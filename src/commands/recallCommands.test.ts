import type { RoomEvent } from '../matrix/events.js';
import { MemoryStore } from '../memory/MemoryStore.js';
import { MessageSearch } from '../memory/MessageSearch.js';
import { NoteStore } from '../memory/NoteStore.js';
import type { Persona } from '../personas/Persona.js';
import { openDatabase } from '../store/Database.js';
import { runCommand } from './CommandRunner.js';
import { CommandTable } from './CommandTable.js';
import { coreCommands } from './coreCommands.js';
import { memoryCommands } from './memoryCommands.js';
import { eventLink, recallCommands, withoutAddress } from './recallCommands.js';

const ada = { name: 'Ada', userId: '@persona_ada:hs' } as Persona;
const bo = { name: 'Bo', userId: '@persona_bo:hs' } as Persona;
const DM = '!dm:hs';
const GROUP = '!group:hs';

describe('recall commands (persona scope)', () => {
  let memory: MemoryStore;
  let notes: NoteStore;
  let table: CommandTable;
  let replies: Array<{ userId: string; body: string }>;
  let n = 0;

  beforeEach(() => {
    const db = openDatabase(':memory:');
    memory = new MemoryStore(db);
    notes = new NoteStore(db);
    replies = [];
    table = new CommandTable('!');
    table.add(...coreCommands({ commands: table, startedAt: 0 }));
    table.add(...memoryCommands({ memory, personas: { byUserId: () => undefined, list: () => [] }, members: { joined: () => [] }, summarizeAfterMessages: 60 }));
    table.add(...recallCommands({ notes, search: new MessageSearch(db) }, table.prefix));
  });

  const say = (roomId: string, body: string, ts = Date.UTC(2026, 10, 2, 9, 30)) => {
    const eventId = `$said${++n}`;
    memory.record({ roomId, eventId, sender: '@alice:hs', displayName: 'Alice', msgtype: 'm.text', body, ts, threadRoot: null, fromPersona: false });
    return eventId;
  };
  const event = (roomId: string, sender: string, body: string): RoomEvent => ({
    event_id: `$cmd${++n}`,
    room_id: roomId,
    sender,
    type: 'm.room.message',
    origin_server_ts: n,
    content: { msgtype: 'm.text', body },
  });
  /** As the dispatcher runs a persona command for each persona addressed. */
  const send = async (persona: Persona, roomId: string, body: string, sender = '@alice:hs', ev = event(roomId, sender, body)) => {
    await runCommand(
      { table, isAdmin: (u) => u === '@admin:hs', reply: async (_room, text) => void replies.push({ userId: persona.userId, body: text }) },
      ev,
      body,
      { persona, isDirect: roomId === DM, threadRootId: null },
    );
    return replies.at(-1)!.body;
  };

  test('!remember in a DM keeps a note for that persona; it is listed by !recall with date and link', async () => {
    expect(await send(ada, DM, '!remember Alice is allergic to cats')).toMatch(/^Noted \(#1\)\. I'll keep it in mind, however long/);
    expect(notes.forPersona(DM, ada.userId)).toMatchObject([{ body: 'Alice is allergic to cats', personaId: ada.userId, author: '@alice:hs' }]);
    expect(notes.forPersona(DM, bo.userId)).toEqual([]);
    const listed = await send(ada, DM, '!recall');
    expect(listed).toMatch(/^Notes I keep for this room \(1\):\n#1 \(\d{4}-\d\d-\d\d \d\d:\d\d UTC, https:\/\/matrix\.to\/#\/!dm%3Ahs\/%24cmd\d+\): Alice is allergic to cats/);
    expect(listed).toContain('Add words to look for older messages too, e.g. !recall birthday.');
  });

  test('in a group room the note is for every persona there, once even when several are addressed', async () => {
    const ev = event(GROUP, '@alice:hs', '!remember @Ada Bob bakes on Sundays @Bo');
    await send(ada, GROUP, ev.content.body as string, '@alice:hs', ev);
    const second = await send(bo, GROUP, ev.content.body as string, '@alice:hs', ev);
    expect(second).toMatch(/^Noted \(#1\)\. .*every persona in this room will/);
    expect(notes.forPersona(GROUP, ada.userId).map((x) => x.body)).toEqual(['Bob bakes on Sundays @Bo']);
    expect(notes.forPersona(GROUP, bo.userId)).toHaveLength(1);
  });

  test('!recall with words lists matching older messages with sender, date and link; !search too', async () => {
    const id = say(DM, 'The treasure map is hidden in the attic');
    say(DM, 'unrelated chatter about tea');
    const recalled = await send(ada, DM, '!recall treasure');
    expect(recalled).toContain('Best matches for "treasure" in this room\'s history:\n1. 2026-11-02 09:30 UTC — Alice: The treasure map is hidden in the attic');
    expect(recalled).toContain(eventLink(DM, id));
    expect(await send(ada, DM, '!search where is the map?')).toBe(
      `Best matches for "where is the map?" in this room's history:\n1. 2026-11-02 09:30 UTC — Alice: The treasure map is hidden in the attic\n   ${eventLink(DM, id)}`,
    );
    expect(await send(ada, DM, '!search submarine')).toBe('Nothing in this room\'s history matches "submarine".');
  });

  test('!search respects !forget', async () => {
    say(DM, 'the vault code is zebra');
    await send(ada, DM, '!forget');
    expect(await send(ada, DM, '!search zebra')).toBe('Nothing in this room\'s history matches "zebra".');
  });

  test('!forget note removes one note; bad input is refused with the syntax', async () => {
    await send(ada, DM, '!remember one');
    await send(ada, DM, '!remember two');
    expect(await send(ada, DM, '!forget note 1')).toBe('Removed note #1: "one"');
    expect(notes.forPersona(DM, ada.userId).map((x) => x.body)).toEqual(['two']);
    expect(await send(ada, DM, '!forget note 1')).toBe('I keep no note #1 in this room.');
    expect(await send(ada, DM, '!forget note abc')).toBe(
      "'abc' is not a note number: give the number shown by the recall command, e.g. 3.\nUsage: !forget note <number>",
    );
    expect(await send(ada, DM, '!forget note')).toBe('Which note? Give its number.\nUsage: !forget note <number>');
    expect(await send(ada, DM, '!remember')).toBe('What should I remember? Put it after the command.\nUsage: !remember <text>');
    expect(await send(ada, DM, '!remember @Ada')).toBe('What should I remember? Put it after the command.\nUsage: !remember <text>');
    expect(await send(ada, DM, '!search')).toBe('Search for what? Put the words after the command.\nUsage: !search <words>');
    expect(await send(ada, DM, '!search the and of')).toMatch(/has only common words/);
    expect(await send(ada, DM, `!remember ${'x'.repeat(501)}`)).toMatch(/^That note is 501 characters long; notes are at most 500/);
    expect(notes.forPersona(DM, ada.userId)).toHaveLength(1);
  });

  test('in a group room only the note\'s author or an admin may remove it', async () => {
    await send(ada, GROUP, '!remember @Ada Bob bakes on Sundays', '@bob:hs');
    expect(await send(ada, GROUP, '!forget note 1', '@carol:hs')).toBe('Only the person who asked for that note, or a bridge admin, can remove it here.');
    expect(await send(ada, GROUP, '!forget note 1', '@admin:hs')).toMatch(/^Removed note #1/);
  });

  test('!forget alone still makes the persona forget the room', async () => {
    expect(await send(ada, DM, '!forget')).toMatch(/forgotten our conversation/);
  });

  test('help lists the commands in the persona section', () => {
    const help = table.fullHelp(false);
    for (const line of ['!remember <text> —', '!recall [words] —', '!forget note <number> —', '!search <words> —']) expect(help).toContain(line);
  });

  test('the addressing mention is not part of the text', () => {
    expect(withoutAddress('@Ada: buy milk', ada)).toBe('buy milk');
    expect(withoutAddress('Ada, buy milk', ada)).toBe('buy milk');
    expect(withoutAddress('@persona_ada:hs buy milk', ada)).toBe('buy milk');
    expect(withoutAddress('I had lunch with Ada', ada)).toBe('I had lunch with Ada');
    expect(withoutAddress('@Ada', ada)).toBe('');
    expect(withoutAddress('Adam likes milk', ada)).toBe('Adam likes milk');
    const zoe = { name: 'Zoë', userId: '@persona_zoe:hs' };
    expect(withoutAddress('zoe, the Ōkami café', zoe)).toBe('the Ōkami café');
    expect(withoutAddress('ZOË: ﬁve', zoe)).toBe('ﬁve');
  });
});
