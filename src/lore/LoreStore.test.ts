import { openDatabase } from '../store/Database.js';
import { LoreStore } from './LoreStore.js';

const book = (name: string) => ({ name, entries: [], extensions: {} }) as never;

describe('LoreStore', () => {
  test('attachments keep the order they were made in, also when made in the same millisecond', () => {
    const store = new LoreStore(openDatabase(':memory:'));
    const { id } = store.save('Eldoria', book('Eldoria'), 'v3', '@admin:hs', 1000);
    // The key's own order (persona before room, then by ID) would list these otherwise.
    expect(store.attach(id, { kind: 'room', id: '!b:hs' }, '@admin:hs', 5000)).toBe(true);
    expect(store.attach(id, { kind: 'persona', id: '@p_zed:hs' }, '@admin:hs', 5000)).toBe(true);
    expect(store.attach(id, { kind: 'room', id: '!a:hs' }, '@admin:hs', 5000)).toBe(true);
    expect(store.attach(id, { kind: 'room', id: '!a:hs' }, '@admin:hs', 5000)).toBe(false);
    expect(store.byName('Eldoria')!.attachedTo).toEqual([
      { kind: 'room', id: '!b:hs' },
      { kind: 'persona', id: '@p_zed:hs' },
      { kind: 'room', id: '!a:hs' },
    ]);
  });
});
