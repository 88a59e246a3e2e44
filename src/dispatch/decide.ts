/**
 * Which personas answer a message, in which order. Pure: membership, personas and the sender
 * of a replied-to message are given by the caller.
 */
import type { RoomEvent } from '../matrix/events.js';
import { isEdit } from '../matrix/relations.js';
import type { Persona } from '../personas/Persona.js';
import { intentionalMentions, isAddressed, textMentionIndex, type MentionTarget } from './mentions.js';

/**
 * Why an event can never make a persona answer, or null when it may. Checked before any
 * membership lookup, so it must stay cheap.
 */
export function whyNotATrigger(event: RoomEvent, now: number, maxEventAgeMs: number): string | null {
  if (event.type !== 'm.room.message' || event.state_key !== undefined) return 'not a message';
  const content = event.content;
  if (event.unsigned?.redacted_because !== undefined) return 'redacted';
  if (typeof content.body !== 'string') return 'no body';
  if (content.msgtype === 'm.notice') return 'notice';
  if (isEdit(content)) return 'edit';
  // After downtime Synapse delivers the backlog; answering it would be confusing.
  if (now - event.origin_server_ts > maxEventAgeMs) return 'too old';
  return null;
}

/** The room as the dispatcher sees it when the message arrives. */
export interface RoomView {
  joined: readonly string[];
  displayName(userId: string): string | undefined;
}

export interface DecisionInput {
  event: RoomEvent;
  room: RoomView;
  personaOf(userId: string): Persona | undefined;
  /** Who sent the message this one replies to, when it is a reply and that is known. */
  repliedToSender: string | null;
}

export interface Decision {
  /** In the order they answer. */
  responders: Persona[];
  /** A person alone with one persona: it answers everything. */
  isDirect: boolean;
}

/**
 * Two joined members, one a persona and the other the (human) sender: the persona answers.
 * Otherwise each persona in the room answers when addressed (mentioned, or replied to by a
 * person), in the order they appear in the message. A persona never answers itself.
 */
export function decideResponders({ event, room, personaOf, repliedToSender }: DecisionInput): Decision {
  const present = room.joined
    .filter((userId) => userId !== event.sender)
    .map((userId) => personaOf(userId))
    .filter((p): p is Persona => p !== undefined);
  if (present.length === 0) return { responders: [], isDirect: false };

  const senderIsPerson = personaOf(event.sender) === undefined;
  if (room.joined.length === 2 && present.length === 1 && senderIsPerson && room.joined.includes(event.sender)) {
    return { responders: present, isDirect: true };
  }

  const targetOf = (p: Persona): MentionTarget => ({ userId: p.userId, names: namesOf(p, room) });
  // A person replying to a persona's message addresses it. A persona's answer is sent as a
  // reply to what it answers by construction, not to summon anyone: from personas only
  // their (always present) m.mentions count, or any exchange would run until the loop guard.
  const replyTarget = senderIsPerson ? repliedToSender : null;
  const addressed = present.filter((p) => isAddressed(event.content, targetOf(p), replyTarget));
  const intentional = intentionalMentions(event.content) ?? [];
  // Named in the text: by position. Otherwise (only in m.mentions, or only replied to):
  // after those, in m.mentions order, the replied-to persona first.
  const orderKey = (p: Persona): number => {
    const index = textMentionIndex(event.content, targetOf(p));
    if (index >= 0) return index;
    if (p.userId === replyTarget) return Number.MAX_SAFE_INTEGER / 2;
    return Number.MAX_SAFE_INTEGER / 2 + 1 + Math.max(0, intentional.indexOf(p.userId));
  };
  const keyed = addressed.map((p) => ({ p, key: orderKey(p) }));
  keyed.sort((a, b) => a.key - b.key);
  return { responders: keyed.map(({ p }) => p), isDirect: false };
}

/** The persona's name and, when different, its displayname in this room. */
function namesOf(persona: Persona, room: RoomView): string[] {
  const roomName = room.displayName(persona.userId);
  return roomName && roomName.toLowerCase() !== persona.name.toLowerCase() ? [persona.name, roomName] : [persona.name];
}
