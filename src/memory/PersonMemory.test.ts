import { FeedbackStore } from '../feedback/FeedbackStore.js';
import { DescriptionStore } from '../people/DescriptionStore.js';
import { DisclosureStore } from '../people/DisclosureStore.js';
import { openDatabase } from '../store/Database.js';
import { MemoryStore } from './MemoryStore.js';
import { NoteStore } from './NoteStore.js';
import { PersonMemory } from './PersonMemory.js';

const BOB = '@bob:hs';
const ADA = '@p_ada:hs';
const DM = '!dm:hs';
const GROUP = '!group:hs';

function setUp() {
  const db = openDatabase(':memory:');
  const memory = new MemoryStore(db);
  const notes = new NoteStore(db);
  const descriptions = new DescriptionStore(db);
  const feedback = new FeedbackStore(db);
  const disclosures = new DisclosureStore(db);
  const people = new PersonMemory(db, { descriptions, feedback, disclosures });
  let n = 0;
  const say = (roomId: string, sender: string, body: string, name = sender === BOB ? 'Bobby' : 'Someone') => {
    memory.record({ roomId, eventId: `$m${++n}`, sender, displayName: sender === ADA ? 'Ada' : name, msgtype: 'm.text', body, ts: n, threadRoot: null, fromPersona: sender === ADA });
    return `$m${n}`;
  };
  const scope = (roomId: string) => ({ personaId: ADA, roomId, threadRoot: null });
  return { db, memory, notes, descriptions, feedback, disclosures, people, say, scope };
}

describe('PersonMemory', () => {
  test("lists a person's !me, the notes they asked for or that name them, and the summaries that name them, in a fixed order", () => {
    const { memory, notes, descriptions, people, say, scope } = setUp();
    say(GROUP, BOB, 'hello');
    descriptions.set(BOB, GROUP, 'In this room I am the GM.');
    descriptions.set(BOB, null, 'I am Bob.');
    notes.add({ roomId: GROUP, personaId: null, body: 'Bring snacks.', author: BOB, eventId: null });
    notes.add({ roomId: GROUP, personaId: null, body: 'Bobby owes Carol a book.', author: '@carol:hs', eventId: null });
    notes.add({ roomId: GROUP, personaId: null, body: 'Bobbyann is unrelated.', author: '@carol:hs', eventId: null });
    memory.addChapter(scope(GROUP), { firstMessageId: 1, lastMessageId: 1, messageCount: 1, summary: 'Bobby greeted everyone.' });
    expect(people.names(BOB)).toEqual([BOB, 'bob', 'Bobby']);
    expect(people.items(BOB).map((i) => [i.kind, i.text])).toEqual([
      ['me', 'I am Bob.'],
      ['me', 'In this room I am the GM.'],
      ['note', 'Bring snacks.'],
      ['note', 'Bobby owes Carol a book.'],
      ['summary', 'Bobby greeted everyone.'],
    ]);
    expect(people.messageCount(BOB)).toEqual({ messages: 1, rooms: 1 });
  });

  test('forgetting one summary blanks it for a rewrite that leaves the person out', () => {
    const { memory, people, say, scope } = setUp();
    say(GROUP, BOB, 'hello');
    memory.addChapter(scope(GROUP), { firstMessageId: 1, lastMessageId: 1, messageCount: 1, summary: 'Bobby greeted everyone.' });
    const item = people.items(BOB).find((i) => i.kind === 'summary')!;
    expect(people.forgetItem(BOB, item)).toEqual(scope(GROUP));
    expect(memory.chapters(scope(GROUP), 5)).toEqual([]);
    expect(memory.staleChapters(scope(GROUP))).toMatchObject([{ summary: '', leaveOut: [BOB, 'bob', 'Bobby'] }]);
    expect(people.items(BOB)).toEqual([]);
  });

  test('forget me: their messages everywhere, whole rooms where only they wrote, notes, !me, reactions, disclosures; chapters blanked', () => {
    const { db, memory, notes, descriptions, feedback, disclosures, people, say, scope } = setUp();
    say(DM, BOB, 'my secret');
    const answer = say(DM, ADA, 'I will keep it');
    say(GROUP, '@carol:hs', 'hi all');
    say(GROUP, BOB, 'hi carol');
    say(GROUP, ADA, 'hello both');
    memory.addChapter(scope(DM), { firstMessageId: 1, lastMessageId: 2, messageCount: 2, summary: 'Bob told a secret.' });
    memory.addChapter(scope(GROUP), { firstMessageId: 3, lastMessageId: 5, messageCount: 3, summary: 'Carol and Bob greeted.' });
    notes.add({ roomId: GROUP, personaId: null, body: 'Carol likes jazz.', author: '@carol:hs', eventId: null });
    notes.add({ roomId: GROUP, personaId: null, body: 'bob likes tea.', author: '@carol:hs', eventId: null });
    descriptions.set(BOB, null, 'I am Bob.');
    feedback.record({ reactionEventId: '$r', roomId: DM, answerEventId: answer, personaId: ADA, sender: BOB, kind: 'up', byAdmin: false });
    disclosures.markTold(ADA, BOB);
    const report = people.forgetPerson(BOB);
    expect(report).toMatchObject({ messages: 2, rooms: 2, ownRooms: 1, notes: 1, descriptions: 1, feedback: 1, chapters: 1 });
    expect(report.scopes).toEqual([scope(GROUP)]);
    const left = (db.prepare('SELECT sender, body FROM memory_messages ORDER BY id').all() as Array<{ sender: string; body: string }>).map((r) => r.body);
    expect(left).toEqual(['hi all', 'hello both']);
    expect(memory.staleChapters(scope(DM))).toEqual([]);
    expect(memory.staleChapters(scope(GROUP))).toMatchObject([{ summary: '' }]);
    expect(notes.forPersona(GROUP, ADA).map((n) => n.body)).toEqual(['Carol likes jazz.']);
    expect(descriptions.all(BOB)).toEqual([]);
    expect(feedback.counts(ADA).up).toBe(0);
    expect(disclosures.told(ADA, BOB)).toBe(false);
    expect(people.items(BOB)).toEqual([]);
    expect(people.messageCount(BOB)).toEqual({ messages: 0, rooms: 0 });
  });
});
