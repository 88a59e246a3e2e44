import type { ReplyRequest } from '../dispatch/Responder.js';

/** An answer being written, as the stop controls see it. */
export interface ActiveAnswer {
  roomId: string;
  personaId: string;
  /** Who the answer is for: they (or a bridge admin) may stop it. */
  requester: string;
  /** The live message once visible; null before. */
  eventId: string | null;
  stop(): void;
}

export type StopOutcome = 'stopped' | 'not-found' | 'not-allowed';

/** Answers remembered for regeneration (the newest per persona and room). */
const MAX_REMEMBERED = 2000;

/**
 * Stop and regenerate. Keeps the answers being written (🛑 or `!stop` ends one and leaves
 * what was written) and each persona's latest answer per room with the request that produced
 * it (🔁 on it writes it again, in place). Regeneration works for answers written since the
 * bridge last started; older ones are not remembered.
 */
export class AnswerControls {
  private readonly active = new Set<ActiveAnswer>();
  /** `${roomId}|${personaId}` → the latest answer there; insertion order = age (LRU). */
  private readonly latest = new Map<string, { eventId: string; request: ReplyRequest }>();

  begin(answer: ActiveAnswer): () => void {
    this.active.add(answer);
    return () => this.active.delete(answer);
  }

  /** 🛑 on a live message: stops the answer writing it. */
  stopByEvent(eventId: string, by: string, isAdmin: boolean): StopOutcome {
    const answer = [...this.active].find((a) => a.eventId === eventId);
    if (!answer) return 'not-found';
    if (answer.requester !== by && !isAdmin) return 'not-allowed';
    answer.stop();
    return 'stopped';
  }

  /** `!stop` in a room: stops the answers there written for `by` (all of them for an admin). */
  stopInRoom(roomId: string, by: string, isAdmin: boolean, personaId?: string): number {
    let stopped = 0;
    for (const answer of this.active) {
      if (answer.roomId !== roomId || (personaId && answer.personaId !== personaId)) continue;
      if (answer.requester !== by && !isAdmin) continue;
      answer.stop();
      stopped++;
    }
    return stopped;
  }

  /** `!stop` messages already acted on (the step stops at once; the command reports later). */
  private readonly stopRequests = new Map<string, number>();

  /** Records what a `!stop` message stopped, for the command's answer. */
  noteStopRequest(eventId: string, stopped: number): void {
    this.stopRequests.set(eventId, stopped);
    if (this.stopRequests.size > 200) this.stopRequests.delete(this.stopRequests.keys().next().value!);
  }

  /** How many answers the `!stop` message stopped (undefined: it was not seen). */
  stopRequestResult(eventId: string): number | undefined {
    return this.stopRequests.get(eventId);
  }

  /** True while `eventId` is a live message being written. */
  isActive(eventId: string): boolean {
    return [...this.active].some((a) => a.eventId === eventId);
  }

  remember(request: ReplyRequest, eventId: string): void {
    const key = `${request.event.room_id}|${request.persona.userId}`;
    this.latest.delete(key);
    this.latest.set(key, { eventId, request });
    if (this.latest.size > MAX_REMEMBERED) this.latest.delete(this.latest.keys().next().value!);
  }

  /** The request behind `eventId` when it is its persona's latest answer in the room. */
  latestAnswer(roomId: string, eventId: string): ReplyRequest | undefined {
    for (const [key, entry] of this.latest) {
      if (entry.eventId === eventId && key.startsWith(`${roomId}|`)) return entry.request;
    }
    return undefined;
  }
}
