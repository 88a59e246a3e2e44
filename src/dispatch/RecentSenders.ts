/**
 * Who sent recent messages, by event id: answers "is this a reply to one of the persona's
 * own messages?" without an HTTP round trip for the common case of replying to something
 * recent. Bounded: the oldest entries are dropped first (a Map iterates in insertion order).
 */
export class RecentSenders {
  private readonly senders = new Map<string, string>();

  constructor(private readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`capacity must be a positive integer, got ${capacity}`);
  }

  remember(eventId: string, sender: string): void {
    this.senders.delete(eventId);
    this.senders.set(eventId, sender);
    if (this.senders.size > this.capacity) {
      const oldest = this.senders.keys().next().value as string;
      this.senders.delete(oldest);
    }
  }

  senderOf(eventId: string): string | undefined {
    return this.senders.get(eventId);
  }

  get size(): number {
    return this.senders.size;
  }
}
