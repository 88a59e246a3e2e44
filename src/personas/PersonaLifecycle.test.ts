import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakePersonaMatrix, matrixError } from '../../tests/fakes/FakePersonaMatrix.js';
import { openDatabase } from '../store/Database.js';
import { PersonaError, PersonaLifecycle } from './PersonaLifecycle.js';
import { PersonaStore } from './PersonaStore.js';

const config = {
  homeserver: { url: 'http://hs', domain: 'localhost' },
  appservice: { bind: '127.0.0.1', port: 9000, bot_localpart: 'personas', bot_displayname: 'Personas', persona_prefix: 'persona_' },
};
const ADMIN = '@alice:localhost';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

function setup() {
  const store = new PersonaStore(openDatabase(':memory:'));
  const matrix = new FakePersonaMatrix();
  const fetched: string[] = [];
  const fetchImpl = async (url: string): Promise<Response> => {
    fetched.push(url);
    return new Response(PNG, { status: 200, headers: { 'content-type': 'image/png' } });
  };
  const despawned: string[] = [];
  const lifecycle = new PersonaLifecycle({
    store,
    matrix,
    config,
    fetch: fetchImpl,
    // Every name public (the fetch is fake); files from anywhere (tests write to tmp).
    fetchPolicy: { lookup: async () => [{ address: '93.184.216.34', family: 4 }], fileDirectory: '/' },
    now: () => 1_700_000_000_000,
    onDespawned: (userId) => despawned.push(userId),
  });
  return { store, matrix, lifecycle, fetched, despawned };
}

async function rejection(promise: Promise<unknown>): Promise<PersonaError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PersonaError) return err;
    throw err;
  }
  throw new Error('expected a PersonaError');
}

