import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { normalizeReactionKey } from '../matrix/reactionKey.js';
import { relatesTo, repliedToEventId } from '../matrix/relations.js';
import type { StoredMessage } from '../memory/MemoryStore.js';
import { stripReplyFallback } from '../memory/messageFromEvent.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { FeedbackKind, FeedbackStore } from './FeedbackStore.js';

const log = getLogger('Feedback');

/** The reactions that are feedback, by their normalised key. */
const KINDS: Record<string, FeedbackKind> = { '👍': 'up', '👎': 'down', '⭐': 'star' };

export interface FeedbackStepDeps {
  feedback: Pick<FeedbackStore, 'record' | 'withdraw' | 'gaveDown' | 'addReason'>;
  /** The answer reacted to, as remembered (personas' answers are remembered when sent). */
  memory: { byEventId(eventId: string): StoredMessage | undefined };
  personas: PersonaDirectory;
  /** The bot and the personas: their reactions and replies are no feedback. */
  isOurUser(userId: string): boolean;
  isAdmin(userId: string): boolean;
  /** A command is no reason. */
  isCommand(body: string): boolean;
}

/**
 * Records what people think of the personas' answers: 👍, 👎 and ⭐ reactions on an answer
 * (who, which answer, which persona; the key normalised, so 👍️ and 👍🏽 count), withdrawn when
 * the reaction is redacted; and, when someone who gave an answer a 👎 replies to it, the reply
 * as the reason, kept for admins.
 */
export class FeedbackStep implements EventStep {
  readonly name = 'feedback';

  constructor(private readonly deps: FeedbackStepDeps) {}

  handle(event: RoomEvent): void {
    if (this.deps.isOurUser(event.sender)) return;
    if (event.type === 'm.reaction') this.reaction(event);
    else if (event.type === 'm.room.redaction') this.redaction(event);
    else if (event.type === 'm.room.message') this.reason(event);
  }

  private reaction(event: RoomEvent): void {
    const rel = relatesTo(event.content);
    if (rel?.rel_type !== 'm.annotation' || typeof rel.event_id !== 'string' || typeof rel.key !== 'string') return;
    const kind = KINDS[normalizeReactionKey(rel.key)];
    if (!kind) return;
    const answer = this.answer(rel.event_id, event.room_id);
    if (!answer) return;
    const recorded = this.deps.feedback.record({
      reactionEventId: event.event_id,
      roomId: event.room_id,
      answerEventId: answer.eventId,
      personaId: answer.sender,
      sender: event.sender,
      kind,
      byAdmin: this.deps.isAdmin(event.sender),
    });
    if (!recorded) return;
    log.info(`${kind} from ${event.sender} on ${answer.eventId} by ${answer.sender} in ${event.room_id}`);
  }

  private redaction(event: RoomEvent): void {
    const redacts = event.redacts ?? (typeof event.content.redacts === 'string' ? event.content.redacts : undefined);
    if (!redacts) return;
    const withdrawn = this.deps.feedback.withdraw(redacts);
    if (!withdrawn) return;
    log.info(`${withdrawn.kind} on an answer of ${withdrawn.personaId} withdrawn in ${event.room_id}`);
  }

  /** A reply to an answer its sender gave a 👎: the reason, kept for admins. */
  private reason(event: RoomEvent): void {
    const target = repliedToEventId(event.content);
    const body = typeof event.content.body === 'string' ? stripReplyFallback(event.content.body).trim() : '';
    if (!target || !body || this.deps.isCommand(body)) return;
    const down = this.deps.feedback.gaveDown(target, event.sender);
    if (!down) return;
    this.deps.feedback.addReason({ eventId: event.event_id, roomId: event.room_id, answerEventId: target, personaId: down.personaId, sender: event.sender, body });
    log.info(`${event.sender} said why they gave ${target} a 👎`);
  }

  /** The persona's answer behind this event in this room, if it is one. */
  private answer(eventId: string, roomId: string): StoredMessage | undefined {
    const stored = this.deps.memory.byEventId(eventId);
    if (!stored || stored.roomId !== roomId || !stored.fromPersona || !this.deps.personas.byUserId(stored.sender)) return undefined;
    return stored;
  }
}
