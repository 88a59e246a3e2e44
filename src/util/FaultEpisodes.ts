/**
 * "Once per room per fault episode": a fault that lasts (an LLM outage, a full disk) is told
 * to each room once, not once per message; the episode ends when things work again, and the
 * next fault is told anew. Keys are rooms, or whatever the caller groups notices by.
 */
export class FaultEpisodes {
  private readonly told = new Set<string>();

  /** A fault in `key`: true when this is the first of its episode (send the notice). */
  fault(key: string): boolean {
    if (this.told.has(key)) return false;
    this.told.add(key);
    return true;
  }

  /** `key` works again: its episode is over. */
  recovered(key: string): void {
    this.told.delete(key);
  }

  /** Everything works again (a fault shared by all keys, such as the database). */
  recoveredAll(): void {
    this.told.clear();
  }

  /** Whether `key` is in a fault episode (for tests and logs). */
  inFault(key: string): boolean {
    return this.told.has(key);
  }
}
