import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../store/Database.js';
import type { Persona } from './Persona.js';
import { PersonaStore } from './PersonaStore.js';
import { AmbiguousName } from '../util/nameFolding.js';

const persona = (name: string, extra: Partial<Persona> = {}): Persona => ({
  name,
  userId: `@persona_${name.toLowerCase()}:localhost`,
  prompt: `You are ${name}.`,
  traits: { openness: 0.5 },
  model: null,
  temperature: null,
  avatarUrl: null,
  createdAt: 1000,
  creator: '@alice:localhost',
  ...extra,
});

function openStore(path = ':memory:'): PersonaStore {
  const store = new PersonaStore(openDatabase(path));
  return store;
}

describe('PersonaStore', () => {
  test('only active personas are live; records of every state are readable', () => {
    const store = openStore();
    store.reserve(persona('Ada'));
    expect(store.byUserId('@persona_ada:localhost')).toBeUndefined();
    expect(store.recordByName('ADA')?.status).toBe('provisioning');
    store.setStatus('@persona_ada:localhost', 'active');
    expect(store.byUserId('@persona_ada:localhost')).toEqual(persona('Ada'));
    expect(store.byName('ada')?.name).toBe('Ada');
    store.setStatus('@persona_ada:localhost', 'despawning');
    expect(store.list()).toEqual([]);
  });

  test('names as people type them: Zoe, zoe and ZOË find Zoë; a name that fits two is refused with both', () => {
    const store = openStore();
    store.reserve({ ...persona('Zoë'), userId: '@persona_zoe:localhost' });
    store.setStatus('@persona_zoe:localhost', 'active');
    for (const typed of ['Zoë', 'Zoe', 'zoe', 'ZOË']) {
      expect(store.recordByName(typed)?.userId).toBe('@persona_zoe:localhost');
      expect(store.byName(typed)?.userId).toBe('@persona_zoe:localhost');
    }
    store.reserve({ ...persona('Zoé'), userId: '@persona_zoe_2:localhost' });
    store.setStatus('@persona_zoe_2:localhost', 'active');
    expect(store.recordByName('Zoé')?.userId).toBe('@persona_zoe_2:localhost');
    expect(() => store.recordByName('Zoe')).toThrow("'Zoe' could be 'Zoé' or 'Zoë'");
    expect(() => store.byName('zoe')).toThrow(AmbiguousName);
  });

  test('a room\'s personas are listed earliest join first (the order RoomVoice picks from)', () => {
    const store = openStore();
    for (const name of ['Ada', 'Bea', 'Cyd']) {
      store.reserve(persona(name));
      store.setStatus(`@persona_${name.toLowerCase()}:localhost`, 'active');
    }
    store.addRoom('@persona_cyd:localhost', '!r:localhost', 5);
    store.addRoom('@persona_bea:localhost', '!r:localhost', 9);
    store.addRoom('@persona_ada:localhost', '!r:localhost', 9);
    expect(store.personasInRoom('!r:localhost')).toEqual(['@persona_cyd:localhost', '@persona_ada:localhost', '@persona_bea:localhost']);
  });

  test('names are unique case-insensitively', () => {
    const store = openStore();
    store.reserve(persona('Ada'));
    expect(() => store.reserve(persona('ADA', { userId: '@persona_other:localhost' }))).toThrow(/UNIQUE/);
  });

  test('re-reserving a half-finished spawn keeps its rooms and profile record; an active one cannot be', () => {
    const store = openStore();
    store.reserve(persona('Ada'));
    store.addRoom('@persona_ada:localhost', '!r:localhost');
    store.recordProfile('@persona_ada:localhost', { displayname: 'Ada' });
    store.reserve(persona('Ada', { prompt: 'second try' }));
    expect(store.rooms('@persona_ada:localhost')).toEqual(['!r:localhost']);
    expect(store.lastProfile('@persona_ada:localhost')).toEqual({ displayname: 'Ada', avatarUrl: null });
    expect(store.recordByName('Ada')?.prompt).toBe('second try');
    store.setStatus('@persona_ada:localhost', 'active');
    expect(() => store.reserve(persona('Ada'))).toThrow('@persona_ada:localhost is already active');
  });

  test('updates change the live copy; rooms are counted per persona and listed per room', () => {
    const store = openStore();
    store.reserve(persona('Ada'));
    store.setStatus('@persona_ada:localhost', 'active');
    store.update('@persona_ada:localhost', { name: 'Adeline', model: 'm', temperature: 0.2, traits: { x: 1 }, avatarUrl: 'mxc://a/b' });
    expect(store.byUserId('@persona_ada:localhost')).toMatchObject({ name: 'Adeline', model: 'm', temperature: 0.2, traits: { x: 1 }, avatarUrl: 'mxc://a/b' });
    expect(store.byUserId('@persona_ada:localhost')!.live).toBeUndefined();
    store.update('@persona_ada:localhost', { live: false });
    expect(store.byUserId('@persona_ada:localhost')!.live).toBe(false);
    store.update('@persona_ada:localhost', { live: null });
    expect(store.byUserId('@persona_ada:localhost')!.live).toBeUndefined();
    store.addRoom('@persona_ada:localhost', '!a:localhost', 1);
    store.addRoom('@persona_ada:localhost', '!b:localhost', 2);
    store.addRoom('@persona_ada:localhost', '!a:localhost', 3);
    store.addRoom('@someone:localhost', '!a:localhost');
    expect(store.roomCount('@persona_ada:localhost')).toBe(2);
    expect(store.personasInRoom('!a:localhost')).toEqual(['@persona_ada:localhost']);
    // The first join is the one that counts (a repeated join is ignored).
    expect(store.joinedAtIn('!a:localhost')).toEqual(new Map([['@persona_ada:localhost', 1]]));
    expect(store.joinedAtIn('!nowhere:localhost')).toEqual(new Map());
    store.removeRoom('@persona_ada:localhost', '!a:localhost');
    expect(store.rooms('@persona_ada:localhost')).toEqual(['!b:localhost']);
    expect(store.joinedAtIn('!a:localhost')).toEqual(new Map());
  });

  test("a room's join times are read once and stay right through joins, leaves and removed personas", () => {
    const store = openStore();
    for (const name of ['Ada', 'Bo']) {
      store.reserve(persona(name));
      store.setStatus(`@persona_${name.toLowerCase()}:localhost`, 'active');
    }
    store.addRoom('@persona_ada:localhost', '!a:localhost', 1);
    expect(store.joinedAtIn('!a:localhost')).toEqual(new Map([['@persona_ada:localhost', 1]]));
    // Kept: the same answer without another query.
    expect(store.joinedAtIn('!a:localhost')).toBe(store.joinedAtIn('!a:localhost'));
    store.addRoom('@persona_bo:localhost', '!a:localhost', 2);
    expect(store.joinedAtIn('!a:localhost')).toEqual(new Map([['@persona_ada:localhost', 1], ['@persona_bo:localhost', 2]]));
    store.removeRoom('@persona_ada:localhost', '!a:localhost');
    expect(store.joinedAtIn('!a:localhost')).toEqual(new Map([['@persona_bo:localhost', 2]]));
    store.recordDeactivated('@persona_bo:localhost', '@admin:localhost');
    expect(store.joinedAtIn('!a:localhost')).toEqual(new Map());
  });

  test('deactivation forgets the persona, its rooms and profile, and remembers the MXID', () => {
    const store = openStore();
    store.reserve(persona('Ada'));
    store.setStatus('@persona_ada:localhost', 'active');
    store.addRoom('@persona_ada:localhost', '!a:localhost');
    store.recordProfile('@persona_ada:localhost', { displayname: 'Ada' });
    store.recordDeactivated('@persona_ada:localhost', '@alice:localhost', 5000);
    expect(store.allRecords()).toEqual([]);
    expect(store.list()).toEqual([]);
    expect(store.rooms('@persona_ada:localhost')).toEqual([]);
    expect(store.lastProfile('@persona_ada:localhost')).toBeUndefined();
    expect(store.deactivated('@persona_ada:localhost')).toEqual({
      userId: '@persona_ada:localhost',
      name: 'Ada',
      deactivatedAt: 5000,
      deactivatedBy: '@alice:localhost',
    });
  });

  test('everything survives a restart', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'personas-')), 'p.db');
    const first = openStore(path);
    first.reserve(persona('Ada', { model: 'm' }));
    first.setStatus('@persona_ada:localhost', 'active');
    first.reserve(persona('Bob'));
    first.recordAvatarUpload('https://x/a.png', 'mxc://x/a');
    const second = openStore(path);
    expect(second.list()).toEqual([persona('Ada', { model: 'm' })]);
    expect(second.recordByName('Bob')?.status).toBe('provisioning');
    expect(second.uploadedAvatar('https://x/a.png')).toBe('mxc://x/a');
  });
});
