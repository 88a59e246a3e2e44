import { LoopGuard, repeatingCycle } from './LoopGuard.js';

const ROOM = '!r:hs';
const A = '@a:hs';
const B = '@b:hs';
const C = '@c:hs';
const D = '@d:hs';

function guard(threshold = 3, resetAfterMs = 1000) {
  const clock = { t: 0 };
  const loops = new LoopGuard({ threshold, resetAfterMs, now: () => clock.t });
  /** Records persona messages and returns whether the room is looping after each. */
  const say = (...senders: string[]) =>
    senders.map((s) => {
      loops.recordPersona(ROOM, s);
      return loops.loopIn(ROOM) !== null;
    });
  return { loops, clock, say };
}

describe('LoopGuard', () => {
  test('two personas: loops once A,B has repeated `threshold` times, not before', () => {
    const { loops, say } = guard(3);
    expect(say(A, B, A, B, A)).toEqual([false, false, false, false, false]);
    expect(say(B)).toEqual([true]);
    expect(loops.loopIn(ROOM)).toEqual([A, B]);
  });

  test('three personas: A,B,C repeated', () => {
    const { loops, say } = guard(2);
    expect(say(A, B, C, A, B)).toEqual([false, false, false, false, false]);
    expect(say(C)).toEqual([true]);
    expect(loops.loopIn(ROOM)).toEqual([A, B, C]);
  });

  test('irregular turns are not a loop', () => {
    const { say } = guard(2);
    expect(say(A, B, A, C, A, B, B, C).some(Boolean)).toBe(false);
  });

  test('one persona talking on its own is not a loop', () => {
    const { say } = guard(2);
    expect(say(A, A, A, A, A, A).some(Boolean)).toBe(false);
  });

  test('anyone else speaking resets the chain', () => {
    const { loops, say } = guard(2);
    say(A, B, A);
    loops.recordOther(ROOM);
    expect(say(B, A, B)).toEqual([false, false, false]);
    expect(say(A)).toEqual([true]);
  });

  test('a human message after a suppression lets them talk again', () => {
    const { loops, say } = guard(2);
    say(A, B, A, B);
    expect(loops.markSuppressed(ROOM)).toBe(true);
    loops.recordOther(ROOM);
    expect(loops.loopIn(ROOM)).toBeNull();
    expect(say(A, B)).toEqual([false, false]);
  });

  test('quiet for resetAfterMs resets the chain', () => {
    const { loops, clock, say } = guard(2, 1000);
    say(A, B, A);
    clock.t += 999;
    expect(say(B)).toEqual([true]); // still inside the quiet period
    loops.recordOther(ROOM);
    say(A, B, A);
    clock.t += 1000;
    expect(loops.loopIn(ROOM)).toBeNull();
    expect(say(B)).toEqual([false]);
  });

  test('the notice is asked for once per loop, while later persona messages stay suppressed', () => {
    const { loops, say } = guard(2);
    say(A, B, A, B);
    expect(loops.markSuppressed(ROOM)).toBe(true);
    expect(say(A)).toEqual([true]); // an answer that was already on its way
    expect(loops.markSuppressed(ROOM)).toBe(false);
  });

  test('rooms are independent', () => {
    const { loops, say } = guard(2);
    say(A, B, A, B);
    expect(loops.loopIn('!other:hs')).toBeNull();
  });

  test('rejects nonsense options', () => {
    expect(() => new LoopGuard({ threshold: 1, resetAfterMs: 1 })).toThrow(/threshold/);
    expect(() => new LoopGuard({ threshold: 2, resetAfterMs: 0 })).toThrow(/resetAfterMs/);
  });
});

describe('repeatingCycle', () => {
  test.each([
    [[A, B, A, B], 2, [A, B]],
    [[C, A, B, A, B], 2, [A, B]],
    [[A, B, C, A, B, C, A, B, C], 3, [A, B, C]],
    [[A, B, A], 2, null],
    [[A, B, C, A, B, D], 2, null],
  ])('%j x%i', (senders, times, expected) => expect(repeatingCycle(senders, times, 8)).toEqual(expected));
});
