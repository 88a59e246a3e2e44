/** Interactive work (replies) always goes before background work (summaries). */
export type Priority = 'interactive' | 'background';

interface Waiter {
  start: () => void;
}

/**
 * Limits how many tasks run at once, and shares the slots fairly: waiting tasks are grouped
 * by key (a room), and keys take turns, so a room with fifty queued replies delays a quiet
 * room by at most one task rather than fifty. Within a key, tasks run in arrival order.
 */
export class FairLimiter {
  private running = 0;
  // Map iteration order is insertion order: the first key is next in turn, and a key that
  // still has waiters after being served is moved to the back.
  private readonly queues: Record<Priority, Map<string, Waiter[]>> = { interactive: new Map(), background: new Map() };

  constructor(private readonly maxConcurrent: number) {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError(`maxConcurrent must be a positive integer, got ${maxConcurrent}`);
  }

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    let n = 0;
    for (const queues of Object.values(this.queues)) for (const q of queues.values()) n += q.length;
    return n;
  }

  async run<T>(key: string, task: () => Promise<T>, priority: Priority = 'interactive'): Promise<T> {
    await this.acquire(key, priority);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(key: string, priority: Priority): Promise<void> {
    if (this.running < this.maxConcurrent && this.waiting === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queues = this.queues[priority];
      const queue = queues.get(key);
      const waiter = { start: resolve };
      if (queue) queue.push(waiter);
      else queues.set(key, [waiter]);
    });
  }

  private release(): void {
    this.running--;
    const next = this.takeNext();
    if (next) {
      this.running++;
      next.start();
    }
  }

  private takeNext(): Waiter | undefined {
    for (const priority of ['interactive', 'background'] as const) {
      const queues = this.queues[priority];
      const first = queues.entries().next();
      if (first.done) continue;
      const [key, queue] = first.value;
      const waiter = queue.shift()!;
      queues.delete(key);
      if (queue.length) queues.set(key, queue); // to the back of the rotation
      return waiter;
    }
    return undefined;
  }
}
