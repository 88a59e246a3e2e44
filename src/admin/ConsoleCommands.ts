import { runCommandText } from '../commands/CommandRunner.js';
import type { CommandData, CommandTable } from '../commands/CommandTable.js';
import type { AdminCommands, AdminOutput } from './AdminServer.js';

/**
 * The admin console runs the chat command table itself, as a built-in admin identity
 * (`console:<OS user>`): the same commands, checks, usage errors and confirmations. Lines may
 * be given with or without the chat prefix (`persona list` or `!persona list`).
 */
export class ConsoleCommands implements AdminCommands {
  constructor(
    private readonly table: CommandTable,
    private readonly personaNames: () => string[],
  ) {}

  async run(line: string, options: { yes: boolean; who: string; cwd?: string }, out: AdminOutput): Promise<{ ok: boolean; confirm?: string; data?: CommandData }> {
    const trimmed = line.trim();
    const text = trimmed.startsWith(this.table.prefix) ? trimmed : `${this.table.prefix}${trimmed}`;
    return runCommandText(this.table, text, {
      sender: options.who,
      roomId: null,
      via: 'console',
      isAdmin: true,
      confirmed: options.yes,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      reply: async (t) => out.text(t),
      sendFile: async (f) => out.file(f),
    });
  }

  completions(): { commands: string[]; personas: string[] } {
    // Persona-scope commands (forget, summary) need a persona's room: not the console's.
    return { commands: this.table.list('bot').map((c) => c.name), personas: this.personaNames() };
  }
}
