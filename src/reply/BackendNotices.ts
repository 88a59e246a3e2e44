/**
 * A backend's `notice` (llm.notice, llm.backends.NAME.notice), said once per room: the local
 * stack's demo model writes nonsense, and the room should read why in the chat, not only on
 * the admin's terminal. Once per room and backend while the bridge runs (a restart may say it
 * once more: it is a hint, not a record); bounded for bridges with many rooms.
 */
import { LRUCache } from 'lru-cache';

export class BackendNotices {
  private readonly told = new LRUCache<string, true>({ max: 10_000 });

  constructor(private readonly noticeOf: (backend: string) => string | null) {}

  /** The notice to say now in the room, or null (none, or already said there). */
  claim(roomId: string, backend: string): string | null {
    const notice = this.noticeOf(backend);
    if (!notice) return null;
    const key = `${backend}\u0000${roomId}`;
    if (this.told.has(key)) return null;
    this.told.set(key, true);
    return notice;
  }
}