describe('spawn', () => {
  test('registers the lowercased MXID, sets the displayname, stores the persona live', async () => {
    const { store, matrix, lifecycle } = setup();
    const result = await lifecycle.spawn({ name: 'Ada', prompt: 'You are Ada.', model: 'm1', temperature: 0.3, creator: ADMIN });
    expect(result.persona).toMatchObject({ name: 'Ada', userId: '@persona_ada:localhost', prompt: 'You are Ada.', model: 'm1', temperature: 0.3 });
    expect(matrix.registered.has('@persona_ada:localhost')).toBe(true);
    expect(matrix.profiles.get('@persona_ada:localhost')).toEqual({ displayname: 'Ada', avatarUrl: null });
    expect(store.byUserId('@persona_ada:localhost')?.creator).toBe(ADMIN);
    expect(store.list().map((p) => p.name)).toEqual(['Ada']);
  });

  test('joins the room given by alias and records it', async () => {
    const { store, matrix, lifecycle } = setup();
    const roomId = matrix.addRoom({ alias: '#lounge:localhost' });
    const result = await lifecycle.spawn({ name: 'Ada', prompt: 'p', room: '#lounge:localhost', creator: ADMIN });
    expect(result.roomId).toBe(roomId);
    expect(matrix.rooms.get(roomId)!.joined.has('@persona_ada:localhost')).toBe(true);
    expect(store.rooms('@persona_ada:localhost')).toEqual([roomId]);
  });

  test('a taken name is refused case-insensitively, an invalid one with the reason', async () => {
    const { lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    expect((await rejection(lifecycle.spawn({ name: 'ADA', prompt: 'p', creator: ADMIN }))).message).toBe(
      'A persona named Ada already exists (@persona_ada:localhost).',
    );
    expect((await rejection(lifecycle.spawn({ name: 'Ada\nAdmin', prompt: 'p', creator: ADMIN }))).message).toBe(
      "Invalid name 'Ada\nAdmin': the name contains invisible or control characters (U+000A).",
    );
    expect((await rejection(lifecycle.spawn({ name: '???', prompt: 'p', creator: ADMIN }))).message).toBe(
      "Cannot make a Matrix ID from the name '???'; give one with --id (a-z, 0-9, '.', '_', '=', '-').",
    );
  });

  test('--id: used as given; a taken one is refused, naming it', async () => {
    const { lifecycle } = setup();
    const moon = await lifecycle.spawn({ name: '小月', id: 'moon', prompt: 'p', creator: ADMIN });
    expect(moon.persona).toMatchObject({ name: '小月', userId: '@persona_moon:localhost' });
    expect((await rejection(lifecycle.spawn({ name: 'Luna', id: 'moon', prompt: 'p', creator: ADMIN }))).message).toBe(
      "The ID 'moon' is already taken; choose another --id.",
    );
    expect((await rejection(lifecycle.spawn({ name: 'Luna', id: 'Moon', prompt: 'p', creator: ADMIN }))).message).toBe(
      "Invalid --id 'Moon': IDs may only contain a-z, 0-9, '.', '_', '=' and '-' (not 'M').",
    );
  });

  test('an unknown room changes nothing', async () => {
    const { store, matrix, lifecycle } = setup();
    const err = await rejection(lifecycle.spawn({ name: 'Ada', prompt: 'p', room: '#nowhere:localhost', creator: ADMIN }));
    expect(err.message).toMatch(/^Cannot find room #nowhere:localhost: M_NOT_FOUND/);
    expect(store.allRecords()).toEqual([]);
    expect(matrix.registered.has('@persona_ada:localhost')).toBe(false);
  });

  test('a failed registration is rolled back: nothing in the store', async () => {
    const { store, lifecycle, matrix } = setup();
    matrix.failNext('register', matrixError('M_EXCLUSIVE', 'namespace', 400));
    const err = await rejection(lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN }));
    expect(err.message).toBe('Could not register @persona_ada:localhost: M_EXCLUSIVE: namespace. Nothing was changed.');
    expect(store.allRecords()).toEqual([]);
  });

  test('a failed join leaves an inactive record that the same spawn completes', async () => {
    const { store, matrix, lifecycle } = setup();
    const roomId = matrix.addRoom({ botJoined: false });
    const err = await rejection(lifecycle.spawn({ name: 'Ada', prompt: 'p', room: roomId, creator: ADMIN }));
    expect(err.message).toMatch(/^Spawn of Ada \(@persona_ada:localhost\) stopped while joining !room1:localhost: cannot join/);
    // What to do next is named, not written in chat syntax (the command layer renders it).
    expect(err.message).not.toMatch(/!persona/);
    expect(err.remedy).toEqual({ kind: 'finish-spawn', name: 'Ada' });
    // Registered on the homeserver, recorded but not live: never half in one place.
    expect(matrix.registered.has('@persona_ada:localhost')).toBe(true);
    expect(store.recordByName('Ada')?.status).toBe('provisioning');
    expect(store.byUserId('@persona_ada:localhost')).toBeUndefined();

    matrix.rooms.get(roomId)!.joined.add(matrix.botUserId);
    const result = await lifecycle.spawn({ name: 'Ada', prompt: 'p', room: roomId, creator: ADMIN });
    expect(result.completedEarlierAttempt).toBe(true);
    expect(store.byUserId('@persona_ada:localhost')?.name).toBe('Ada');
    expect(matrix.rooms.get(roomId)!.joined.has('@persona_ada:localhost')).toBe(true);
  });

  test('a failed profile write is completed by the retry without setting it twice', async () => {
    const { store, matrix, lifecycle } = setup();
    matrix.failNext('setDisplayName');
    await rejection(lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN }));
    expect(store.recordByName('Ada')?.status).toBe('provisioning');
    await lifecycle.spawn({ name: 'Ada', prompt: 'p2', creator: ADMIN });
    expect(store.byName('ada')?.prompt).toBe('p2');
    expect(matrix.profiles.get('@persona_ada:localhost')?.displayname).toBe('Ada');
    expect(matrix.calls.filter((c) => c.startsWith('setDisplayName'))).toHaveLength(2);
  });

  test('an http avatar is downloaded, uploaded once and set; an mxc one is used as is', async () => {
    const { matrix, lifecycle, fetched } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', avatar: 'https://example.org/ada.png', creator: ADMIN });
    await lifecycle.spawn({ name: 'Bob', prompt: 'p', avatar: 'https://example.org/ada.png', creator: ADMIN });
    await lifecycle.spawn({ name: 'Cy', prompt: 'p', avatar: 'mxc://example.org/abc', creator: ADMIN });
    expect(fetched).toEqual(['https://example.org/ada.png']);
    expect(matrix.uploads).toEqual([{ contentType: 'image/png', filename: 'ada.png', mxc: 'mxc://localhost/upload1' }]);
    expect(matrix.profiles.get('@persona_ada:localhost')?.avatarUrl).toBe('mxc://localhost/upload1');
    expect(matrix.profiles.get('@persona_bob:localhost')?.avatarUrl).toBe('mxc://localhost/upload1');
    expect(matrix.profiles.get('@persona_cy:localhost')?.avatarUrl).toBe('mxc://example.org/abc');
  });

  test('a file that is not an image is refused before anything happens', async () => {
    const { store, matrix, lifecycle } = setup();
    const path = join(mkdtempSync(join(tmpdir(), 'avatar-')), 'secret.txt');
    writeFileSync(path, 'password=hunter2');
    const err = await rejection(lifecycle.spawn({ name: 'Ada', prompt: 'p', avatar: `file://${path}`, creator: ADMIN }));
    expect(err.message).toBe(`avatar file ${path} is not a PNG, JPEG, GIF or WebP image`);
    expect(store.allRecords()).toEqual([]);
    expect(matrix.uploads).toEqual([]);
  });
});

