import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import type { Db } from '../store/Database.js';
import { undecryptableNotice, type UndecryptableReason } from './messages.js';
import { describeErrorWithStack } from '../util/describeError.js';

const log = getLogger('UndecryptableNotices');

/** Which rooms were already told, per reason (migrations/004). */
export interface NoticeLedger {
  /** Records the room as told; true only for the first caller. Atomic. */
  claim(roomId: string, reason: UndecryptableReason, sender: string): boolean;
  /** Forgets a claim whose notice could not be sent, so a later event tries again. */
  release(roomId: string, reason: UndecryptableReason): void;
}

export class SqliteNoticeLedger implements NoticeLedger {
  private readonly insert;
  private readonly remove;

  constructor(db: Db) {
    this.insert = db.prepare('INSERT OR IGNORE INTO undecryptable_notices (room_id, reason, sender, notified_at) VALUES (?, ?, ?, ?)');
    this.remove = db.prepare('DELETE FROM undecryptable_notices WHERE room_id = ? AND reason = ?');
  }

  claim(roomId: string, reason: UndecryptableReason, sender: string): boolean {
    return this.insert.run(roomId, reason, sender, Date.now()).changes === 1;
  }

  release(roomId: string, reason: UndecryptableReason): void {
    this.remove.run(roomId, reason);
  }
}

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
