import type { Command, CommandTable } from './CommandTable.js';

interface CoreDeps {
  /** Help is generated from the whole table: the bot's commands, then the personas'. */
  readonly commands: Pick<CommandTable, 'fullHelp'>;
  readonly startedAt: number;
}

/** Commands every user may send the bridge bot. */
export function coreCommands(deps: CoreDeps): Command[] {
  return [
    {
      name: 'ping',
      usage: '',
      help: 'check the bridge is alive and see how long your message took to reach it',
      permission: 'anyone',
      async run(ctx) {
        // Latency from the homeserver stamping the message to us handling it: what a user
        // feels as "the bridge is slow".
        const uptime = Math.round((Date.now() - deps.startedAt) / 1000);
        if (!ctx.event) return ctx.reply(`Pong! Up ${uptime} s.`);
        const latency = Math.max(0, Date.now() - ctx.event.origin_server_ts);
        await ctx.reply(`Pong! Latency ${latency} ms (homeserver to bridge); up ${uptime} s.`);
      },
    },
    {
      name: 'help',
      usage: '',
      help: 'list the commands',
      permission: 'anyone',
      async run(ctx) {
        await ctx.reply(deps.commands.fullHelp(ctx.isAdmin));
      },
    },
  ];
}
