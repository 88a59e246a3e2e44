import { RoomQueue } from '../pipeline/RoomQueue.js';
import { drainAll, type Drainable } from './drain.js';

const queueOf = (name: string, queue: RoomQueue): Drainable => ({ name, busy: () => queue.activeRooms > 0, idle: () => queue.idle() });

describe('drainAll (what stop() waits for before closing the database)', () => {
  test('waits until all queues are idle at once, including work one queue hands another as it finishes', async () => {
    const answers = new RoomQueue();
    const summaries = new RoomQueue();
    const done: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    void answers.run('!r', async () => {
      await released;
      done.push('answer');
      // As an answer finishes it schedules a summary on the other queue, already checked as idle.
      void summaries.run('!r', async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        done.push('summary');
      });
    });
    const drained = drainAll([queueOf('summaries', summaries), queueOf('answers', answers)]);
    release();
    await drained;
    expect(done).toEqual(['answer', 'summary']);
    expect(summaries.activeRooms + answers.activeRooms).toBe(0);
  });

  test('returns at once when nothing is in flight', async () => {
    await expect(drainAll([queueOf('answers', new RoomQueue())])).resolves.toBe('drained');
  });
});
