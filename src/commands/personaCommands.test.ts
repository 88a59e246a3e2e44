import { FakePersonaMatrix } from '../../tests/fakes/FakePersonaMatrix.js';
import type { RoomEvent } from '../matrix/events.js';
import { PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import { PersonaStore } from '../personas/PersonaStore.js';
import { openDatabase } from '../store/Database.js';
import { CommandTable, UsageError } from './CommandTable.js';
import { runCommand } from './CommandRunner.js';
import { parseSetArgs, parseSpawnArgs, parseTraits, personaCommands } from './personaCommands.js';

const ADMIN = '@alice:localhost';
const config = {
  homeserver: { url: 'http://hs', domain: 'localhost' },
  appservice: { bind: '127.0.0.1', port: 9000, bot_localpart: 'personas', bot_displayname: 'Personas', persona_prefix: 'persona_' },
};

describe('argument parsing', () => {
  test('spawn: a Unicode name with --id', () => {
    expect(parseSpawnArgs(['小月', '--id', 'moon', 'You', 'are', 'the', 'moon.'])).toMatchObject({ name: '小月', id: 'moon', prompt: 'You are the moon.' });
  });

  test('spawn: name, options in either form, then the prompt', () => {
    expect(parseSpawnArgs(['Ada', '--model', 'gpt-4o', '--temperature=0.4', '--room', '#r:hs', '--avatar', 'mxc://a/b', 'You', 'are', 'Ada.'])).toEqual({
      name: 'Ada',
      id: null,
      model: 'gpt-4o',
      temperature: 0.4,
      avatar: 'mxc://a/b',
      room: '#r:hs',
      prompt: 'You are Ada.',
    });
    // Options end at the first prompt word: a prompt may mention --flags.
    expect(parseSpawnArgs(['Ada', 'Explain', '--help', 'flags.']).prompt).toBe('Explain --help flags.');
  });

  test.each([
    [[], 'Missing the persona name.'],
    [['--model', 'm', 'Ada', 'p'], 'Missing the persona name.'],
    [['Ada'], 'Missing the system prompt.'],
    [['Ada', '--model', 'm'], 'Missing the system prompt.'],
    [['Ada', '--model'], 'Option --model needs a value.'],
    [['Ada', '--colour', 'red', 'p'], "Unknown option '--colour'."],
    [['Ada', '--model', 'a', '--model=b', 'p'], 'Option --model is given twice.'],
    [['Ada', '--temperature', 'hot', 'p'], "Temperature must be a number from 0 to 2, not 'hot'."],
    [['Ada', '--temperature', '2.5', 'p'], "Temperature must be a number from 0 to 2, not '2.5'."],
    [['Ada\u202E', 'p'], "Invalid name 'Ada\u202E': the name contains invisible or control characters (U+202E)."],
  ])('spawn %j: %s', (args, message) => {
    expect(() => parseSpawnArgs(args)).toThrow(new UsageError(message));
  });

  test('set: fields, values and unset', () => {
    expect(parseSetArgs(['Ada', 'prompt', 'Be', 'brief.'])).toEqual({ name: 'Ada', field: 'prompt', update: { prompt: 'Be brief.' } });
    expect(parseSetArgs(['Ada', 'Temperature', '1.2']).update).toEqual({ temperature: 1.2 });
    expect(parseSetArgs(['Ada', 'model', 'unset']).update).toEqual({ model: null });
    expect(parseSetArgs(['Ada', 'avatar', 'UNSET']).update).toEqual({ avatar: null });
    expect(parseSetArgs(['Ada', 'traits', 'unset']).update).toEqual({ traits: {} });
    expect(parseSetArgs(['Ada', 'live', 'off']).update).toEqual({ live: false });
    expect(parseSetArgs(['Ada', 'live', 'On']).update).toEqual({ live: true });
    expect(parseSetArgs(['Ada', 'live', 'unset']).update).toEqual({ live: null });
    expect(parseSetArgs(['Ada', 'tools', 'weather/*,', 'memory/search']).update).toEqual({ tools: ['weather/*', 'memory/search'] });
    expect(parseSetArgs(['Ada', 'tools', 'none']).update).toEqual({ tools: [] });
    expect(() => parseSetArgs(['Ada', 'tools', 'weather'])).toThrow(/server\/tool or server\/\*/);
    expect(() => parseSetArgs(['Ada', 'live', 'maybe'])).toThrow("'maybe' is not on, off or unset.");
    expect(() => parseSetArgs(['Ada', 'colour', 'red'])).toThrow("Unknown field 'colour'; fields: prompt, name, model, temperature, avatar, traits, live, tools, voice, voice_replies.");
    expect(parseSetArgs(['Ada', 'voice', 'en-us']).update).toEqual({ voice: 'en-us' });
    expect(parseSetArgs(['Ada', 'voice', 'off']).update).toEqual({ voice: null });
    expect(parseSetArgs(['Ada', 'voice_replies', 'always']).update).toEqual({ voiceReplies: 'always' });
    expect(parseSetArgs(['Ada', 'voice_replies', 'To-Voice']).update).toEqual({ voiceReplies: 'to_voice' });
    expect(parseSetArgs(['Ada', 'voice_replies', 'unset']).update).toEqual({ voiceReplies: null });
    expect(() => parseSetArgs(['Ada', 'voice_replies', 'sometimes'])).toThrow("'sometimes' is not to_voice, always, never or unset.");
    expect(() => parseSetArgs(['Ada', 'model'])).toThrow('Missing the new model.');
    expect(parseSetArgs(['Ada', 'name', 'Two', 'words']).update).toEqual({ name: 'Two words' });
    expect(() => parseSetArgs(['Ada', 'name', ' '])).toThrow(/^Missing the new name/);
  });

  test('traits: a JSON object or typed key=value pairs', () => {
    expect(parseTraits(['{"openness":', '0.8}'])).toEqual({ openness: 0.8 });
    expect(parseTraits(['openness=0.8', 'shy=true', 'accent=Scots'])).toEqual({ openness: 0.8, shy: true, accent: 'Scots' });
    expect(() => parseTraits(['[1]'])).toThrow("Traits are a JSON object or key=value pairs; '[1]' is neither.");
    expect(() => parseTraits(['{oops}'])).toThrow(/^Traits are not valid JSON/);
    expect(() => parseTraits(['calm'])).toThrow("Traits are a JSON object or key=value pairs; 'calm' is neither.");
  });
});

describe('persona commands through the command table', () => {
  function setup(prefix = '!', promptTokens?: number) {
    const store = new PersonaStore(openDatabase(':memory:'));
    const matrix = new FakePersonaMatrix();
    const promptBudget =
      promptTokens === undefined
        ? undefined
        : async (model: string | null) => ({
            budget: { promptTokens, replyTokens: 100, contextTokens: 1024 },
            source: { model: model ?? 'small-model', contextTokens: 1024 },
          });
    const lifecycle = new PersonaLifecycle({ store, matrix, config, ...(promptBudget ? { promptBudget } : {}) });
    const table = new CommandTable(prefix).add(...personaCommands({ lifecycle, store, prefix, modelLabel: (model) => model ?? 'llama3.1' }));
    const here = matrix.addRoom({ members: [ADMIN] });
    const replies: string[] = [];
    const send = async (body: string, sender = ADMIN): Promise<string> => {
      const event: RoomEvent = { event_id: '$e', room_id: here, sender, type: 'm.room.message', origin_server_ts: 1, content: { msgtype: 'm.text', body } };
      const before = replies.length;
      await runCommand({ table, isAdmin: (u) => u === ADMIN, reply: async (_room, text) => void replies.push(text) }, event, body);
      expect(replies.length).toBe(before + 1);
      return replies[replies.length - 1]!;
    };
    return { store, matrix, table, here, send };
  }

  test('spawn answers with the MXID; list, show and set reflect it', async () => {
    const { send } = setup();
    expect(await send('!persona spawn Ada --model gpt-4o "You are Ada, a poet."')).toBe('Spawned Ada as @persona_ada:localhost.');
    expect(await send('!persona spawn Bob --temperature 1.1 You are Bob')).toBe('Spawned Bob as @persona_bob:localhost.');
    expect(await send('!persona list')).toBe(
      '2 personas:\nAda — @persona_ada:localhost — model gpt-4o — 0 rooms\nBob — @persona_bob:localhost — model llama3.1 — 0 rooms',
    );
    // Anyone may list them, read-only: names, IDs and models.
    expect(await send('!persona list', '@bob:localhost')).toBe('2 personas:\nAda — @persona_ada:localhost — model gpt-4o\nBob — @persona_bob:localhost — model llama3.1');
    expect(await send('!persona set ada traits openness=0.9')).toBe('Updated Ada: traits: {"openness":0.9}.');
    expect(await send('!persona set Ada prompt "You are Ada, a mathematician."')).toBe('Updated Ada: prompt (29 characters).');
    const shown = await send('!persona show ADA');
    expect(shown).toMatch(/^Ada \(@persona_ada:localhost\)\nModel: gpt-4o\nTemperature: default \(llm.temperature\)\nAvatar: none\n/);
    expect(shown).toMatch(/\nTraits: \{"openness":0.9\}\nLive answers: default \(replies.live\)\nTools: none\nVoice: none \(writes only\)\nCreated: .* by @alice:localhost\nRooms \(0\): none\nPrompt: You are Ada, a mathematician.$/);
    expect(await send('!persona set Ada voice en-us')).toBe('Updated Ada: voice: en-us (answers voice with voice).');
    expect(await send('!persona set Ada voice_replies always')).toBe('Updated Ada: voice: en-us (always speaks).');
    expect(await send('!persona show Ada')).toMatch(/\nVoice: en-us \(always speaks\)\n/);
    expect(await send('!persona set Ada voice off')).toBe('Updated Ada: voice: none (writes only).');
  });

  test("prompts over the model's budget: refused when they cannot fit at all, warned about when they would be cut", async () => {
    // A prompt budget of 200 tokens: a persona prompt may take 100.
    const { send, matrix, store } = setup('!', 200);
    const long = 'Ada counts 1, 2, 3. '.repeat(40); // ~600 estimated tokens
    const refused = await send(`!persona spawn Ada ${long}`);
    expect(refused).toMatch(/^Refused: the prompt \(about \d+ tokens\) is longer than the whole prompt budget of 200 tokens for small-model \(context window 1024 tokens\), so it cannot fit: /);
    expect(matrix.registered.has('@persona_ada:localhost')).toBe(false);
    expect(store.allRecords()).toEqual([]);

    const medium = 'Ada counts 1, 2, 3. '.repeat(10); // ~150 estimated tokens
    const spawned = await send(`!persona spawn Ada --model big ${medium}`);
    expect(spawned).toMatch(/^Spawned Ada as @persona_ada:localhost\.\nWarning: only the first \d+ of the prompt's 199 characters reach big \(context window 1024 tokens\): /);
    expect(store.byName('Ada')!.prompt).toBe(medium.trim());

    expect(await send(`!persona set Ada prompt ${long}`)).toMatch(/^Refused: .*cannot fit/);
    expect(store.byName('Ada')!.prompt).toBe(medium.trim());
    expect(await send('!persona set Ada prompt You are Ada.')).toBe('Updated Ada: prompt (12 characters).');
    // A model change is checked against the new model's budget too.
    await send(`!persona set Ada prompt ${medium}`);
    expect(await send('!persona set Ada model other')).toMatch(/^Updated Ada: model: other\.\nWarning: .* reach other \(context window 1024 tokens\)/);
  });

  test('a non-admin is refused and nothing is created', async () => {
    const { send, matrix, store } = setup();
    expect(await send('!persona spawn Eve You are Eve', '@mallory:localhost')).toBe('Sorry, only bridge admins may use !persona spawn.');
    expect(matrix.registered.has('@persona_eve:localhost')).toBe(false);
    expect(store.allRecords()).toEqual([]);
  });

  test('mistakes get the reason and the right syntax', async () => {
    const { send } = setup();
    expect(await send('!persona spawn Ada')).toBe(
      'Missing the system prompt.\nUsage: !persona spawn <Name> [--id ID] [--model M] [--temperature T] [--avatar URL] [--room ROOM] <system prompt...>',
    );
    expect(await send('!persona set Ada mood happy')).toMatch(/^Unknown field 'mood'.*\nUsage: !persona set <Name> <prompt\|name\|model\|temperature\|avatar\|traits\|live\|tools\|voice\|voice_replies> <value...>$/);
    expect(await send('!persona show Nobody')).toBe("No persona named 'Nobody'. Send !persona list to see them.");
    expect(await send('!room create')).toBe('Missing the room name (quote it if it has spaces).\nUsage: !room create <room name> [Name ...]');
  });

  test('invite defaults to the current room; room create brings the personas in', async () => {
    const { send, matrix, here, store } = setup();
    await send('!persona spawn Ada p');
    await send('!persona spawn Bob p');
    expect(await send('!persona invite ada')).toBe('Ada joined this room.');
    expect(matrix.rooms.get(here)!.joined.has('@persona_ada:localhost')).toBe(true);
    const created = await send('!room create "Tea party" Ada Bob');
    const roomId = /\((![^)]+)\)/.exec(created)![1]!;
    expect(created).toBe(`Created "Tea party" (${roomId}) and invited you. Joined: Ada, Bob.`);
    expect(store.personasInRoom(roomId).sort()).toEqual(['@persona_ada:localhost', '@persona_bob:localhost']);
    expect(await send('!room create Lonely Zed')).toBe("No persona named 'Zed'. Send !persona list to see them.");
  });

  test('despawn reports the rooms left; the name then gets a new ID (the old one can never return)', async () => {
    const { send } = setup();
    await send('!persona spawn Ada p');
    await send('!persona invite Ada');
    expect(await send('!persona despawn Ada')).toBe('Despawned Ada (@persona_ada:localhost): left 1 room, account deactivated.');
    expect(await send('!persona list')).toBe('No personas yet.');
    expect(await send('!persona spawn Ada p')).toBe('Spawned Ada as @persona_ada_2:localhost.');
  });

  test('list shows unfinished spawns and persona file problems', async () => {
    const { send, matrix } = setup();
    const closed = matrix.addRoom({ botJoined: false });
    expect(await send(`!persona spawn Ada --room ${closed} p`)).toMatch(/^Spawn of Ada .* stopped while joining/);
    expect(await send('!persona list')).toBe('No personas yet.\nAda — @persona_ada:localhost — not active: spawn did not finish');
  });

  test('help lists every persona command with one line each', () => {
    const { table } = setup();
    const help = table.helpText(true).split('\n');
    for (const name of ['persona spawn', 'persona despawn', 'persona list', 'persona show', 'persona set', 'persona invite', 'room create']) {
      expect(help.filter((line) => line.startsWith(`!${name} `))).toHaveLength(1);
    }
    // Of these, a non-admin may only list the personas.
    expect(table.helpText(false)).toBe('!persona list — the personas, with the model each uses (admins: also rooms, and those not active)');
  });

  test('lifecycle refusals name the next step with the configured prefix', async () => {
    const { send } = setup('.');
    expect(await send('.persona despawn Nobody')).toBe("No persona named 'Nobody'. Send .persona list to see them.");
  });
});