describe('despawn', () => {
  test('leaves every room, clears the profile, deactivates, forgets; a re-spawn gets a new ID', async () => {
    const { store, matrix, lifecycle, despawned } = setup();
    const a = matrix.addRoom();
    const b = matrix.addRoom({ isPublic: true, botJoined: false });
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', room: a, creator: ADMIN });
    // Joined behind our back (e.g. while the bridge was down): the homeserver's list counts.
    matrix.rooms.get(b)!.joined.add('@persona_ada:localhost');

    expect(await lifecycle.despawn('ada', ADMIN)).toEqual({ userId: '@persona_ada:localhost', roomsLeft: 2 });
    expect(matrix.roomsOf('@persona_ada:localhost')).toEqual([]);
    expect(matrix.profiles.get('@persona_ada:localhost')).toEqual({ displayname: null, avatarUrl: null });
    expect(matrix.deactivated.has('@persona_ada:localhost')).toBe(true);
    expect(store.allRecords()).toEqual([]);
    expect(store.list()).toEqual([]);
    expect(despawned).toEqual(['@persona_ada:localhost']); // its memory is let go too

    expect((await rejection(lifecycle.despawn('Ada', ADMIN))).message).toBe('Ada was already despawned.');
    // Matrix never lets a deactivated user ID be registered again: a new Ada gets another.
    expect((await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN })).persona.userId).toBe('@persona_ada_2:localhost');
  });

  test('a failure part-way leaves it inactive, and despawn again finishes', async () => {
    const { store, matrix, lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    matrix.failNext('deactivate');
    const err = await rejection(lifecycle.despawn('Ada', ADMIN));
    expect(err.message).toBe('Despawn of Ada stopped: M_UNKNOWN: deactivate failed. It no longer answers.');
    expect(err.remedy).toEqual({ kind: 'finish-despawn', name: 'Ada' });
    expect(store.byUserId('@persona_ada:localhost')).toBeUndefined();
    expect(store.recordByName('Ada')?.status).toBe('despawning');
    await lifecycle.despawn('Ada', ADMIN);
    expect(store.allRecords()).toEqual([]);
    expect(matrix.deactivated.has('@persona_ada:localhost')).toBe(true);
  });

  test('an unknown name', async () => {
    const { lifecycle } = setup();
    const err = await rejection(lifecycle.despawn('Nobody', ADMIN));
    expect(err.message).toBe("No persona named 'Nobody'.");
    expect(err.remedy).toEqual({ kind: 'list', name: 'Nobody' });
  });
});

