import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakePersonaMatrix } from '../../tests/fakes/FakePersonaMatrix.js';
import { MemoryPurge, roomOverview } from '../memory/purge.js';
import { PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import { PersonaStore } from '../personas/PersonaStore.js';
import { openDatabase } from '../store/Database.js';
import { runCommandText } from './CommandRunner.js';
import { CommandTable } from './CommandTable.js';
import { backfillCommand, operationsCommands, parseSince } from './operationsCommands.js';

const config = {
  homeserver: { url: 'http://hs', domain: 'localhost' },
  appservice: { bind: '127.0.0.1', port: 9000, bot_localpart: 'personas', bot_displayname: 'Personas', persona_prefix: 'persona_' },
};

function setup() {
  const db = openDatabase(':memory:');
  const store = new PersonaStore(db);
  const lifecycle = new PersonaLifecycle({ store, matrix: new FakePersonaMatrix(), config });
  const dir = mkdtempSync(join(tmpdir(), 'seed-'));
  writeFileSync(join(dir, 'fern.yaml'), 'name: Fern\nprompt: You are Fern.\n');
  const table = new CommandTable('!').add(
    ...operationsCommands({
      purge: new MemoryPurge(db),
      rooms: () => roomOverview(db),
      store,
      lifecycle,
      personasDirectory: dir,
      members: { ensureLoaded: async () => undefined, joinedCount: () => 2 },
      logFile: () => null,
    }),
  );
  const run = async (text: string, confirmed = false) => {
    const replies: string[] = [];
    const outcome = await runCommandText(table, text, {
      sender: 'console:root',
      roomId: null,
      via: 'console',
      isAdmin: true,
      confirmed,
      reply: async (t) => void replies.push(t),
      sendFile: async () => undefined,
    });
    return { ...outcome, replies };
  };
  return { db, store, lifecycle, dir, run };
}

describe('operations commands', () => {
  test('reseed asks first, then re-applies the files over changes made in chat', async () => {
    const { store, lifecycle, dir, run } = setup();
    await lifecycle.provisionFiles(dir);
    await lifecycle.update('Fern', { prompt: 'changed in chat' });
    expect(await run('!reseed')).toEqual({ ok: false, confirm: `Re-apply 1 seed persona from ${dir}, overwriting what was changed with !persona set?`, replies: [] });
    expect(store.recordByName('Fern')!.prompt).toBe('changed in chat');
    expect(await run('!reseed --yes')).toEqual({ ok: true, replies: ['Provisioned 1 persona: Fern.'], data: { provisioned: ['Fern'], problems: [] } });
    expect(store.recordByName('Fern')!.prompt).toBe('You are Fern.');
  });

  test('purge memory names what it would delete; a bad target is a usage error', async () => {
    const { run } = setup();
    expect((await run('!purge memory --all')).confirm).toBe('Delete 0 messages and 0 summaries of all rooms? This cannot be undone.');
    const bad = await run('!purge memory Nobody');
    expect(bad.ok).toBe(false);
    expect(bad.replies[0]).toMatch(/^'Nobody' is neither a room ID \(!id:server\) nor a persona name\.\nUsage: !purge memory/);
  });

  test('logs rotate without a log file fails saying so', async () => {
    const { run } = setup();
    expect(await run('!logs rotate')).toEqual({ ok: false, replies: ['No log file is configured (logging.file in the config); logs go to stdout only.'] });
  });

  test('--since: durations and dates', () => {
    expect(parseSince('2d', 1_000_000_000)).toBe(1_000_000_000 - 2 * 86_400_000);
    expect(parseSince('30m', 1_000_000)).toBe(1_000_000 - 1_800_000);
    expect(parseSince('2026-01-31')).toBe(Date.parse('2026-01-31'));
    expect(parseSince('yesterday')).toBeNull();
  });
});

test('backfill: a homeserver failure that is no Error (matrix-bot-sdk throws the bare response) is shown by its status, never undefined or [object Object]', async () => {
  const table = new CommandTable('!').add(
    backfillCommand({
      store: { firstJoins: () => [{ roomId: '!r:hs', joinedAt: 0 }] },
      memory: { hasForgetHorizon: () => false, store: () => ({ inserted: 0, edited: 0 }) as never },
      history: {
        page: async () => {
          throw { statusCode: 502, body: Buffer.from('<html>Bad gateway</html>'), request: { headers: { Authorization: 'Bearer secret' } } };
        },
      },
      filter: {} as never,
    }),
  );
  const replies: string[] = [];
  const outcome = await runCommandText(table, '!backfill --all', {
    sender: 'console:root',
    roomId: null,
    via: 'console',
    isAdmin: true,
    reply: async (t) => void replies.push(t),
    sendFile: async () => undefined,
  });
  expect(outcome.ok).toBe(false);
  expect(replies).toEqual(['!r:hs: failed: HTTP 502']);
});
