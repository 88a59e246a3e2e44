import type { RoomEvent } from '../matrix/events.js';
import type { InboundEvent } from './InboundEvent.js';

/**
 * One step of the event pipeline (see src/app/compose.ts for the ordered list). Steps run in
 * order for every validated event; a step's failure is logged and does not stop the next.
 * Returning 'stop' ends the pipeline for this event (the de-duplication step does, for a
 * replayed event); returning `{ event }` hands the later steps that event instead (the
 * decryption step does: they see the decrypted message).
 *
 * `inbound` is what is known about the event (sender kind, persona, command kind, room, voice),
 * worked out once: read it rather than asking the stores again.
 *
 * A room's next event waits for every step of this one: keep handle() short (bookkeeping,
 * decisions). Slow work (LLM calls, long commands) goes on a queue of its own.
 */
export interface EventStep {
  readonly name: string;
  handle(event: RoomEvent, inbound: InboundEvent): Promise<StepResult> | StepResult;
}

export type StepResult = 'continue' | 'stop' | { event: RoomEvent } | void;
