import { activeLore } from './lorebook.js';

const book = {
  entries: [
    { keys: ['glade'], content: 'The glade hides a spring.', enabled: true, insertion_order: 2 },
    { keys: ['Moon'], content: '{{char}} fears the moon.', enabled: true, insertion_order: 1, case_sensitive: true },
    { keys: [], content: 'Always: {{char}} is kind to {{user}}.', enabled: true, insertion_order: 5, constant: true },
    { keys: ['wolf'], content: 'Disabled entry.', enabled: false, insertion_order: 0 },
  ],
};

describe('lorebook', () => {
  test('constant entries always; keyed ones when a recent message names a key; in insertion order', () => {
    expect(activeLore(book, ['hello'], 'Seraphina')).toEqual(['Always: Seraphina is kind to the user.']);
    expect(activeLore(book, ['Where is the GLADE?', 'the Moon is up'], 'Seraphina')).toEqual([
      'Seraphina fears the moon.',
      'The glade hides a spring.',
      'Always: Seraphina is kind to the user.',
    ]);
    // Case-sensitive keys need the exact case; disabled entries never come.
    expect(activeLore(book, ['the moon and a wolf'], 'S')).toEqual(['Always: S is kind to the user.']);
  });

  test('no book, no lore; a cap on the total', () => {
    expect(activeLore(undefined, ['glade'], 'x')).toEqual([]);
    expect(activeLore(book, ['glade'], 'x', 30)).toEqual(['The glade hides a spring.']);
  });
});
