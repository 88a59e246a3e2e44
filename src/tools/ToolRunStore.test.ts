import { openDatabase } from '../store/Database.js';
import { ToolRunStore } from './ToolRunStore.js';

describe('ToolRunStore notes', () => {
  test('the notes of the answers asked for, by event id; answers without one and others are left out', () => {
    const db = openDatabase(':memory:');
    try {
      const store = new ToolRunStore(db);
      store.saveNote('$a', 'used web_search');
      store.saveNote('$b', 'used remember_note');
      store.saveNote('$c', 'used roll_dice');
      store.saveNote('$b', 'used remember_note twice');
      expect(store.notes(['$b', '$none', '$a'])).toEqual(
        new Map([
          ['$a', 'used web_search'],
          ['$b', 'used remember_note twice'],
        ]),
      );
      expect(store.notes([])).toEqual(new Map());
      // Event ids are data, whatever they contain.
      store.saveNote(`$q"'],`, 'odd id');
      expect(store.notes([`$q"'],`]).get(`$q"'],`)).toBe('odd id');
    } finally {
      db.close();
    }
  });
});
