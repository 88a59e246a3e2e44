/**
 * A persona's command sent in a group room without naming a persona (`!remember the meeting
 * is at 5`, `!recall`): it is for the bridge, and never met with silence. Commands about the
 * room's shared memory (`roomWide`: notes, search, stop) run once, for the room, as the
 * persona that speaks for the bridge there sees it, answered in the room's voice
 * (rooms/RoomVoice). A persona's own memory (`!summary`, `!forget`) is the only persona's when
 * there is one, else the answer asks which, naming them.
 */
import type { RoomEvent } from '../matrix/events.js';
import { threadRootId } from '../matrix/relations.js';
import type { Persona } from '../personas/Persona.js';
import type { RoomVoice } from '../rooms/RoomVoice.js';
import { runCommand, type CommandRunnerDeps } from './CommandRunner.js';
import type { CommandTable } from './CommandTable.js';
import { whichPersona } from './messages.js';

export interface UnaddressedCommandDeps {
  table: CommandTable;
  isAdmin(userId: string): boolean;
  voice: Pick<RoomVoice, 'voiceFor'>;
  /** A notice as `from`, replying to the command (in its thread, if any). */
  reply(from: string, command: RoomEvent, text: string): Promise<void>;
}

/** `speakers`: the personas that may speak in the room (not muted), in roster order. */
export async function runUnaddressedCommand(deps: UnaddressedCommandDeps, event: RoomEvent, body: string, speakers: readonly Persona[]): Promise<void> {
  const roomId = event.room_id;
  const first = speakers[0];
  const voice = await deps.voice.voiceFor(roomId, first?.userId);
  if (!voice || !first) return;
  const runner: CommandRunnerDeps = { table: deps.table, isAdmin: deps.isAdmin, reply: (_room, text) => deps.reply(voice.userId, event, text) };
  const parsed = deps.table.parse(body, 'persona');
  if (parsed.kind === 'command' && !parsed.command.roomWide && speakers.length > 1) {
    return runner.reply(roomId, whichPersona(`${deps.table.prefix}${parsed.command.name}`, speakers.map((p) => p.name)));
  }
  await runCommand(runner, event, body, { persona: first, isDirect: false, threadRootId: threadRootId(event.content) });
}
