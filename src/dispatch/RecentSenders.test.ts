import { RecentSenders } from './RecentSenders.js';

test('RecentSenders keeps the most recent entries up to its capacity', () => {
  const recent = new RecentSenders(2);
  recent.remember('$1', '@a:hs');
  recent.remember('$2', '@b:hs');
  recent.remember('$1', '@a:hs'); // seen again: now the newest
  recent.remember('$3', '@c:hs');
  expect(recent.senderOf('$2')).toBeUndefined();
  expect(recent.senderOf('$1')).toBe('@a:hs');
  expect(recent.senderOf('$3')).toBe('@c:hs');
  expect(recent.size).toBe(2);
});

test('RecentSenders drops exactly the oldest, over many evictions and re-remembered ids', () => {
  const capacity = 50;
  const recent = new RecentSenders(capacity);
  // The same operations on a plain insertion-ordered list, the rule spelled out.
  let model: string[] = [];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 5000; i++) {
    const id = random() < 0.3 && model.length > 0 ? model[Math.floor(random() * model.length)]! : `$${i}`;
    recent.remember(id, `@${id}:hs`);
    model = [...model.filter((m) => m !== id), id];
    if (model.length > capacity) model.shift();
    if (i % 97 === 0) {
      expect(recent.size).toBe(model.length);
      for (const m of model) expect(recent.senderOf(m)).toBe(`@${m}:hs`);
    }
  }
  expect(recent.size).toBe(capacity);
  for (const m of model) expect(recent.senderOf(m)).toBe(`@${m}:hs`);
});
