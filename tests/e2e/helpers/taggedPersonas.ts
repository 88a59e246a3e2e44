/**
 * Group-room test helpers: seed personas whose prompts carry a tag (`[persona:ada]`) so the
 * fake model can tell whose prompt a request is, and timeline order as one member sees it.
 */
import { systemText, type FakeChatRequest } from '../../fakes/FakeOpenAI.js';
import { seedPersonas } from './seedPersonas.js';
import type { RawEvent } from './user.js';

/** A folder of seed personas `You are <Name>. [persona:<name>]`, for `startTestBridge({ personasDir })`. */
export function seedTaggedPersonas(tag: string, names: readonly string[]): string {
  return seedPersonas(
    tag,
    names.map((name) => ({ name, prompt: `You are ${name}. [persona:${name.toLowerCase()}]` })),
  );
}

/** Whose prompt a request is (the lowercased tag of {@link seedTaggedPersonas}), or 'unknown'. */
export function taggedPersonaOf(req: FakeChatRequest): string {
  return /\[persona:(\w+)\]/.exec(systemText(req))?.[1] ?? 'unknown';
}

/**
 * `isAfter(eventId, e)`: true when `e` comes after `eventId` in the timeline (one member's view
 * of a room, e.g. `() => alice.events(roomId)`, read at each call); false while `eventId` has
 * not synced yet (else an older event would count as after it).
 */
export function timelineOrder(timeline: () => RawEvent[]): (eventId: string, e: RawEvent) => boolean {
  return (eventId, e) => {
    const events = timeline();
    const reference = events.findIndex((x) => x.event_id === eventId);
    return reference >= 0 && events.findIndex((x) => x.event_id === e.event_id) > reference;
  };
}
