import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep } from '../pipeline/EventStep.js';
import { describeMatrixError } from '../matrix/errors.js';
import type { PersonaMatrix } from './PersonaManager.js';
import type { PersonaStore } from './PersonaStore.js';

const log = getLogger('PersonaMembership');

/**
 * Keeps personas' rooms current from their member events, and has live personas accept
 * every invite (group rooms and DMs alike): being invited is how users start talking to one.
 */
export class PersonaMembershipHandler implements EventStep {
  readonly name = 'PersonaMembership';

  constructor(
    private readonly store: PersonaStore,
    private readonly matrix: Pick<PersonaMatrix, 'acceptInvite'>,
    /** True for user IDs in the persona namespace: spares a lookup for everyone else's member events. */
    private readonly isPersonaUserId: (userId: string) => boolean,
    /** After a persona joined a room it was invited to as a direct chat (a card's first message). */
    private readonly onJoinedDirect?: (personaId: string, roomId: string, inviter: string) => Promise<void>,
  ) {}

  async handle(event: RoomEvent): Promise<void> {
    if (event.type !== 'm.room.member' || !event.state_key || !this.isPersonaUserId(event.state_key)) return;
    const userId = event.state_key;
    const membership = event.content.membership;
    switch (membership) {
      case 'invite': {
        // Only live personas: a spawn in progress joins its own room, a despawned one must not come back.
        if (!this.store.byUserId(userId)) return;
        log.info(`${userId} invited to ${event.room_id} by ${event.sender}; joining`);
        // Dated as asked, not as answered: the join event (which dates it exactly) may come later.
        const asked = Date.now();
        try {
          await this.matrix.acceptInvite(userId, event.room_id);
        } catch (err) {
          // Invites can be withdrawn before we get to them; nothing else to do.
          log.warn(`${userId} could not join ${event.room_id}: ${describeMatrixError(err)}`);
          return;
        }
        this.store.addRoom(userId, event.room_id, asked);
        if (event.content.is_direct === true && this.onJoinedDirect) {
          await this.onJoinedDirect(userId, event.room_id, event.sender).catch((err: unknown) =>
            log.warn(`${userId} could not greet ${event.room_id}: ${describeMatrixError(err)}`),
          );
        }
        return;
      }
      case 'join':
        this.store.addRoom(userId, event.room_id, event.origin_server_ts);
        return;
      case 'leave':
      case 'ban':
        this.store.removeRoom(userId, event.room_id);
        return;
      default:
        return;
    }
  }
}