describe('update, invite, createRoom', () => {
  test('renaming sets the displayname and keeps the MXID; a new persona of the old name gets another ID', async () => {
    const { store, matrix, lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    await lifecycle.spawn({ name: 'Bob', prompt: 'p', creator: ADMIN });
    expect((await rejection(lifecycle.update('Ada', { name: 'bob' }))).message).toBe("The name 'bob' is taken by @persona_bob:localhost.");
    const record = await lifecycle.update('Ada', { name: 'Adeline', model: 'm2', temperature: 1.5, traits: { openness: 0.9 } });
    expect(record).toMatchObject({ userId: '@persona_ada:localhost', name: 'Adeline', model: 'm2', temperature: 1.5, traits: { openness: 0.9 } });
    expect(matrix.profiles.get('@persona_ada:localhost')?.displayname).toBe('Adeline');
    expect(store.byName('adeline')?.userId).toBe('@persona_ada:localhost');
    // The MXID a new "Ada" would derive is Adeline's: it gets the next one.
    expect((await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN })).persona.userId).toBe('@persona_ada_2:localhost');
  });

  test('profiles are written only when they differ from what was last set', async () => {
    const { matrix, lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    const before = matrix.calls.length;
    await lifecycle.update('Ada', { prompt: 'new prompt' });
    await lifecycle.update('Ada', { name: 'Ada' });
    await lifecycle.update('Ada', { avatar: null });
    expect(matrix.calls.slice(before)).toEqual([]);
    await lifecycle.update('Ada', { avatar: 'mxc://x/y' });
    expect(matrix.calls.slice(before)).toEqual(['setAvatarUrl @persona_ada:localhost mxc://x/y']);
  });

  test('a failed profile write leaves the store unchanged', async () => {
    const { store, matrix, lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    matrix.failNext('setDisplayName');
    await expect(lifecycle.update('Ada', { name: 'Eve' })).rejects.toThrow();
    expect(store.byName('Ada')).toBeDefined();
    expect(store.byName('Eve')).toBeUndefined();
  });

  test('invite gets the persona into the room and records it', async () => {
    const { store, matrix, lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    const roomId = matrix.addRoom();
    expect(await lifecycle.invite('ada', roomId)).toBe(roomId);
    expect(matrix.rooms.get(roomId)!.joined.has('@persona_ada:localhost')).toBe(true);
    expect(store.personasInRoom(roomId)).toEqual(['@persona_ada:localhost']);
    const closed = matrix.addRoom({ botJoined: false });
    expect((await rejection(lifecycle.invite('Ada', closed))).message).toMatch(/^Ada could not join !room2:localhost: cannot join/);
  });

  test('createRoom refuses unknown personas before creating anything, then joins the listed ones', async () => {
    const { store, matrix, lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    await lifecycle.spawn({ name: 'Bob', prompt: 'p', creator: ADMIN });
    await rejection(lifecycle.createRoom('Tea', ['Ada', 'Zed'], ADMIN));
    expect(matrix.calls.some((c) => c.startsWith('createRoom'))).toBe(false);
    const created = await lifecycle.createRoom('Tea', ['Ada', 'bob'], ADMIN);
    expect(created.joined).toEqual(['Ada', 'Bob']);
    const room = matrix.rooms.get(created.roomId)!;
    expect(room.name).toBe('Tea');
    expect(room.invited.has(ADMIN)).toBe(true);
    expect([...room.joined].sort()).toEqual(['@persona_ada:localhost', '@persona_bob:localhost', '@personas:localhost']);
    expect(store.roomCount('@persona_bob:localhost')).toBe(1);
  });
});

describe('provisionFiles', () => {
  function personasDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'personas-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  test('provisions good files, reports bad ones with file and key path, joins rooms', async () => {
    const { store, matrix, lifecycle } = setup();
    const lounge = matrix.addRoom({ alias: '#lounge:localhost', isPublic: true, botJoined: false });
    const dir = personasDir({
      'ada.yaml': 'name: Ada\nprompt: You are Ada.\ntraits: { openness: 0.9 }\nrooms: ["#lounge:localhost"]\n',
      'broken.yaml': 'name: Bad\nprompt: p\ntemperature: 7\n',
      'avatar.png': PNG.toString('latin1'),
    });
    writeFileSync(join(dir, 'avatar.png'), PNG);
    writeFileSync(join(dir, 'bob.yml'), 'name: Bob\nprompt: You are Bob.\navatar: avatar.png\nrooms: ["#missing:localhost"]\n');
    const report = await lifecycle.provisionFiles(dir);
    expect(report.provisioned).toEqual(['Ada', 'Bob']);
    expect(report.problems).toEqual([
      { file: 'broken.yaml', skipped: true, errors: ['temperature: must be <= 2'] },
      { file: 'bob.yml', skipped: false, errors: [expect.stringMatching(/^rooms: could not join #missing:localhost: M_NOT_FOUND/)] },
    ]);
    expect(store.byName('Ada')).toMatchObject({ creator: 'file:ada.yaml', traits: { openness: 0.9 } });
    expect(matrix.rooms.get(lounge)!.joined.has('@persona_ada:localhost')).toBe(true);
    expect(matrix.profiles.get('@persona_bob:localhost')).toEqual({ displayname: 'Bob', avatarUrl: 'mxc://localhost/upload1' });
    expect(store.byName('Bad')).toBeUndefined();
  });

  test('seed prompts over the budget: one that cannot fit is skipped, one that would be cut is provisioned with a warning', async () => {
    const store = new PersonaStore(openDatabase(':memory:'));
    const lifecycle = new PersonaLifecycle({
      store,
      matrix: new FakePersonaMatrix(),
      config,
      promptBudget: async (model) => ({ budget: { promptTokens: 200, replyTokens: 100, contextTokens: null }, source: { model: model ?? 'm', contextTokens: null } }),
    });
    const dir = personasDir({
      'long.yaml': `name: Long\nprompt: "${'Ada counts 1, 2, 3. '.repeat(40)}"\n`,
      'medium.yaml': `name: Medium\nprompt: "${'Ada counts 1, 2, 3. '.repeat(10)}"\n`,
      'other.yaml': `name: Other\nprompt: "${'Bob counts 4, 5, 6. '.repeat(10)}"\n`,
      'short.yaml': 'name: Short\nprompt: You are brief.\n',
    });
    const report = await lifecycle.provisionFiles(dir);
    expect(report.provisioned).toEqual(['Medium', 'Other', 'Short']);
    // The cut prompts, however many, in one line with advice that fits.
    expect(report.problems).toEqual([
      { file: 'long.yaml', skipped: true, errors: [expect.stringMatching(/^prompt: Refused: the prompt \(about \d+ tokens\) .*cannot fit/)] },
      {
        file: 'medium.yaml, other.yaml',
        skipped: false,
        errors: [expect.stringMatching(/^prompts cut to fit m \(context window unknown\): Medium \(\d+ of 199 characters\), Other \(\d+ of 199 characters\); shorten them, or raise memory.context_tokens if/)],
      },
    ]);
    expect(store.byName('Long')).toBeUndefined();
  });

  test('an unchanged file changes nothing on restart; an edited file is applied; chat edits survive restarts', async () => {
    const { store, matrix, lifecycle } = setup();
    const dir = personasDir({ 'ada.yaml': 'name: Ada\nprompt: v1\n' });
    await lifecycle.provisionFiles(dir);
    await lifecycle.update('Ada', { model: 'chat-model' });
    const before = matrix.calls.length;
    await lifecycle.provisionFiles(dir);
    expect(matrix.calls.slice(before)).toEqual(['register @persona_ada:localhost']);
    expect(store.byName('Ada')?.model).toBe('chat-model');

    writeFileSync(join(dir, 'ada.yaml'), 'name: Ada\nprompt: v2\nmodel: file-model\n');
    await lifecycle.provisionFiles(dir);
    expect(store.byName('Ada')).toMatchObject({ prompt: 'v2', model: 'file-model' });
  });

  test('a name spawned in chat or deactivated is not taken over by a file', async () => {
    const { lifecycle } = setup();
    await lifecycle.spawn({ name: 'Ada', prompt: 'p', creator: ADMIN });
    await lifecycle.spawn({ name: 'Bob', prompt: 'p', creator: ADMIN });
    await lifecycle.despawn('Bob', ADMIN);
    const dir = personasDir({ 'ada.yaml': 'name: Ada\nprompt: p\n', 'bob.yaml': 'name: Bob\nprompt: p\n' });
    const report = await lifecycle.provisionFiles(dir);
    expect(report.provisioned).toEqual([]);
    expect(report.problems.map((p) => [p.file, p.errors[0]])).toEqual([
      ['ada.yaml', `name: 'Ada' is taken by @persona_ada:localhost, spawned by ${ADMIN}`],
      ['bob.yaml', expect.stringMatching(/^name: Cannot spawn 'Bob': @persona_bob:localhost was despawned/)],
    ]);
  });
});

describe('Unicode names (issue 17)', () => {
  test('spawn Ünïcode gets a transliterated user ID and keeps its display name', async () => {
    const { store, matrix, lifecycle } = setup();
    const result = await lifecycle.spawn({ name: 'Ünïcode', prompt: 'p', creator: ADMIN });
    expect(result.persona).toMatchObject({ name: 'Ünïcode', userId: '@persona_unicode:localhost' });
    expect(matrix.profiles.get('@persona_unicode:localhost')?.displayname).toBe('Ünïcode');
    expect(store.list().map((p) => p.name)).toEqual(['Ünïcode']);
  });
});
