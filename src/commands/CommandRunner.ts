import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { UsageError, type CommandTable } from './CommandTable.js';

const log = getLogger('CommandRunner');

export interface CommandRunnerDeps {
  table: CommandTable;
  isAdmin(userId: string): boolean;
  reply(roomId: string, text: string, html?: string): Promise<void>;
}

/**
 * Runs a command message against the table: permission check, usage errors answered with
 * the right syntax, unexpected failures answered briefly and logged in full.
 */
export async function runCommand(deps: CommandRunnerDeps, event: RoomEvent, body: string): Promise<void> {
  const { table } = deps;
  const reply = (text: string, html?: string): Promise<void> => deps.reply(event.room_id, text, html);
  const parsed = table.parse(body);
  if (parsed.kind === 'invalid') return reply(parsed.error);
  if (parsed.kind === 'unknown') {
    const hint = parsed.suggestions.length
      ? `Did you mean:\n${parsed.suggestions.map((c) => table.usageOf(c)).join('\n')}`
      : `Send ${table.prefix}help for the list of commands.`;
    return reply(`Unknown command '${table.prefix}${parsed.words.slice(0, 2).join(' ')}'. ${hint}`);
  }
  const { command, args, rest } = parsed;
  const isAdmin = deps.isAdmin(event.sender);
  if (command.permission === 'admin' && !isAdmin) {
    log.info(`refused ${command.name} from non-admin ${event.sender}`);
    return reply(`Sorry, only bridge admins may use ${table.prefix}${command.name}.`);
  }
  try {
    await command.run({ event, roomId: event.room_id, sender: event.sender, args, rest, isAdmin, reply });
  } catch (err) {
    if (err instanceof UsageError) return reply(`${err.message}\nUsage: ${table.usageOf(command)}`);
    log.error(`command ${command.name} failed in ${event.room_id}`, { error: err });
    return reply(`${table.prefix}${command.name} failed: ${(err as Error).message ?? String(err)}`);
  }
}
