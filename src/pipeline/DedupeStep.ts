import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { ProcessedEventStore } from '../store/ProcessedEventStore.js';
import type { EventStep, StepResult } from './EventStep.js';

const log = getLogger('Dedupe');

/** How long processed event ids are kept: far longer than Synapse keeps retrying a transaction. */
export const DEDUPE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * First step: an event seen before (Synapse retries a transaction with the same events after
 * a failure or a slow answer, also across our restarts) ends here. Persisted by event_id.
 */
export class DedupeStep implements EventStep {
  readonly name = 'dedupe';

  constructor(private readonly processed: Pick<ProcessedEventStore, 'markProcessed'>) {}

  handle(event: RoomEvent): StepResult {
    try {
      if (this.processed.markProcessed(event.event_id, event.room_id)) return 'continue';
      log.debug(`skipping duplicate ${event.event_id}`);
    } catch (err) {
      // Unsure whether it is new: answering twice is worse than not at all.
      log.error(`cannot record ${event.event_id} as processed; skipping it`, { error: err });
    }
    return 'stop';
  }
}
