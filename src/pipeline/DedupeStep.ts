import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import type { EventStep, StepResult } from './EventStep.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('Dedupe');

/** How long processed event ids are kept: far longer than Synapse keeps retrying a transaction. */
export const DEDUPE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * First step: an event seen before (Synapse retries a transaction with the same events after
 * a failure or a slow answer, also across our restarts) ends here. Persisted by event_id.
 */
/** The de-duplication store as the step uses it: the mark may be committed later (GroupCommit). */
export interface ProcessedMarks {
  /** True when the event is new (now recorded), false when it was seen before. */
  markProcessed(eventId: string, roomId: string): boolean | Promise<boolean>;
  has(eventId: string): boolean;
}

export class DedupeStep implements EventStep {
  readonly name = 'dedupe';

  constructor(
    private readonly processed: ProcessedMarks,
    /** Failed writes (a disk that filled up after the transaction was recorded) are told to the room once. */
    private readonly writes?: Pick<MemoryWriteGuard, 'write'>,
    /**
     * Messages marked processed as their transaction was received (store/ReceivedMessages.ts):
     * those go on without a write here, so an answer's only write before the model is asked is
     * that one.
     */
    private readonly received?: { takeFresh(eventId: string): boolean },
  ) {}

  async handle(event: RoomEvent): Promise<StepResult> {
    if (this.received?.takeFresh(event.event_id)) return 'continue';
    const mark = () => this.processed.markProcessed(event.event_id, event.room_id);
    let isNew: boolean | undefined;
    try {
      isNew = this.writes ? await this.writes.write(event.room_id, `record ${event.event_id} as handled`, mark) : await mark();
    } catch (err) {
      // Unsure whether it is new: answering twice is worse than not at all.
      log.error(`cannot record ${event.event_id} as processed; skipping it: ${describeError(err)}`, { stack: (err as Error).stack });
      return 'stop';
    }
    if (isNew === undefined) return this.unrecorded(event);
    if (isNew) return 'continue';
    log.debug(`skipping duplicate ${event.event_id}`);
    return 'stop';
  }

  /**
   * The write failed (the room was told once) but reading still works on a full disk: a
   * message not seen before is answered anyway, rather than dropped without a word. Should it
   * come again, its answer's send reuses the same transaction id, which the homeserver
   * de-duplicates.
   */
  private unrecorded(event: RoomEvent): StepResult {
    try {
      return this.processed.has(event.event_id) ? 'stop' : 'continue';
    } catch (err) {
      log.error(`cannot read whether ${event.event_id} was processed; skipping it: ${describeError(err)}`, { stack: (err as Error).stack });
      return 'stop';
    }
  }
}
