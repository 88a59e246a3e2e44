import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import type { EventStep } from './EventStep.js';

const log = getLogger('RoomMembership');

/**
 * Keeps the member cache current from member events (before anyone reads it for this event),
 * and has the bot accept invites: being invited is how admins bring it into a room.
 */
export class RoomMembershipStep implements EventStep {
  readonly name = 'membership';

  constructor(
    private readonly members: Pick<RoomMembers, 'apply'>,
    private readonly bot: { userId: string; join(roomId: string): Promise<void> },
  ) {}

  async handle(event: RoomEvent): Promise<void> {
    if (event.type !== 'm.room.member' || event.state_key === undefined) return;
    this.members.apply(event);
    if (event.state_key === this.bot.userId && event.content.membership === 'invite') {
      log.info(`bot invited to ${event.room_id} by ${event.sender}; joining`);
      await this.bot.join(event.room_id);
    }
  }
}
