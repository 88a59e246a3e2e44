import { LRUCache } from 'lru-cache';
import { normalizeReactionKey } from '../matrix/reactionKey.js';

/** How many reactions are remembered for de-duplication (the oldest are forgotten first). */
const REMEMBERED = 10_000;

/**
 * One reaction per person, message and (normalised) key: the first counts, variants of the same
 * key on the same message are ignored until that reaction is redacted. What the homeserver
 * does for exact keys, for the keys as we read them.
 */
export class ReactionDedupe {
  /** `sender \n target \n key` → the reaction's event id. */
  private readonly seen = new LRUCache<string, string>({ max: REMEMBERED });
  /** The reaction's event id → its entry in `seen` (to forget it when redacted). */
  private readonly byReaction = new LRUCache<string, string>({ max: REMEMBERED });

  /** True for the first reaction of this person with this key on this message. */
  first(sender: string, targetEventId: string, key: string, reactionEventId: string): boolean {
    const entry = `${sender}\n${targetEventId}\n${normalizeReactionKey(key)}`;
    const earlier = this.seen.get(entry);
    if (earlier !== undefined && earlier !== reactionEventId) return false;
    this.seen.set(entry, reactionEventId);
    this.byReaction.set(reactionEventId, entry);
    return true;
  }

  /** A reaction was redacted: the same key on the same message counts again. */
  redacted(reactionEventId: string): void {
    const entry = this.byReaction.get(reactionEventId);
    if (entry === undefined) return;
    this.byReaction.delete(reactionEventId);
    if (this.seen.get(entry) === reactionEventId) this.seen.delete(entry);
  }
}
