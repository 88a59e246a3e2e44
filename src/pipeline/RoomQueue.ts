/**
 * The one per-room queue (room events, bot commands, persona answers each have an instance).
 * Runs tasks one at a time per room, in the order they were queued, with rooms in parallel.
 * A room's entry is dropped as soon as its queue drains, so the cost of queueing does not
 * grow with the number of rooms ever seen (matrix-appservice-bridge's per-room queue keeps
 * every room and walks all of them on each event).
 */
export class RoomQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Queues the task behind the room's earlier ones; resolves or rejects as the task does. */
  run<T>(roomId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(roomId);
    const result = previous ? previous.then(task) : task();
    // A failed task must not stop the room: the next one runs after it either way.
    const tail = result.catch(() => undefined);
    this.tails.set(roomId, tail);
    void tail.then(() => {
      if (this.tails.get(roomId) === tail) this.tails.delete(roomId);
    });
    return result;
  }

  /** Rooms with queued or running tasks. */
  get activeRooms(): number {
    return this.tails.size;
  }

  /** Resolves once every queued task has finished, tasks queued meanwhile included (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
