import { feedbackCommands } from '../commands/feedbackCommands.js';
import { runCommand } from '../commands/CommandRunner.js';
import { CommandTable } from '../commands/CommandTable.js';
import type { RoomEvent } from '../matrix/events.js';
import { MemoryStore } from '../memory/MemoryStore.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import { openDatabase } from '../store/Database.js';
import { describeCounts, FeedbackStore, rating } from './FeedbackStore.js';
import { FeedbackStep } from './FeedbackStep.js';

const ROOM = '!room:hs';
const ADA = '@p_ada:hs';
const ADMIN = '@admin:hs';
const ada = { name: 'Ada', userId: ADA } as Persona;
const personas: PersonaDirectory = { byUserId: (id) => (id === ADA ? ada : undefined), list: () => [ada] };

function setUp() {
  const db = openDatabase(':memory:');
  const memory = new MemoryStore(db);
  const feedback = new FeedbackStore(db);
  const step = new FeedbackStep({ feedback, memory, personas, isOurUser: (u) => u === ADA, isAdmin: (u) => u === ADMIN, isCommand: (b) => b.startsWith('!feedback') });
  let n = 0;
  const event = (sender: string, type: string, content: Record<string, unknown>, extra: Partial<RoomEvent> = {}): RoomEvent => ({
    event_id: `$e${++n}`,
    room_id: ROOM,
    sender,
    type,
    origin_server_ts: n,
    content,
    ...extra,
  });
  const answer = (body: string, sender = ADA): string => {
    const id = `$answer${++n}`;
    memory.record({ roomId: ROOM, eventId: id, sender, displayName: 'Ada', msgtype: 'm.text', body, ts: n, threadRoot: null, fromPersona: sender === ADA });
    return id;
  };
  const react = (sender: string, target: string, key: string): string => {
    const e = event(sender, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } });
    step.handle(e);
    return e.event_id;
  };
  return { db, memory, feedback, step, event, answer, react };
}

