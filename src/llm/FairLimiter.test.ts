import { FairLimiter } from './FairLimiter.js';

/** A task whose completion the test controls. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('FairLimiter', () => {
  test('never runs more than the limit at once', async () => {
    const limiter = new FairLimiter(2);
    let running = 0;
    let peak = 0;
    const gates = Array.from({ length: 6 }, gate);
    const done = gates.map((g, i) =>
      limiter.run(`room${i % 3}`, async () => {
        running++;
        peak = Math.max(peak, running);
        await g.promise;
        running--;
      }),
    );
    await flush();
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(4);
    for (const g of gates) {
      g.open();
      await flush();
    }
    await Promise.all(done);
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
  });

  test('rooms take turns: a busy room does not starve a quiet one', async () => {
    const limiter = new FairLimiter(1);
    const started: string[] = [];
    const first = gate();
    const tasks = [limiter.run('busy', async () => {
        started.push('busy-0');
        await first.promise;
      }),
    ];
    for (let i = 1; i <= 4; i++) tasks.push(limiter.run('busy', async () => void started.push(`busy-${i}`)));
    tasks.push(limiter.run('quiet', async () => void started.push('quiet-0')));
    await flush();
    expect(started).toEqual(['busy-0']);
    first.open();
    await Promise.all(tasks);
    // The quiet room's task, queued after four busy ones, runs second rather than sixth.
    expect(started).toEqual(['busy-0', 'busy-1', 'quiet-0', 'busy-2', 'busy-3', 'busy-4']);
  });

  test('background work waits until no interactive work is queued', async () => {
    const limiter = new FairLimiter(1);
    const started: string[] = [];
    const first = gate();
    const tasks = [limiter.run('a', () => first.promise)];
    tasks.push(limiter.run('a', async () => void started.push('summary'), 'background'));
    tasks.push(limiter.run('b', async () => void started.push('reply-b')));
    tasks.push(limiter.run('c', async () => void started.push('reply-c')));
    first.open();
    await Promise.all(tasks);
    expect(started).toEqual(['reply-b', 'reply-c', 'summary']);
  });

  test('a failing task frees its slot', async () => {
    const limiter = new FairLimiter(1);
    await expect(limiter.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run('a', async () => 'next')).resolves.toBe('next');
  });

  test('rejects a nonsensical limit', () => {
    expect(() => new FairLimiter(0)).toThrow(RangeError);
  });
});
