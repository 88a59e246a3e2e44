import fc from 'fast-check';
import { isTurnBudgetExhausted, TurnBudget } from './TurnBudget.js';

const ROOM = '!r:hs';
const OTHER = '!o:hs';

describe('TurnBudget', () => {
  test('grants persona-triggered answers up to the limit, then trips once', () => {
    const budget = new TurnBudget({ defaultLimit: 3 });
    const grants = [1, 2, 3].map(() => budget.request(ROOM, 'persona'));
    expect(grants.every((g) => g.granted)).toBe(true);
    expect(budget.request(ROOM, 'persona')).toEqual({ granted: false, notify: true, limit: 3 });
    expect(budget.request(ROOM, 'persona')).toEqual({ granted: false, notify: false, limit: 3 });
    expect(budget.isTripped(ROOM)).toBe(true);
  });

  test('tripping aborts the signal every granted persona answer of the room holds', () => {
    const budget = new TurnBudget({ defaultLimit: 2 });
    const a = budget.request(ROOM, 'persona');
    const b = budget.request(ROOM, 'persona');
    const elsewhere = budget.request(OTHER, 'persona');
    if (!a.granted || !b.granted || !elsewhere.granted) throw new Error('expected grants');
    expect(a.signal.aborted).toBe(false);
    budget.request(ROOM, 'persona');
    expect(a.signal.aborted).toBe(true);
    expect(b.signal.aborted).toBe(true);
    expect(isTurnBudgetExhausted(a.signal.reason)).toBe(true);
    expect(elsewhere.signal.aborted).toBe(false);
  });

  test('answers to a person are always granted, counted, and never cancelled by a trip', () => {
    const budget = new TurnBudget({ defaultLimit: 2 });
    budget.request(ROOM, 'persona');
    budget.request(ROOM, 'persona');
    budget.request(ROOM, 'persona'); // trips
    const toPerson = budget.request(ROOM, 'person');
    expect(toPerson.granted).toBe(true);
    const again = new TurnBudget({ defaultLimit: 2 });
    const first = again.request(ROOM, 'person');
    expect(again.used(ROOM)).toBe(1);
    again.request(ROOM, 'persona');
    expect(again.request(ROOM, 'persona').granted).toBe(false);
    if (!first.granted) throw new Error('expected a grant');
    expect(first.signal.aborted).toBe(false);
  });

  test('a person speaking starts a fresh count and lifts the trip', () => {
    const budget = new TurnBudget({ defaultLimit: 1 });
    budget.request(ROOM, 'persona');
    expect(budget.request(ROOM, 'persona').granted).toBe(false);
    budget.personSpoke(ROOM);
    expect(budget.isTripped(ROOM)).toBe(false);
    expect(budget.request(ROOM, 'persona').granted).toBe(true);
    expect(budget.trackedRooms).toBe(1);
  });

  test('a per-room override from the lookup applies at once; nonsense falls back to the default', () => {
    const overrides = new Map<string, number>([[ROOM, 1]]);
    const budget = new TurnBudget({ defaultLimit: 4, limitFor: (roomId) => overrides.get(roomId) });
    expect(budget.limitFor(ROOM)).toBe(1);
    expect(budget.limitFor(OTHER)).toBe(4);
    expect(budget.request(ROOM, 'persona').granted).toBe(true);
    expect(budget.request(ROOM, 'persona').granted).toBe(false);
    overrides.set(OTHER, 0);
    expect(budget.request(OTHER, 'persona')).toEqual({ granted: false, notify: true, limit: 0 });
    overrides.set(OTHER, -3);
    expect(budget.limitFor(OTHER)).toBe(4);
    overrides.set(OTHER, 1.5);
    expect(budget.limitFor(OTHER)).toBe(4);
  });

  test('stop() cancels the room at once; the next refusal sends no second notice', () => {
    const budget = new TurnBudget({ defaultLimit: 5 });
    const a = budget.request(ROOM, 'persona');
    budget.stop(ROOM);
    if (!a.granted) throw new Error('expected a grant');
    expect(a.signal.aborted).toBe(true);
    expect(budget.request(ROOM, 'persona')).toEqual({ granted: false, notify: false, limit: 5 });
  });

  test('rejects a nonsensical default', () => {
    expect(() => new TurnBudget({ defaultLimit: 0 })).toThrow(/defaultLimit/);
    expect(() => new TurnBudget({ defaultLimit: 2.5 })).toThrow(/defaultLimit/);
  });

  test('property: between two person messages, at most `limit` persona-triggered grants and exactly one notice per trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.constantFrom('person', 'persona', 'speak'), { maxLength: 200 }), (limit, steps) => {
        const budget = new TurnBudget({ defaultLimit: limit });
        let personaGrants = 0;
        let notices = 0;
        for (const step of steps) {
          if (step === 'speak') {
            budget.personSpoke(ROOM);
            personaGrants = notices = 0;
            continue;
          }
          const grant = budget.request(ROOM, step);
          if (grant.granted && step === 'persona') personaGrants++;
          if (!grant.granted && grant.notify) notices++;
          if (personaGrants > limit || notices > 1) return false;
        }
        return true;
      }),
    );
  });
});

describe('TurnBudget.requestAnother (more answers to one person message)', () => {
  test('granted while the budget lasts, refused after without tripping; a later trip does not cancel them', () => {
    const turns = new TurnBudget({ defaultLimit: 3 });
    const first = turns.request('!r', 'person');
    const second = turns.requestAnother('!r');
    const third = turns.requestAnother('!r');
    expect([first.granted, second.granted, third.granted]).toEqual([true, true, true]);
    expect(turns.requestAnother('!r')).toEqual({ granted: false, notify: true, limit: 3 });
    expect(turns.isTripped('!r')).toBe(false);
    expect(turns.request('!r', 'persona').granted).toBe(false);
    expect(turns.isTripped('!r')).toBe(true);
    expect(second.granted && second.signal.aborted).toBe(false);
    expect(third.granted && third.signal.aborted).toBe(false);
  });
});
