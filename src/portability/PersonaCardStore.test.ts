import { openDatabase } from '../store/Database.js';
import { PersonaCardStore } from './PersonaCardStore.js';

function setup() {
  const db = openDatabase(':memory:');
  db.prepare(`INSERT INTO personas (user_id, name, prompt, created_at, creator, status) VALUES ('@p:hs', 'P', 'x', 0, 'c', 'active')`).run();
  return { db, store: new PersonaCardStore(db) };
}

describe('persona cards', () => {
  test('first message and extras are stored, replaced, and go with the persona', () => {
    const { db, store } = setup();
    expect(store.get('@p:hs')).toEqual({ firstMessage: null, card: {} });
    store.set('@p:hs', { firstMessage: 'Hi {{user}}', card: { tags: ['a'], extensions: { x: 1 } } });
    expect(store.get('@p:hs')).toEqual({ firstMessage: 'Hi {{user}}', card: { tags: ['a'], extensions: { x: 1 } } });
    store.set('@p:hs', { firstMessage: null, card: {} });
    expect(store.get('@p:hs')).toEqual({ firstMessage: null, card: {} });
    store.set('@p:hs', { firstMessage: 'x', card: {} });
    db.prepare(`DELETE FROM personas WHERE user_id = '@p:hs'`).run();
    expect(store.get('@p:hs')).toEqual({ firstMessage: null, card: {} });
  });

  test('each DM is greeted once', () => {
    const { store } = setup();
    expect(store.claimGreeting('@p:hs', '!dm:hs', 1)).toBe(true);
    expect(store.claimGreeting('@p:hs', '!dm:hs', 2)).toBe(false);
    expect(store.claimGreeting('@p:hs', '!other:hs', 3)).toBe(true);
    store.forgetGreetings('@p:hs');
    expect(store.claimGreeting('@p:hs', '!dm:hs', 4)).toBe(true);
  });
});
