/** Test helpers shared by the dispatch unit tests: personas, events and a directory. */
import type { RoomEvent } from '../../src/matrix/events.js';
import type { Persona, PersonaDirectory } from '../../src/personas/Persona.js';

export function persona(name: string): Persona {
  return {
    name,
    userId: `@persona_${name.toLowerCase()}:localhost`,
    prompt: `You are ${name}.`,
    traits: {},
    model: null,
    temperature: null,
    avatarUrl: null,
    createdAt: 0,
    creator: '@admin:localhost',
  };
}

export function directoryOf(...personas: Persona[]): PersonaDirectory {
  return {
    byUserId: (userId) => personas.find((p) => p.userId === userId),
    list: () => [...personas],
  };
}

let counter = 0;

export function message(sender: string, content: Record<string, unknown> | string, extra: Partial<RoomEvent> = {}): RoomEvent {
  return {
    event_id: `$ev${++counter}`,
    room_id: '!room:localhost',
    sender,
    type: 'm.room.message',
    origin_server_ts: Date.now(),
    content: typeof content === 'string' ? { msgtype: 'm.text', body: content } : { msgtype: 'm.text', ...content },
    ...extra,
  };
}
