import { CachedCheck } from './CachedCheck.js';

describe('CachedCheck', () => {
  test('reuses an answer within the TTL and asks again after it', async () => {
    let now = 1000;
    let calls = 0;
    const check = new CachedCheck(async () => `answer ${++calls}`, 10_000, () => now);
    expect(await check.check()).toBe('answer 1');
    now += 9_999;
    expect(await check.check()).toBe('answer 1');
    now += 1;
    expect(await check.check()).toBe('answer 2');
    expect(calls).toBe(2);
  });

  test('a failure is cached too, so a down homeserver is not hammered', async () => {
    let now = 0;
    let calls = 0;
    const check = new CachedCheck(
      async () => {
        calls++;
        throw new Error('connection refused');
      },
      5_000,
      () => now,
    );
    await expect(check.check()).rejects.toThrow('connection refused');
    await expect(check.check()).rejects.toThrow('connection refused');
    expect(calls).toBe(1);
    now = 5_000;
    await expect(check.check()).rejects.toThrow('connection refused');
    expect(calls).toBe(2);
  });

  test('concurrent callers share one attempt', async () => {
    let calls = 0;
    let release!: (v: string) => void;
    const check = new CachedCheck(() => {
      calls++;
      return new Promise<string>((resolve) => (release = resolve));
    }, 1000);
    const both = Promise.all([check.check(), check.check()]);
    release('ok');
    expect(await both).toEqual(['ok', 'ok']);
    expect(calls).toBe(1);
  });
});
