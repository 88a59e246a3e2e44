import type { Command } from '../commands/CommandTable.js';
import { approveReply, denyReply } from './messages.js';
import type { ToolApprovals } from './ToolApprovals.js';

/**
 * `approve` / `deny`: the tool calls waiting here for your go-ahead (admins: anyone's) run or
 * are refused. The decision is made as the message arrives (ApprovalStep); these commands,
 * run later in the room's queue, say what it did.
 */
export function toolCommands(approvals: Pick<ToolApprovals, 'decidedBy'>): Command[] {
  const decided = (eventId: string | undefined) => (eventId ? (approvals.decidedBy(eventId) ?? 0) : 0);
  return [
    {
      name: 'approve',
      usage: '',
      help: 'let the tool calls waiting for your approval here run (or react ✅ on the request)',
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        await ctx.reply(approveReply(decided(ctx.event?.event_id)));
      },
    },
    {
      name: 'deny',
      usage: '',
      help: 'refuse the tool calls waiting for your approval here (or react ❌ on the request)',
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        await ctx.reply(denyReply(decided(ctx.event?.event_id)));
      },
    },
  ];
}
