/**
 * Reading `m.relates_to` from untrusted event content: edits, threads and replies. One place,
 * because the dispatcher, memory and the bot must agree on what an edit or a thread is.
 */
type Content = Record<string, unknown>;

/** The `m.relates_to` object, or null when absent or not an object. */
export function relatesTo(content: Content): Record<string, unknown> | null {
  const rel = content['m.relates_to'];
  return typeof rel === 'object' && rel !== null && !Array.isArray(rel) ? (rel as Record<string, unknown>) : null;
}

/** An `m.replace` edit of an earlier message. */
export function isEdit(content: Content): boolean {
  return relatesTo(content)?.rel_type === 'm.replace';
}

/** The event an edit replaces, or null when the content is not an edit. */
export function editedEventId(content: Content): string | null {
  const rel = relatesTo(content);
  return rel?.rel_type === 'm.replace' && typeof rel.event_id === 'string' ? rel.event_id : null;
}

/** The root of the thread a message is in, or null when it is on the main timeline. */
export function threadRootId(content: Content): string | null {
  const rel = relatesTo(content);
  return rel?.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : null;
}

/**
 * The event a message replies to, or null. Thread messages carry a fallback `m.in_reply_to`
 * (`is_falling_back: true`) for clients without threads; that is not a reply to anyone.
 */
export function repliedToEventId(content: Content): string | null {
  const rel = relatesTo(content);
  if (!rel || rel.is_falling_back === true) return null;
  const inReplyTo = rel['m.in_reply_to'];
  if (typeof inReplyTo !== 'object' || inReplyTo === null) return null;
  const eventId = (inReplyTo as { event_id?: unknown }).event_id;
  return typeof eventId === 'string' && eventId.length > 0 ? eventId : null;
}
