import type { RoomEvent } from '../matrix/events.js';
import { editedEventId, isEdit, relatesTo, threadRootId } from '../matrix/relations.js';
import { mediaPlaceholder } from '../media/mediaText.js';
import { mediaRefOf, type MediaRef } from '../media/mediaRef.js';
import type { NewMessage } from './MemoryStore.js';

export interface ParsedMessage {
  msgtype: string;
  /** Text to remember: reply fallback stripped, media described. */
  body: string;
  threadRoot: string | null;
  /** What a media message points at (src/media), or null. */
  media: MediaRef | null;
}

export interface ParsedEdit {
  /** The event being edited. */
  targetEventId: string;
  newBody: string;
}

/**
 * Removes the quoted fallback (`> <@user> original` lines and a blank line) that older
 * clients put at the start of a reply's body: the model should see what was said, not a
 * quote of the message before it.
 */
export function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (i === 0) return body;
  if (i < lines.length && lines[i] === '') i++;
  return lines.slice(i).join('\n');
}

const MEDIA: Record<string, string> = { 'm.image': 'image', 'm.file': 'file', 'm.audio': 'audio', 'm.video': 'video', 'm.sticker': 'sticker' };

/**
 * What memory keeps of an m.room.message, or null for anything that is not a new message
 * with text (edits are handled by {@link editFromEvent}).
 */
export function messageFromEvent(event: RoomEvent): ParsedMessage | null {
  if (event.type !== 'm.room.message' && event.type !== 'm.sticker') return null;
  if (isEdit(event.content)) return null;
  const msgtype = event.type === 'm.sticker' ? 'm.sticker' : event.content.msgtype;
  const rawBody = event.content.body;
  if (typeof msgtype !== 'string' || typeof rawBody !== 'string') return null;
  const isReply = typeof relatesTo(event.content)?.['m.in_reply_to'] === 'object';
  let body = isReply ? stripReplyFallback(rawBody) : rawBody;
  const media = mediaRefOf(event);
  if (media) body = mediaPlaceholder(media, event.type === 'm.sticker');
  else if (MEDIA[msgtype]) body = `[${MEDIA[msgtype]}: ${body}]`;
  if (!body.trim()) return null;
  return { msgtype, body, threadRoot: threadRootId(event.content), media };
}

/** An edit's target and new text, or null when the event is not a usable edit. */
export function editFromEvent(event: RoomEvent): ParsedEdit | null {
  if (event.type !== 'm.room.message') return null;
  const targetEventId = editedEventId(event.content);
  if (!targetEventId) return null;
  const newContent = event.content['m.new_content'];
  if (typeof newContent !== 'object' || newContent === null) return null;
  const newBody = (newContent as { body?: unknown }).body;
  return typeof newBody === 'string' && newBody.trim() ? { targetEventId, newBody } : null;
}

/**
 * The row memory stores for a parsed message. One place for the mapping, used both by the
 * recorder (every message seen) and the responder (the message it answers, if the recorder
 * has not stored it yet).
 */
export function newMessageFromEvent(
  event: RoomEvent,
  parsed: ParsedMessage,
  displayName: string | null,
  fromPersona: boolean,
): NewMessage {
  return {
    roomId: event.room_id,
    eventId: event.event_id,
    sender: event.sender,
    displayName,
    msgtype: parsed.msgtype,
    body: parsed.body,
    ts: event.origin_server_ts,
    threadRoot: parsed.threadRoot,
    fromPersona,
    ...(parsed.media ? { media: JSON.stringify(parsed.media) } : {}),
  };
}
