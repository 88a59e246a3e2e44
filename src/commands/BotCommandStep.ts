import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { isEdit } from '../matrix/relations.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import type { RoomQueue } from '../pipeline/RoomQueue.js';
import { runCommand, type CommandRunnerDeps } from './CommandRunner.js';
import { runsWithoutBot, type CommandTable, type HelpWhere, type OutgoingFile } from './CommandTable.js';
import { needsBot } from './messages.js';

const log = getLogger('BotCommands');

export interface BotCommandStepDeps {
  table: CommandTable;
  botUserId: string;
  isAdmin(userId: string): boolean;
  /** The kind of room (direct or group, the bot there or not), for help and the nearest commands. */
  where(roomId: string): Promise<HelpWhere>;
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
 * Commands for the bridge (`!help`, `!converse`, `!persona spawn ...`), answered in the room's
 * voice: the bot where it is, else a persona there (a group room people made with the
 * personas they wanted, a direct chat with one). Without the bot every command runs but the
 * admin ones, which answer where to send them (runsWithoutBot). In the bot's direct chat
 * every `!word` is for the bridge, so an unknown one is answered with the nearest commands;
 * elsewhere only our command words are ours: another bot's `!weather` is left alone.
 */
export class BotCommandStep implements EventStep {
  readonly name = 'bot-commands';

  constructor(private readonly deps: BotCommandStepDeps) {}

  async handle(event: RoomEvent, inbound: InboundEvent): Promise<void> {
    const { deps } = this;
    const body = inbound.body;
    if (body === null || inbound.senderKind !== 'person' || isEdit(event.content)) return;
    const kind = inbound.command;
    if (kind === 'persona' || (kind === null && !deps.table.looksLikeCommand(body))) return;
    // The bot when it is in the room, else a persona there (rooms/RoomVoice).
    const voice = await inbound.voice();
    if (!voice) return;
    const roomId = event.room_id;
    deps.queue
      .run(roomId, async () => {
        const where = await deps.where(roomId);
        // An unknown word is the bridge's only in the bot's own direct chat.
        if (kind === null && !(voice.isBot && where.room === 'direct')) return;
        const from = voice.userId;
        const runner: CommandRunnerDeps = {
          table: deps.table,
          isAdmin: deps.isAdmin,
          reply: (room, text, html) => deps.reply(from, room, text, html),
          sendFile: (room, file) => deps.sendFile(from, room, file),
        };
        if (!voice.isBot) {
          const parsed = deps.table.parse(body);
          if (parsed.kind === 'command' && !runsWithoutBot(parsed.command)) {
            return runner.reply(roomId, needsBot(`${deps.table.prefix}${parsed.command.name}`, deps.botUserId));
          }
        }
        await runCommand(runner, event, body, undefined, where);
      })
      .catch((err: unknown) => log.error(`command ${event.event_id} in ${roomId} failed`, { error: err }));
  }
}
