import type { ReplyRequest } from '../dispatch/Responder.js';
import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { relatesTo } from '../matrix/relations.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import type { AnswerControls } from './AnswerControls.js';
import { ReactionDedupe } from './reactionKeys.js';
import { normalizeReactionKey } from '../matrix/reactionKey.js';

const log = getLogger('ReactionControls');

/** Reaction keys that stop an answer being written (normalised: with or without VS16, spaces…). */
const STOP_KEYS = new Set(['🛑', '⏹']);
/** Reaction keys that regenerate a persona's latest answer. */
const REGENERATE_KEYS = new Set(['🔁', '🔄']);

export interface ReactionControlDeps {
  controls: AnswerControls;
  isAdmin(userId: string): boolean;
  /** Writes the answer again (the responder, off the room's event queue). */
  regenerate(request: ReplyRequest): void;
  /** True for `<prefix>stop` among the persona commands (the command table's parser). */
  isStopCommand(body: string): boolean;
  /** `!stop` also ends the room's scene (SceneDirector.stop); true when one was running. */
  stopScene?(roomId: string): boolean;
  /** 🛑 on a message of the room's running scene (or its turn being written) ends the scene; true when it did. */
  stopSceneAt?(roomId: string, eventId: string): boolean;
  /**
   * Charges a regeneration (a model call) to the person's rate limit, telling the room once per
   * burst when it is reached; false when refused.
   */
  charge?(personId: string, roomId: string): boolean;
}

/**
 * `!stop`, or 🛑 on a persona's answer in progress stops it (the person it answers, or a bridge admin);
 * either also stops the room's scene (`!converse`; 🛑 on one of its messages), whoever asks;
 * 🔁 on a persona's latest answer in the room writes it again, in place. Every other
 * reaction, and every reaction by our own users, changes nothing.
 */
export class ReactionControlStep implements EventStep {
  readonly name = 'reaction-controls';

  private readonly dedupe = new ReactionDedupe();

  constructor(private readonly deps: ReactionControlDeps) {}

  handle(event: RoomEvent, inbound: InboundEvent): void {
    // The bot's and the personas' reactions and commands are ignored (no reaction loops).
    if (inbound.senderKind !== 'person') return;
    if (event.type === 'm.room.redaction' && typeof event.redacts === 'string') return this.dedupe.redacted(event.redacts);
    if (inbound.command === 'persona' && inbound.body !== null && this.deps.isStopCommand(inbound.body)) {
      // At once, not in the room's answer queue: the answer to stop is what that queue is busy with.
      // A scene is stopped by anyone (anyone may write, which ends it too); answers, as before.
      const sceneStopped = this.deps.stopScene?.(event.room_id) ?? false;
      const stopped = this.deps.controls.stopInRoom(event.room_id, event.sender, this.deps.isAdmin(event.sender));
      this.deps.controls.noteStopRequest(event.event_id, stopped + (sceneStopped ? 1 : 0));
      return;
    }
    if (event.type !== 'm.reaction') return;
    const rel = relatesTo(event.content);
    if (rel?.rel_type !== 'm.annotation' || typeof rel.event_id !== 'string' || typeof rel.key !== 'string') return;
    const key = normalizeReactionKey(rel.key);
    if (!STOP_KEYS.has(key) && !REGENERATE_KEYS.has(key)) return;
    // The homeserver let `"🔁 "` through beside `"🔁"` (different keys to it): one counts.
    if (!this.dedupe.first(event.sender, rel.event_id, key, event.event_id)) {
      log.info(`${key} by ${event.sender} on ${rel.event_id} ignored: the same reaction was already given`);
      return;
    }
    const isAdmin = this.deps.isAdmin(event.sender);
    if (STOP_KEYS.has(key)) {
      // The scene first: its turn being written then ends marked as stopped. Anyone may stop a
      // scene (anyone may end it by writing); an answer, only the person it is for or an admin.
      const sceneStopped = this.deps.stopSceneAt?.(event.room_id, rel.event_id) ?? false;
      const outcome = this.deps.controls.stopByEvent(rel.event_id, event.sender, isAdmin);
      log.info(`stop by ${event.sender} on ${rel.event_id} in ${event.room_id}: ${sceneStopped ? 'scene stopped' : outcome}`);
      return;
    }
    if (!REGENERATE_KEYS.has(key)) return;
    if (this.deps.controls.isActive(rel.event_id)) return;
    const original = this.deps.controls.latestAnswer(event.room_id, rel.event_id);
    if (!original) {
      log.debug(`regenerate by ${event.sender} on ${rel.event_id}: not a persona's latest answer (since the last start)`);
      return;
    }
    // The person the answer was for (a scene's turn: who started the scene), or an admin.
    const owner = original.requestedBy ?? original.event.sender;
    if (owner !== event.sender && !isAdmin) {
      log.info(`regenerate by ${event.sender} on ${rel.event_id} refused: only ${owner} or an admin may`);
      return;
    }
    if (this.deps.charge && !this.deps.charge(event.sender, event.room_id)) {
      log.info(`regenerate by ${event.sender} on ${rel.event_id} refused: rate limit`);
      return;
    }
    log.info(`${original.persona.name} regenerates ${rel.event_id} in ${event.room_id} for ${event.sender}`);
    const { signal: _spent, ...rest } = original;
    this.deps.regenerate({ ...rest, requestedBy: event.sender, regenerate: rel.event_id, receivedAt: Date.now() });
  }
}
