import { readFileSync } from 'node:fs';
import type { RoomEvent } from '../matrix/events.js';
import { LoreStore } from '../lore/LoreStore.js';
import { mergeBooks } from '../lore/mergeBooks.js';
import { openDatabase } from '../store/Database.js';
import { runCommand } from './CommandRunner.js';
import { CommandTable } from './CommandTable.js';
import { loreCommands } from './loreCommands.js';

const ROOM = '!room:hs';
const ADMIN = '@admin:hs';
const ada = { name: 'Ada', userId: '@p_ada:hs' };
const worldInfo = readFileSync(new URL('../../tests/fixtures/sillytavern-world-info.json', import.meta.url));
const v3 = Buffer.from(
  JSON.stringify({ spec: 'lorebook_v3', data: { name: 'Valley Lore', scan_depth: 5, entries: [{ keys: ['/(?=x)y/'], content: 'Y', enabled: true, insertion_order: 1, use_regex: true, extensions: {} }], extensions: {} } }),
);

function setUp() {
  const store = new LoreStore(openDatabase(':memory:'));
  const files: Record<string, Buffer> = { 'mxc://hs/wi': worldInfo, 'mxc://hs/v3': v3, 'mxc://hs/bad': Buffer.from('{"hello": 1}') };
  const table = new CommandTable('!');
  table.add(
    ...loreCommands({
      lore: store,
      personas: { recordByName: (n) => (n.toLowerCase() === 'ada' ? ({ ...ada } as never) : undefined), byUserId: (id) => (id === ada.userId ? (ada as never) : undefined) },
      media: {
        download: async (mxc) => ({ data: files[mxc] ?? Buffer.alloc(0), contentType: 'application/json' }),
        getEvent: async () => ({ content: { msgtype: 'm.file', body: 'Eldoria.json', url: 'mxc://hs/wi', info: { size: worldInfo.length } } }),
      },
      prefix: '!',
    }),
  );
  let n = 0;
  const replies: string[] = [];
  const send = async (body: string, content: Record<string, unknown> = {}, sender = ADMIN): Promise<string> => {
    const event: RoomEvent = { event_id: `$e${++n}`, room_id: ROOM, sender, type: 'm.room.message', origin_server_ts: n, content: { body, ...content } };
    await runCommand({ table, isAdmin: (u) => u === ADMIN, reply: async (_room, text) => void replies.push(text) }, event, body);
    return replies.at(-1) ?? '';
  };
  return { store, send };
}

