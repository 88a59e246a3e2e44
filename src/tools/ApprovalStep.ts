import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { relatesTo } from '../matrix/relations.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import type { ToolApprovals } from './ToolApprovals.js';

const log = getLogger('ApprovalStep');

export interface ApprovalStepDeps {
  approvals: Pick<ToolApprovals, 'react' | 'decideInRoom'>;
  isAdmin(userId: string): boolean;
  /** `approve` or `deny` for `<prefix>approve` / `<prefix>deny` (the command table's parser), else null. */
  decisionCommand(body: string): 'approve' | 'deny' | null;
}

/**
 * ✅/❌ on a persona's approval request, and `!approve` / `!deny`, decide at once, as the
 * event arrives: the answer waiting for the decision is what the room's answer queue is busy
 * with, so a command run in that queue would come too late. The `approve`/`deny` commands then
 * only say what was decided (toolCommands.ts).
 */
export class ApprovalStep implements EventStep {
  readonly name = 'tool-approvals';

  constructor(private readonly deps: ApprovalStepDeps) {}

  handle(event: RoomEvent, inbound: InboundEvent): void {
    // The bot's and the personas' reactions and messages decide nothing (tool output is data).
    if (inbound.senderKind !== 'person') return;
    const isAdmin = this.deps.isAdmin(event.sender);
    if (event.type === 'm.room.message') {
      const decision = inbound.command === 'persona' && inbound.body !== null ? this.deps.decisionCommand(inbound.body) : null;
      if (!decision) return;
      const decided = this.deps.approvals.decideInRoom(event.room_id, decision === 'approve', event.sender, isAdmin, event.event_id);
      log.info(`${decision} by ${event.sender} in ${event.room_id}: ${decided} tool call(s) decided`);
      return;
    }
    if (event.type !== 'm.reaction') return;
    const rel = relatesTo(event.content);
    if (rel?.rel_type !== 'm.annotation' || typeof rel.event_id !== 'string' || typeof rel.key !== 'string') return;
    this.deps.approvals.react(rel.event_id, rel.key, event.sender, isAdmin);
  }
}
