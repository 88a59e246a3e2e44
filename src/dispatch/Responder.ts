import type { RoomEvent } from '../matrix/events.js';
import type { Timeline } from '../metrics/AnswerTimeline.js';
import type { Persona } from '../personas/Persona.js';

/** What the dispatcher hands the reply pipeline once it decided a persona answers. */
export interface ReplyRequest {
  persona: Persona;
  /** The message being answered. */
  event: RoomEvent;
  /**
   * The person who started this answer, charged for it (rate limit, usage and its caps): whose
   * message it answers, who ran `!next` or 🔁, who started the scene, or for a persona
   * answering a persona the person who last spoke in the room. Never a persona; null only when
   * no person is known (then nobody is charged, the turn budget and loop guard still apply).
   */
  requestedBy: string | null;
  /** Exactly two joined members: the persona and one other. */
  isDirect: boolean;
  /** The thread the message is in (its `m.thread` root), if any. */
  threadRootId: string | null;
  /** When the bridge received the event (ms), for the queue-wait part of reply latency. */
  receivedAt: number;
  /**
   * Aborted when the answer is no longer wanted (its room's turn budget ran out): the
   * responder then stops wherever it is (model call included) and sends nothing.
   */
  signal?: AbortSignal;
  /** Regenerate: write the answer again into this earlier answer (edited in place). */
  regenerate?: string;
  /** A scene's turn (`!converse`, see scenes/): what the persona's prompt gets besides its memory. */
  scene?: SceneCue;
  /** Called with each message of the answer once sent (a scene follows its turns with it). */
  onSent?: (eventId: string, body: string) => void;
  /**
   * Where the bridge's time went since the message arrived (metrics/AnswerTimeline.ts), lapped
   * until the model is asked; the first answer to a message only (the others wait for it).
   */
  timeline?: Timeline;
}

/**
 * The abort reason of an answer a person stopped (🛑, `!stop`, a scene stopped): what was
 * written stays, marked as stopped. Other reasons (the turn budget, shutdown) end it unmarked.
 */
export const STOPPED_BY_PERSON = 'stopped';

/** The scene's part of a turn's prompt. */
export interface SceneCue {
  /** Added to the system prompt: the topic, the others, which turn this is. */
  direction: string;
  /**
   * First turn only: what stands for the `!converse` message being answered (a command is not
   * conversation, so it is neither remembered nor shown to the model as written).
   */
  opening: string | null;
}

/** The persona reply pipeline (prompt, LLM, send). Must not throw for LLM failures: it reports them in the room. */
export interface Responder {
  respond(request: ReplyRequest): Promise<void>;
}
