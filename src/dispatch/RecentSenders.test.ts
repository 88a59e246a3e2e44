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