describe('feedback', () => {
  test('👍 👎 ⭐ on an answer are recorded once per person (keys normalised); other keys, other messages and our own users are not', () => {
    const { feedback, answer, react } = setUp();
    const a = answer('Numbers are poetry.');
    react('@bob:hs', a, '👍');
    react('@bob:hs', a, '👍\uFE0F'); // the same person's same reaction again
    react('@carol:hs', a, '👍🏽');
    react('@dan:hs', a, '👎');
    react('@dan:hs', a, '⭐');
    react('@dan:hs', a, '🎉');
    react(ADA, a, '👍');
    react('@bob:hs', answer('a person said this', '@eve:hs'), '👍');
    react('@bob:hs', '$unknown', '👍');
    expect(feedback.counts(ADA)).toEqual({ up: 2, down: 1, star: 1 });
    expect(describeCounts(feedback.counts(ADA))).toBe('👍 2 · 👎 1 · ⭐ 1 (67% positive)');
    expect(rating(feedback.counts(ADA))).toBeCloseTo(2 / 3);
    expect(feedback.allCounts()).toEqual([{ personaId: ADA, up: 2, down: 1, star: 1 }]);
  });

  test('a redacted reaction is withdrawn (as a redaction event carries it in v11 rooms too)', () => {
    const { feedback, answer, react, step, event } = setUp();
    const a = answer('x');
    const up = react('@bob:hs', a, '👍');
    const down = react('@carol:hs', a, '👎');
    step.handle(event('@bob:hs', 'm.room.redaction', {}, { redacts: up }));
    step.handle(event('@carol:hs', 'm.room.redaction', { redacts: down }));
    expect(feedback.counts(ADA)).toEqual({ up: 0, down: 0, star: 0 });
    expect(describeCounts(feedback.counts(ADA))).toBe('👍 0 · 👎 0 · ⭐ 0');
  });

  test("starred answers, most recently starred first: an admin's ⭐ only, or anyone's by config; gone when memory forgets the answer", () => {
    const { feedback, memory, answer, react } = setUp();
    const [first, second, third] = [answer('First fine answer.'), answer('Second fine answer.'), answer('Third, starred by a guest.')];
    react(ADMIN, first, '⭐');
    react(ADMIN, second, '⭐');
    react('@bob:hs', third, '⭐');
    expect(feedback.starredAnswers(ADA, { anyone: false, limit: 5 })).toEqual(['Second fine answer.', 'First fine answer.']);
    expect(feedback.starredAnswers(ADA, { anyone: true, limit: 5 })).toEqual(['Third, starred by a guest.', 'Second fine answer.', 'First fine answer.']);
    expect(feedback.starredAnswers(ADA, { anyone: true, limit: 1 })).toEqual(['Third, starred by a guest.']);
    expect(feedback.starredAnswers(ADA, { anyone: true, limit: 0 })).toEqual([]);
    memory.redact(second);
    expect(feedback.starredAnswers(ADA, { anyone: false, limit: 5 })).toEqual(['First fine answer.']);
  });

  test("a reply by someone who gave the answer a 👎 is its reason, for admins (!feedback); others' replies and commands are not", async () => {
    const { feedback, answer, react, step, event } = setUp();
    const a = answer('The capital of Australia is Sydney.');
    react('@bob:hs', a, '👎');
    const reply = (sender: string, body: string, target = a) => step.handle(event(sender, 'm.room.message', { msgtype: 'm.text', body, 'm.relates_to': { 'm.in_reply_to': { event_id: target } } }));
    reply('@bob:hs', '> <@p_ada:hs> The capital...\n\nWrong: it is Canberra.');
    reply('@carol:hs', 'I agree with Ada');
    reply('@bob:hs', '!feedback Ada');
    expect(feedback.reasons(ADA, 10).map((r) => [r.sender, r.body, r.answer])).toEqual([['@bob:hs', 'Wrong: it is Canberra.', 'The capital of Australia is Sydney.']]);

    const table = new CommandTable('!').add(...feedbackCommands({ feedback, personas: { recordByName: (n) => (n === 'Ada' ? ({ ...ada } as never) : undefined) }, prefix: '!' }));
    const replies: string[] = [];
    const run = (body: string, sender = ADMIN) =>
      runCommand({ table, isAdmin: (u) => u === ADMIN, reply: async (_r, t) => void replies.push(t) }, event(sender, 'm.room.message', { body }), body);
    await run('!feedback Ada');
    expect(replies.at(-1)).toMatch(
      /^Feedback on Ada's answers: 👍 0 · 👎 1 · ⭐ 0 \(0% positive\)\nWhy people gave a 👎 \(newest first, 1\):\n- \d{4}-\d\d-\d\d \d\d:\d\d UTC, @bob:hs: "Wrong: it is Canberra."\n {2}on: "The capital of Australia is Sydney." https:\/\/matrix\.to\//,
    );
    await run('!feedback Zed');
    expect(replies.at(-1)).toBe("No persona named 'Zed'. Send !persona list to see them.");
    await run('!feedback Ada', '@bob:hs');
    expect(replies.at(-1)).toBe('Sorry, only bridge admins may use !feedback.');
  });

  test('forgetting a person removes their reactions and reasons', () => {
    const { feedback, answer, react, step, event } = setUp();
    const a = answer('x');
    react('@bob:hs', a, '👎');
    react('@carol:hs', a, '👍');
    step.handle(event('@bob:hs', 'm.room.message', { body: 'because', 'm.relates_to': { 'm.in_reply_to': { event_id: a } } }));
    expect(feedback.forgetUser('@bob:hs')).toBe(2);
    expect(feedback.counts(ADA)).toEqual({ up: 1, down: 0, star: 0 });
    expect(feedback.reasons(ADA, 10)).toEqual([]);
  });
});
