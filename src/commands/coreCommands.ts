import type { Command, CommandTable, HelpWhere } from './CommandTable.js';

interface CoreDeps {
  /** Help is generated from the whole table: the bot's commands, then the personas'. */
  readonly commands: Pick<CommandTable, 'fullHelp' | 'applicable'>;
  readonly startedAt: number;
  /** What kind of room help is asked in (direct or group, and how the group is run); absent: all. */
  readonly helpWhere?: (roomId: string) => Promise<HelpWhere>;
}

/** Help's last words in a room without the bridge bot (answered by a persona there). */
export function botAbsentHelpNote(botUserId: string, prefix: string): string {
  return `The bridge bot (${botUserId}) is not in this room; a persona here answers for the bridge. Admin commands (${prefix}persona spawn…) go to the bot: in a direct chat with it, or invite it here.`;
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
        ctx.data({ uptimeSeconds: uptime, ...(ctx.event ? { latencyMs: Math.max(0, Date.now() - ctx.event.origin_server_ts) } : {}) });
        if (!ctx.event) return ctx.reply(`Pong! Up ${uptime} s.`);
        const latency = Math.max(0, Date.now() - ctx.event.origin_server_ts);
        await ctx.reply(`Pong! Latency ${latency} ms (homeserver to bridge); up ${uptime} s.`);
      },
    },
    {
      name: 'help',
      usage: '',
      help: 'list the commands that apply here',
      permission: 'anyone',
      async run(ctx) {
        const where = ctx.roomId && deps.helpWhere ? await deps.helpWhere(ctx.roomId) : undefined;
        ctx.data({ commands: deps.commands.applicable('bot', ctx.isAdmin, where).map((c) => ({ name: c.name, usage: c.usage, help: c.help, permission: c.permission })) });
        await ctx.reply(deps.commands.fullHelp(ctx.isAdmin, where));
      },
    },
  ];
}
