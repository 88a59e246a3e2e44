/**
 * Who sent recent messages, by event id: answers "is this a reply to one of the persona's
 * own messages?" without an HTTP round trip for the common case of replying to something
 * recent. Bounded: the oldest entries are dropped first (a Map iterates in insertion order).
 *
 * The oldest is found with one iterator kept across calls, not a new `keys()` each time: V8
 * leaves a deleted entry as a hole until the table is rebuilt, and a new iterator walks every
 * hole left by the evictions before it (thousands, with one eviction per message stored: ~4%
 * of the bridge's CPU under ingest). A kept iterator continues where it stopped; everything
 * before it was deleted (a re-remembered id moved to the end, where the iterator meets it
 * again), so its next key is still the oldest.
 */
export class RecentSenders {
  private readonly senders = new Map<string, string>();
  private oldestFirst: Iterator<string> = this.senders.keys();

  constructor(private readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`capacity must be a positive integer, got ${capacity}`);
  }

  remember(eventId: string, sender: string): void {
    this.senders.delete(eventId);
    this.senders.set(eventId, sender);
    if (this.senders.size > this.capacity) this.senders.delete(this.oldest());
  }

  private oldest(): string {
    let next = this.oldestFirst.next();
    if (next.done) {
      // An iterator that once reached the end stays there: start a new one.
      this.oldestFirst = this.senders.keys();
      next = this.oldestFirst.next();
    }
    return next.value as string;
  }

  senderOf(eventId: string): string | undefined {
    return this.senders.get(eventId);
  }

  get size(): number {
    return this.senders.size;
  }
}
