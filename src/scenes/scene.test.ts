import { nextInRoster, parseConverse, Scene, type SceneStart } from './scene.js';
import { sceneEnded } from './messages.js';

const start = (turns = 3): SceneStart => ({
  roomId: '!r',
  topic: 'tea',
  turns,
  startedBy: '@alice',
  start: { eventId: '$start', sender: '@alice', body: `!converse ${turns} tea` },
  threadRootId: null,
});
const p = (name: string) => ({ name, userId: `@${name.toLowerCase()}` });
const [ara, bex, cyd] = [p('Ara'), p('Bex'), p('Cyd')];

describe('parseConverse', () => {
  test('a whole number of turns within the budget, then the topic (spacing kept inside it)', () => {
    expect(parseConverse('6 the best  tea ', 10)).toEqual({ ok: true, turns: 6, topic: 'the best  tea' });
    expect(parseConverse('  1\tx', 1)).toEqual({ ok: true, turns: 1, topic: 'x' });
    expect(parseConverse('10 line one\nline two', 10)).toEqual({ ok: true, turns: 10, topic: 'line one\nline two' });
  });

  test.each(['', '6', '   ', 'tea'])('no turns or no topic (%j) is a syntax error', (rest) => {
    expect(parseConverse(rest, 10)).toEqual({ ok: false, problem: 'syntax' });
  });

  test.each(['0', '11', '-1', '2.5', 'six', '1e1', '0x3'])('%s turns with a budget of 10 is refused', (asked) => {
    expect(parseConverse(`${asked} tea`, 10)).toEqual({ ok: false, problem: 'turns', asked });
  });

  test('a budget of 0 allows no scene at all', () => {
    expect(parseConverse('1 tea', 0)).toEqual({ ok: false, problem: 'turns', asked: '1' });
  });
});

describe('Scene', () => {
  test('counts turns, follows the last one, completes at exactly `turns`', () => {
    const scene = new Scene(start(2));
    expect(scene.last.eventId).toBe('$start');
    expect(scene.nextTurn).toBe(1);
    scene.turnTaken({ eventId: '$1', sender: ara.userId, body: 'one' });
    expect([scene.taken, scene.complete, scene.last.eventId]).toEqual([1, false, '$1']);
    scene.turnTaken({ eventId: '$2', sender: bex.userId, body: 'two' });
    expect([scene.taken, scene.complete, [...scene.spoke]]).toEqual([2, true, [ara.userId, bex.userId]]);
  });

  test('the first reason to end it stands; an ended scene takes no more turns', () => {
    const scene = new Scene(start());
    expect(scene.end('person-spoke')).toBe(true);
    expect(scene.end('stopped')).toBe(false);
    expect(scene.endedBy).toBe('person-spoke');
    scene.turnTaken({ eventId: '$1', sender: ara.userId, body: 'late' });
    expect(scene.taken).toBe(0);
  });

  test('any person message ends it except the !converse message that started it', () => {
    const scene = new Scene(start());
    expect(scene.endedByPersonMessage('$start')).toBe(false);
    expect(scene.endedByPersonMessage('$other')).toBe(true);
    scene.end('stopped');
    expect(scene.endedByPersonMessage('$other')).toBe(false);
  });
});

describe('nextInRoster', () => {
  test('roster order, round after round, never the last speaker twice in a row', () => {
    const scene = new Scene(start(7));
    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      const next = nextInRoster([ara, bex, cyd], scene)!;
      order.push(next.name);
      scene.turnTaken({ eventId: `$${i}`, sender: next.userId, body: '' });
    }
    expect(order).toEqual(['Ara', 'Bex', 'Cyd', 'Ara', 'Bex', 'Cyd', 'Ara']);
  });

  test('a persona who joins mid-scene gets the next turn; one who left is skipped', () => {
    const scene = new Scene(start(5));
    scene.turnTaken({ eventId: '$1', sender: ara.userId, body: '' });
    scene.turnTaken({ eventId: '$2', sender: bex.userId, body: '' });
    expect(nextInRoster([ara, bex, cyd], scene)).toBe(cyd);
    expect(nextInRoster([ara, bex], scene)).toBe(ara);
    // Bex (the last speaker) left: the roster starts again from its first.
    expect(nextInRoster([ara, cyd], scene)).toBe(cyd);
  });
});

describe('scene notices', () => {
  test('a person ending the scene needs no notice; the others say how far it got', () => {
    expect(sceneEnded('person-spoke', 2, 6, '!')).toBeNull();
    expect(sceneEnded('finished', 6, 6, '!')).toBe('The scene is over (6 of 6 turns). To go on: !converse again, !next, or just say something.');
    expect(sceneEnded('stopped', 2, 6, '!')).toBe('Scene stopped after 2 of 6 turns.');
    expect(sceneEnded('shutdown', 1, 1, '!')).toMatch(/^The bridge is stopping, so the scene ends here \(1 of 1 turn\); scenes do not resume/);
  });
});
