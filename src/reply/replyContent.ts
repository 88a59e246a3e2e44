import { linkMentions, MAX_MENTIONS, type RoomMember } from '../dispatch/outgoingMentions.js';
import { markdownToHtml, splitMessage } from './formatReply.js';

/** Where an answer goes, relative to the message it answers. */
export interface ReplyTarget {
  /** The message answered. */
  eventId: string;
  /** Its sender; mentioned in a group reply when `mentionSender`. */
  sender: string;
  threadRootId: string | null;
  isDirect: boolean;
  /** Ping the sender (people yes; other personas no: that would summon them). */
  mentionSender: boolean;
}

/** Characters of markdown per message before splitting: long enough that splits are rare. */
export const MAX_MESSAGE_CHARS = 8000;
/** Homeservers refuse events over 65536 bytes; the rest of the event needs some room. */
const MAX_CONTENT_BYTES = 60_000;

/** A message in a thread, with the reply fallback for clients that do not show threads. */
function threadRelation(rootId: string, inReplyTo: string): Record<string, unknown> {
  return { rel_type: 'm.thread', event_id: rootId, is_falling_back: true, 'm.in_reply_to': { event_id: inReplyTo } };
}

/**
 * How an answer relates to the message it answers:
 * - in a thread: an `m.thread` event with the reply fallback (`is_falling_back` and
 *   `m.in_reply_to`) for clients that do not show threads;
 * - in a group room: a reply (`m.in_reply_to`), first part only;
 * - in a DM: nothing, it is obviously an answer.
 */
export function relationFor(target: ReplyTarget, firstPart: boolean): Record<string, unknown> | null {
  if (target.threadRootId) return threadRelation(target.threadRootId, target.eventId);
  if (!target.isDirect && firstPart) return { 'm.in_reply_to': { event_id: target.eventId } };
  return null;
}

/**
 * The m.room.message contents for a persona's answer: split when long, each part with its
 * plain `body`, sanitised HTML when the markdown has formatting, `@Name` mentions of room
 * members linked, `m.mentions` always set (so receivers need not guess), and the relation.
 */
export function replyContents(text: string, target: ReplyTarget, members: readonly RoomMember[]): Array<Record<string, unknown>> {
  const contents: Array<Record<string, unknown>> = [];
  const parts = splitMessage(text, MAX_MESSAGE_CHARS);
  const queue = [...parts];
  while (queue.length) {
    const part = queue.shift()!;
    const content = partContent(part, target, members, contents.length === 0);
    if (Buffer.byteLength(JSON.stringify(content)) > MAX_CONTENT_BYTES && part.length >= 40) {
      // Many multi-byte characters or heavy markup: split this part further.
      queue.unshift(...splitMessage(part, Math.floor(part.length / 2)));
      continue;
    }
    contents.push(content);
  }
  return contents;
}

function partContent(part: string, target: ReplyTarget, members: readonly RoomMember[], firstPart: boolean): Record<string, unknown> {
  const linked = linkMentions(part, markdownToHtml(part), members);
  const relation = relationFor(target, firstPart);
  // The person answered comes first: of everyone the answer names, they are surely addressed.
  const sender = target.mentionSender && firstPart && relation && !target.threadRootId ? [target.sender] : [];
  const userIds = [...new Set([...sender, ...linked.mentions.user_ids])].slice(0, MAX_MENTIONS);
  const content: Record<string, unknown> = { msgtype: 'm.text', body: linked.body, 'm.mentions': { user_ids: userIds } };
  if (linked.formatted_body !== null) Object.assign(content, { format: 'org.matrix.custom.html', formatted_body: linked.formatted_body });
  if (relation) content['m.relates_to'] = relation;
  return content;
}

/** A short m.notice from a persona, in the thread when the conversation is in one. */
export function noticeContent(text: string, target: Pick<ReplyTarget, 'eventId' | 'threadRootId'>): Record<string, unknown> {
  const content: Record<string, unknown> = { msgtype: 'm.notice', body: text, 'm.mentions': {} };
  if (target.threadRootId) content['m.relates_to'] = threadRelation(target.threadRootId, target.eventId);
  return content;
}
