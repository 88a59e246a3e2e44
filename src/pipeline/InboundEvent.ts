/**
 * What the bridge knows about an inbound event, worked out once and handed to every step with
 * it: who sent it (a person, one of our personas, the bot), the message it stands for, whether
 * that is a command and for whom, the room as the member cache sees it, and who speaks for the
 * bridge there. Steps read these instead of each asking the persona store, the namespace and
 * the command table again.
 *
 * Built by the pipeline when an event enters it, and again when a step hands on another event
 * (the decryption step: the decrypted message may be a command where the ciphertext was not).
 */
import { getLogger } from '../logging.js';
import { finalLiveAnswer } from '../matrix/liveMessages.js';
import { messageBody, type RoomEvent } from '../matrix/events.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import type { RoomVoice, Voice } from '../rooms/RoomVoice.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('InboundEvent');

/** The bridge bot, a user of our persona namespace, or anyone else (a person, another bridge's bot). */
export type SenderKind = 'bot' | 'persona' | 'person';

/** The command table's verdict (CommandTable.classify): the bot's command, a persona's, or none. */
export type CommandKind = 'bot' | 'persona';

/** The room as the member cache sees it. */
export interface RoomView {
  joined: readonly string[];
  displayName(userId: string): string | undefined;
}

export interface InboundEvent {
  /** The event as the step receives it (decrypted, once the decryption step ran). */
  readonly event: RoomEvent;
  readonly senderKind: SenderKind;
  /** The sender when it is a live persona (a despawned persona's user is 'persona' without one). */
  readonly persona: Persona | undefined;
  /**
   * The message the event stands for in the conversation: the event itself, or for the final
   * edit of a persona's live answer the completed message (see matrix/liveMessages.ts).
   */
  readonly message: RoomEvent;
  /** The message's body, for an m.room.message with one; else null. */
  readonly body: string | null;
  /** Whether the body is a command and whose (the bot's or a persona's); null when it is none, always for our own users' messages. */
  readonly command: CommandKind | null;
  /** The member cache, loaded once for this event (a failed load leaves what events told us). */
  room(): Promise<RoomView>;
  /** Who speaks for the bridge in this room (rooms/RoomVoice). */
  voice(): Promise<Voice | null>;
}

export interface InboundEventsDeps {
  botUserId: string;
  /** True for the bot and every user of the persona namespace. */
  isOurUser(userId: string): boolean;
  personas: Pick<PersonaDirectory, 'byUserId'>;
  /** THE "is this a command?" check (CommandTable.classify). */
  classify(body: string): CommandKind | null;
  members: { ensureLoaded(roomId: string): Promise<void>; joined(roomId: string): string[]; displayName(roomId: string, userId: string): string | undefined };
  voice: Pick<RoomVoice, 'voiceFor'>;
}

/** Makes the InboundEvent of each event entering the pipeline. */
export class InboundEvents {
  constructor(private readonly deps: InboundEventsDeps) {}

  of(event: RoomEvent): InboundEvent {
    const { deps } = this;
    const senderKind: SenderKind = event.sender === deps.botUserId ? 'bot' : deps.isOurUser(event.sender) ? 'persona' : 'person';
    const persona = senderKind === 'persona' ? deps.personas.byUserId(event.sender) : undefined;
    const message = (persona && finalLiveAnswer(event)) || event;
    const body = messageBody(message);
    // Only people run commands: a message of the bot or a persona (its model wrote
    // `!remember …`) is just text, whatever it looks like (issue 22).
    const command = body === null || senderKind !== 'person' ? null : deps.classify(body);
    const roomId = event.room_id;
    let loaded: Promise<void> | undefined;
    const room = async (): Promise<RoomView> => {
      loaded ??= deps.members.ensureLoaded(roomId).catch((err: unknown) => {
        // Without a full load we still know what events told us; no user of ours in the room
        // is the usual cause, and then nothing is answered anyway.
        log.debug(`members of ${roomId} not loaded: ${describeError(err)}`);
      });
      await loaded;
      // Read when asked: a member event applied since (RoomMembershipStep) is seen.
      return { joined: deps.members.joined(roomId), displayName: (userId) => deps.members.displayName(roomId, userId) };
    };
    return { event, senderKind, persona, message, body, command, room, voice: () => deps.voice.voiceFor(roomId) };
  }
}
