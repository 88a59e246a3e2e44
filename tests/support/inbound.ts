/** The InboundEvent of an event as the pipeline would make it, from fakes (unit tests of steps). */
import type { RoomEvent } from '../../src/matrix/events.js';
import type { Persona } from '../../src/personas/Persona.js';
import { InboundEvents, type CommandKind, type InboundEvent } from '../../src/pipeline/InboundEvent.js';
import type { Voice } from '../../src/rooms/RoomVoice.js';

export const TEST_BOT = '@personas:localhost';

export interface InboundFakes {
  botUserId?: string;
  /** Live personas (default none); every `@persona_` user counts as ours. */
  personas?: Persona[];
  /** The command classifier (default: `!help`/`!ping` the bot's, `!forget`/`!stop` a persona's). */
  classify?: (body: string) => CommandKind | null;
  /** Joined members per room (default: nobody). */
  rooms?: Record<string, string[]>;
  /** Display names by user id (default: none). */
  displayNames?: Record<string, string>;
  voice?: Voice | null;
}

export const defaultClassify = (body: string): CommandKind | null =>
  /^!(help|ping)\b/.test(body) ? 'bot' : /^!(forget|summary|stop)\b/.test(body) ? 'persona' : null;

export function inboundEvents(fakes: InboundFakes = {}): InboundEvents {
  const botUserId = fakes.botUserId ?? TEST_BOT;
  const personas = fakes.personas ?? [];
  const rooms = fakes.rooms ?? {};
  return new InboundEvents({
    botUserId,
    isOurUser: (userId) => userId === botUserId || userId.startsWith('@persona_'),
    personas: { byUserId: (userId) => personas.find((p) => p.userId === userId) },
    classify: fakes.classify ?? defaultClassify,
    members: { ensureLoaded: async () => undefined, joined: (roomId) => rooms[roomId] ?? [], displayName: (_roomId, userId) => fakes.displayNames?.[userId] },
    voice: { voiceFor: async () => fakes.voice ?? null },
  });
}

export function inboundOf(event: RoomEvent, fakes: InboundFakes = {}): InboundEvent {
  return inboundEvents(fakes).of(event);
}
