import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { isEdit } from '../matrix/relations.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import type { RoomQueue } from '../pipeline/RoomQueue.js';
import { runCommand, type CommandRunnerDeps } from './CommandRunner.js';
import type { CommandTable, OutgoingFile } from './CommandTable.js';

const log = getLogger('BotCommands');

export interface BotCommandStepDeps {
  table: CommandTable;
  isAdmin(userId: string): boolean;
  /** The answers: notices sent as `from` (the room's voice). */
  reply(from: string, roomId: string, text: string, html?: string): Promise<void>;
  /** Files the bot hands back (exports), as m.file messages sent as `from`. */
  sendFile(from: string, roomId: string, file: OutgoingFile): Promise<void>;
  /**
   * Where commands run: off the room's event queue (a spawn or a room creation takes
   * seconds of homeserver calls, and the room's messages must not wait for it), but still
   * one at a time per room, in order.
   */
  queue: RoomQueue;
}

/**
 * Commands for the bridge bot (`!help`, `!persona spawn ...`), answered in the room's voice.
 * In a room without the bot (a direct chat with a persona) only the commands marked
 * `withoutBot` (`!help`, `!me`, `!memories`) are answered, by the persona that speaks there, so
 * they are not met with silence; the other bot commands need the bot and stay unanswered there.
 */
export class BotCommandStep implements EventStep {
  readonly name = 'bot-commands';

  constructor(private readonly deps: BotCommandStepDeps) {}

  async handle(event: RoomEvent, inbound: InboundEvent): Promise<void> {
    const { deps } = this;
    const body = inbound.body;
    if (body === null || inbound.senderKind !== 'person' || inbound.command !== 'bot') return;
    if (isEdit(event.content)) return;
    // The bot when it is in the room, else a persona there (rooms/RoomVoice).
    const voice = await inbound.voice();
    if (!voice) return;
    if (!voice.isBot) {
      const parsed = deps.table.parse(body);
      if (parsed.kind !== 'command' || parsed.command.withoutBot !== true) return;
    }
    const from = voice.userId;
    const runner: CommandRunnerDeps = {
      table: deps.table,
      isAdmin: deps.isAdmin,
      reply: (roomId, text, html) => deps.reply(from, roomId, text, html),
      sendFile: (roomId, file) => deps.sendFile(from, roomId, file),
    };
    deps.queue
      .run(event.room_id, () => runCommand(runner, event, body))
      .catch((err: unknown) => log.error(`command ${event.event_id} in ${event.room_id} failed`, { error: err }));
  }
}
