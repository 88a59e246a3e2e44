import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep } from './EventStep.js';

const log = getLogger('EventPipeline');

/**
 * Runs every event through the declared steps, in order, each isolated: one step throwing
 * (a failed auto-join, a database error while recording) is logged and the next step still
 * sees the event.
 */
export class EventPipeline {
  constructor(readonly steps: readonly EventStep[]) {}

  async run(event: RoomEvent): Promise<void> {
    for (const step of this.steps) {
      try {
        const result = await step.handle(event);
        if (result === 'stop') return;
        if (typeof result === 'object' && result !== null) event = result.event;
      } catch (err) {
        log.error(`${step.name} failed on ${event.event_id} in ${event.room_id}`, { error: err });
      }
    }
  }
}
