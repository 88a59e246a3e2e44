/**
 * Which personas answer a message, in which order. Pure: membership, personas and the sender
 * of a replied-to message are given by the caller.
 */
import type { RoomEvent } from '../matrix/events.js';
import { isEdit } from '../matrix/relations.js';
import type { Persona } from '../personas/Persona.js';
import type { RoomView } from '../pipeline/InboundEvent.js';
import type { OrderMode } from '../rooms/roomSettings.js';
import { foldName } from '../util/nameFolding.js';
import { chooseSpeakers, DEFAULT_TALKATIVENESS } from './speakerOrder.js';

/**
 * Why an event can never make a persona answer, or null when it may. Checked before any
 * membership lookup, so it must stay cheap.
 */
export function whyNotATrigger(event: RoomEvent, now: number, maxEventAgeMs: number): string | null {
  // Stickers are images a persona may be shown (src/media), answered like messages.
  if ((event.type !== 'm.room.message' && event.type !== 'm.sticker') || event.state_key !== undefined) return 'not a message';
  const content = event.content;
  if (event.unsigned?.redacted_because !== undefined) return 'redacted';
  if (typeof content.body !== 'string') return 'no body';
  if (content.msgtype === 'm.notice') return 'notice';
  if (isEdit(content)) return 'edit';
  // After downtime Synapse delivers the backlog; answering it would be confusing.
  if (now - event.origin_server_ts > maxEventAgeMs) return 'too old';
  return null;
}


/** The room's order mode and what choosing by it needs (see speakerOrder). */
export interface OrderContext {
  mode: OrderMode;
  /** The personas given, in the room's roster order. */
  roster(personas: Persona[]): Persona[];
  /** False for a persona that stays silent here whatever it is asked (muted, no power to send). */
  maySpeak(persona: Persona): boolean;
  /** Personas that spoke since a person last wrote; for a person's message, in the round before it. */
  spokeSincePerson: ReadonlySet<string>;
  talkativeness(persona: Persona): number;
  random(): number;
}

export interface DecisionInput {
  event: RoomEvent;
  room: RoomView;
  personaOf(userId: string): Persona | undefined;
  /** Who sent the message this one replies to, when it is a reply and that is known. */
  repliedToSender: string | null;
  /** The room's order; without it, `mention` with every persona allowed to speak. */
  order?: OrderContext;
}

export interface Decision {
  /** In the order they answer. */
  responders: Persona[];
  /** A person alone with one persona: it answers everything. */
  isDirect: boolean;
}

const MENTION_ORDER: OrderContext = {
  mode: 'mention',
  roster: (personas) => personas,
  maySpeak: () => true,
  spokeSincePerson: new Set(),
  talkativeness: () => DEFAULT_TALKATIVENESS,
  random: Math.random,
};

/**
 * Two joined members, one a persona and the other the (human) sender: the persona answers
 * everything, whatever the room's order. Otherwise the room's order mode decides among the
 * personas that may speak (speakerOrder; by default `mention`: each persona addressed
 * answers, in the order named). A persona never answers itself.
 */
export function decideResponders({ event, room, personaOf, repliedToSender, order = MENTION_ORDER }: DecisionInput): Decision {
  const inRoom = room.joined
    .filter((userId) => userId !== event.sender)
    .map((userId) => personaOf(userId))
    .filter((p): p is Persona => p !== undefined);
  if (inRoom.length === 0) return { responders: [], isDirect: false };
  const present = order.roster(inRoom).filter((p) => order.maySpeak(p));

  const senderIsPerson = personaOf(event.sender) === undefined;
  if (room.joined.length === 2 && inRoom.length === 1 && senderIsPerson && room.joined.includes(event.sender)) {
    return { responders: present, isDirect: true };
  }
  const responders = chooseSpeakers({
    mode: order.mode,
    trigger: 'message',
    present,
    message: { sender: event.sender, fromPerson: senderIsPerson, content: event.content, repliedToSender },
    spokeSincePerson: order.spokeSincePerson,
    talkativeness: order.talkativeness,
    random: order.random,
    namesOf: (p) => namesOf(p, room),
  });
  return { responders, isDirect: false };
}

/** The persona's name and, when different, its displayname in this room. */
export function namesOf(persona: Persona, room: RoomView): string[] {
  const roomName = room.displayName(persona.userId);
  return roomName && foldName(roomName) !== foldName(persona.name) ? [persona.name, roomName] : [persona.name];
}