describe('lore commands', () => {
  test('import a SillyTavern World Info export (replying to the file), attach it to this room and a persona, list, detach, delete', async () => {
    const { store, send } = setUp();
    expect(await send('!lore import', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$file' } } })).toBe(
      "Imported lorebook 'Eldoria' (SillyTavern World Info): 15 entries, 1 disabled.\nAttach it with !lore attach Eldoria <persona name | room>.",
    );
    expect(await send('!lore attach eldoria room')).toBe("Lorebook 'Eldoria' is now used by every persona in this room.");
    expect(await send('!lore attach Eldoria room')).toBe("Lorebook 'Eldoria' was already attached to every persona in this room.");
    expect(await send('!lore attach Eldoria ada')).toBe("Lorebook 'Eldoria' is now used by Ada.");
    expect(await send('!lore attach Eldoria !other:hs')).toBe("Lorebook 'Eldoria' is now used by every persona in !other:hs.");
    expect(store.booksFor(ada.userId, '!nowhere:hs').map((b) => b.name)).toEqual(['Eldoria']);
    expect(store.booksFor('@p_bo:hs', ROOM).map((b) => b.name)).toEqual(['Eldoria']);
    expect(store.booksFor('@p_bo:hs', '!nowhere:hs')).toEqual([]);
    expect(await send('!lore list')).toBe('Lorebooks (1):\nEldoria — 15 entries (SillyTavern World Info); used by: every persona in this room; Ada; every persona in !other:hs');
    expect(await send('!lore detach Eldoria room')).toBe("Lorebook 'Eldoria' is no longer used by every persona in this room.");
    expect(await send('!lore detach Eldoria room')).toBe("Lorebook 'Eldoria' was not attached to every persona in this room.");
    expect(await send('!lore detach Eldoria')).toBe("Lorebook 'Eldoria' is detached from everything (2 places).");
    expect(await send('!lore delete Eldoria')).toContain("Delete lorebook 'Eldoria' (15 entries)?");
    expect(store.list()).toHaveLength(1);
    expect(await send('!lore delete Eldoria --yes')).toBe("Deleted lorebook 'Eldoria'.");
    expect(await send('!lore list')).toBe('No lorebooks yet. Import one with !lore import (a lorebook_v3 or SillyTavern World Info JSON).');
  });

  test('lorebook_v3 by mxc URL under its own name; keys that can never match are named; a new import replaces it and keeps where it is used', async () => {
    const { store, send } = setUp();
    expect(await send('!lore import mxc://hs/v3')).toBe(
      "Imported lorebook 'Valley Lore' (lorebook_v3): 1 entry.\nThese regular-expression keys will never match (look-ahead and back-references cannot run here): /(?=x)y/.\nAttach it with !lore attach \"Valley Lore\" <persona name | room>.",
    );
    await send('!lore attach "valley lore" Ada');
    expect(await send('!lore import mxc://hs/wi --name "Valley Lore"')).toBe("Replaced lorebook 'Valley Lore' (SillyTavern World Info): 15 entries, 1 disabled.\nIt stays attached where it was.");
    expect(store.booksFor(ada.userId, ROOM)[0]!.entries).toHaveLength(15);
  });

  test('mistakes get a clear answer; nothing is stored', async () => {
    const { store, send } = setUp();
    expect(await send('!lore import mxc://hs/bad')).toMatch(/^Nothing was imported: This JSON is not a lorebook/);
    expect(await send('!lore import')).toMatch(/^Attach the lorebook \(with the command as its caption\), reply to it, or give an mxc:\/\/ or https:\/\/ URL\./);
    expect(await send('!lore attach Nope room')).toBe("No lorebook named 'Nope'. Send !lore list to see them.");
    expect(await send('!lore import mxc://hs/wi --name Eldoria')).toMatch(/^Imported lorebook 'Eldoria'/);
    expect(await send('!lore attach Eldoria Zed')).toBe("'Zed' is neither a persona (send !persona list) nor 'room' nor a room ID (!…:server).");
    expect(await send('!lore attach Eldoria')).toMatch(/^Give the lorebook and where to attach it\.\nUsage: !lore attach/);
    expect(await send('!lore list', {}, '@mallory:hs')).toBe('Sorry, only bridge admins may use !lore list.');
    expect(store.list().map((b) => b.attachedTo)).toEqual([[]]);
  });
});

describe('mergeBooks (export)', () => {
  test("the card's own entries, then the attached books' entries, each keeping its book's scan depth", () => {
    const own = { name: 'Own', scan_depth: 3, entries: [{ keys: ['a'], content: 'A', enabled: true, insertion_order: 1 }] };
    const attached = { name: 'Valley', scan_depth: 6, entries: [{ keys: ['b'], content: 'B', enabled: true, insertion_order: 2 }, { keys: ['c'], content: 'C', enabled: true, insertion_order: 3, extensions: { scan_depth: 1 } }] };
    const merged = mergeBooks(own, [attached])!;
    expect(merged.name).toBe('Own');
    expect(merged.scan_depth).toBe(3);
    expect(merged.entries.map((e) => [e.content, e.extensions?.scan_depth])).toEqual([['A', undefined], ['B', 6], ['C', 1]]);
    expect(mergeBooks(undefined, [attached])!.name).toBe('Valley');
    expect(mergeBooks(own, [])).toBe(own);
  });
});
