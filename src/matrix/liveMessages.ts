import type { RoomEvent } from './events.js';
import { relatesTo } from './relations.js';

/**
 * Live (streamed) answers on the wire. A persona's answer in progress is one message edited in
 * place; clients that understand MSC4357 see the `live` mark until the final edit clears it.
 * Inside the bridge, the final edit is what counts as the persona's message for dispatch (its
 * mentions are only known once the model is done): the first, partial version is not.
 */

/** MSC4357: marks a message whose content is still being written. */
export const LIVE_KEY = 'org.matrix.msc4357.live';

/**
 * Our mark on the final edit of a live answer, carrying the original message's relation
 * (thread, reply), which an edit's `m.new_content` must not repeat.
 */
export const FINAL_KEY = 'io.github.matrix-appservice-personas.final';

/** A message still being written (its final edit follows). */
export function isLiveInProgress(content: Record<string, unknown>): boolean {
  return typeof content[LIVE_KEY] === 'object' && content[LIVE_KEY] !== null;
}

/**
 * The final edit of a live answer seen as the message it completes: its new content with the
 * original relation, under the edit's own event id. Null for any other event.
 */
export function finalLiveAnswer(event: RoomEvent): RoomEvent | null {
  const rel = relatesTo(event.content);
  const final = event.content[FINAL_KEY];
  const inner = event.content['m.new_content'];
  if (rel?.rel_type !== 'm.replace' || typeof final !== 'object' || final === null) return null;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return null;
  const relation = (final as { relates_to?: unknown }).relates_to;
  const content: Record<string, unknown> = { ...(inner as Record<string, unknown>) };
  if (typeof relation === 'object' && relation !== null) content['m.relates_to'] = relation;
  return { ...event, content };
}
