import { getLogger } from '../logging.js';
import { messageBody, type RoomEvent } from '../matrix/events.js';
import { isEdit } from '../matrix/relations.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { RoomQueue } from '../pipeline/RoomQueue.js';
import { runCommand, type CommandRunnerDeps } from './CommandRunner.js';
import type { CommandTable } from './CommandTable.js';

const log = getLogger('BotCommands');

export interface BotCommandStepDeps {
  table: CommandTable;
  botUserId: string;
  isOurUser(userId: string): boolean;
  isAdmin(userId: string): boolean;
  members: { ensureLoaded(roomId: string): Promise<void>; isJoined(roomId: string, userId: string): boolean };
  /** The bot's answers (notices in the room). */
  reply: CommandRunnerDeps['reply'];
  /** Files the bot hands back (exports), as m.file messages. */
  sendFile: NonNullable<CommandRunnerDeps['sendFile']>;
  /**
   * Where commands run: off the room's event queue (a spawn or a room creation takes
   * seconds of homeserver calls, and the room's messages must not wait for it), but still
   * one at a time per room, in order.
   */
  queue: RoomQueue;
  /**
   * `!help` in a room the bot is not in (a direct chat with a persona): answered by a persona
   * there instead, so the question is not met with silence. Other bot commands stay unanswered
   * there (they need the bot).
   */
  helpWithoutBot?(event: RoomEvent, body: string): Promise<void>;
}

/** Commands for the bridge bot in rooms it is in (`!help`, `!persona spawn ...`). */
export class BotCommandStep implements EventStep {
  readonly name = 'bot-commands';

  constructor(private readonly deps: BotCommandStepDeps) {}

  async handle(event: RoomEvent): Promise<void> {
    const { deps } = this;
    const body = messageBody(event);
    if (body === null || deps.isOurUser(event.sender) || deps.table.classify(body) !== 'bot') return;
    if (isEdit(event.content)) return;
    await deps.members.ensureLoaded(event.room_id).catch(() => undefined);
    if (!deps.members.isJoined(event.room_id, deps.botUserId)) {
      const parsed = deps.table.parse(body);
      const helpWithoutBot = deps.helpWithoutBot;
      if (helpWithoutBot && parsed.kind === 'command' && parsed.command.name === 'help') {
        deps.queue
          .run(event.room_id, () => helpWithoutBot(event, body))
          .catch((err: unknown) => log.error(`help ${event.event_id} in ${event.room_id} failed`, { error: err }));
      }
      return;
    }
    const runner: CommandRunnerDeps = { table: deps.table, isAdmin: deps.isAdmin, reply: deps.reply, sendFile: deps.sendFile };
    deps.queue
      .run(event.room_id, () => runCommand(runner, event, body))
      .catch((err: unknown) => log.error(`command ${event.event_id} in ${event.room_id} failed`, { error: err }));
  }
}
