import { openDatabase } from '../store/Database.js';
import { FirstMessages } from './FirstMessages.js';
import { PersonaCardStore } from './PersonaCardStore.js';

test('a first message greets each direct chat once, naming the person', async () => {
  const db = openDatabase(':memory:');
  db.prepare(`INSERT INTO personas (user_id, name, prompt, created_at, creator, status) VALUES ('@p:hs', 'P', 'x', 0, 'c', 'active'), ('@q:hs', 'Q', 'x', 0, 'c', 'active')`).run();
  const cards = new PersonaCardStore(db);
  cards.set('@p:hs', { firstMessage: '*waves at {{user}}* Hello!', card: {} });
  const sent: string[] = [];
  const first = new FirstMessages({
    cards,
    displayName: async (_room, u) => (u === '@zoe:hs' ? 'Zoë' : null),
    send: async (personaId, roomId, text) => void sent.push(`${personaId} ${roomId} ${text}`),
  });
  expect(await first.greet('@p:hs', '!dm:hs', '@zoe:hs')).toBe(true);
  expect(await first.greet('@p:hs', '!dm:hs', '@zoe:hs')).toBe(false);
  expect(await first.greet('@p:hs', '!dm2:hs', '@bob:hs')).toBe(true);
  // No first message: nothing.
  expect(await first.greet('@q:hs', '!dm3:hs', '@zoe:hs')).toBe(false);
  expect(sent).toEqual(['@p:hs !dm:hs *waves at Zoë* Hello!', '@p:hs !dm2:hs *waves at bob* Hello!']);
});
