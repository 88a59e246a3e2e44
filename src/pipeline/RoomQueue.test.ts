import { RoomQueue } from './RoomQueue.js';

/** A task that waits until released, recording when it starts and ends. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    release,
    task: async () => {
      log.push(`${name} start`);
      await released;
      log.push(`${name} end`);
    },
  };
}

describe('RoomQueue', () => {
  test('runs one room in order, one task at a time', async () => {
    const queue = new RoomQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const done = [queue.run('!r', a.task), queue.run('!r', b.task)];
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    b.release();
    a.release();
    await Promise.all(done);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  test('rooms do not wait for each other', async () => {
    const queue = new RoomQueue();
    const log: string[] = [];
    const slow = gate(log, 'slow');
    const fast = gate(log, 'fast');
    const slowDone = queue.run('!one', slow.task);
    fast.release();
    await queue.run('!two', fast.task);
    expect(log).toEqual(['slow start', 'fast start', 'fast end']);
    slow.release();
    await slowDone;
  });

  test('a failing task rejects its own promise and the room goes on', async () => {
    const queue = new RoomQueue();
    const ran: string[] = [];
    const failed = queue.run('!r', async () => {
      throw new Error('boom');
    });
    const next = queue.run('!r', async () => {
      ran.push('next');
    });
    await expect(failed).rejects.toThrow('boom');
    await next;
    expect(ran).toEqual(['next']);
  });

  test('forgets a room once its queue drains', async () => {
    const queue = new RoomQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    const done = queue.run('!r', a.task);
    expect(queue.activeRooms).toBe(1);
    a.release();
    await done;
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.activeRooms).toBe(0);
  });
});
