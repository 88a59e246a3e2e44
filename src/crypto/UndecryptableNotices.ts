import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import { undecryptableNotice, type UndecryptableReason } from './messages.js';
import { describeErrorWithStack } from '../util/describeError.js';
import type { NoticeLedger } from './NoticeLedger.js';

const log = getLogger('UndecryptableNotices');

export interface UndecryptableNoticesDeps {
  ledger: NoticeLedger;
  /** Which of our users speaks for the bridge in the room (rooms/RoomVoice); null when none is in it. */
  speakerFor: (roomId: string) => Promise<string | null>;
  sendNotice: (userId: string, roomId: string, text: string) => Promise<unknown>;
  /** Every undecryptable event, counted by reason (metrics). */
  onUndecryptable?: (reason: UndecryptableReason) => void;
  /** Every notice actually sent (metrics). */
  onNoticeSent?: (reason: UndecryptableReason) => void;
}

/**
 * Never silent about encryption: when one of our users cannot read an encrypted event, the room
 * is told once (per reason) in plain words with what to do, and the admin finds one log line
 * per room. Repeating it on every message is what people complain about in other bots.
 */
export class UndecryptableNotices {
  constructor(private readonly deps: UndecryptableNoticesDeps) {}

  async report(event: RoomEvent, reason: UndecryptableReason): Promise<void> {
    this.deps.onUndecryptable?.(reason);
    const speaker = await this.deps.speakerFor(event.room_id);
    if (!speaker) {
      log.debug(`undecryptable ${event.event_id} in ${event.room_id}, none of our users there to say so`);
      return;
    }
    const ledger = this.deps.ledger;
    if (!ledger.claim(event.room_id, reason, speaker)) return;
    log.warn(`cannot read encrypted messages in ${event.room_id} (${reason}; first: ${event.event_id} from ${event.sender}); ${speaker} tells the room once`);
    try {
      await this.deps.sendNotice(speaker, event.room_id, undecryptableNotice(reason));
      this.deps.onNoticeSent?.(reason);
    } catch (err) {
      ledger.release(event.room_id, reason);
      log.error(`${speaker} could not send the encryption notice in ${event.room_id}: ${describeErrorWithStack(err)}`);
    }
  }
}

/**
 * The pipeline step while encryption is off: every encrypted event from someone else is
 * unreadable, and its room is told why once.
 */
export class EncryptionDisabledHandler implements EventStep {
  readonly name = 'EncryptionDisabled';

  constructor(private readonly notices: UndecryptableNotices) {}

  async handle(event: RoomEvent, inbound: InboundEvent): Promise<void> {
    if (event.type !== 'm.room.encrypted' || inbound.senderKind !== 'person') return;
    await this.notices.report(event, 'encryption_disabled');
  }
}
