import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep } from './EventStep.js';
import type { InboundEvent } from './InboundEvent.js';

const log = getLogger('EventPipeline');

export interface EventPipelineOptions {
  /** Works out what the steps need to know about an event, once per event (InboundEvents). */
  inbound: { of(event: RoomEvent): InboundEvent };
  /** Every step that threw, after it was logged (metrics; the fuzz test counts them). */
  onStepFailed?: (step: string, event: RoomEvent, error: unknown) => void;
  /** After each step that ran (the answer timeline laps it, see metrics/AnswerTimeline.ts). */
  afterStep?: (step: string, event: RoomEvent) => void;
}

/**
 * Runs every event through the declared steps, in order, each isolated: one step throwing
 * (a failed auto-join, a database error while recording) is logged and the next step still
 * sees the event.
 */
export class EventPipeline {
  constructor(
    readonly steps: readonly EventStep[],
    private readonly options: EventPipelineOptions,
  ) {}

  async run(event: RoomEvent): Promise<void> {
    let inbound = this.options.inbound.of(event);
    for (const step of this.steps) {
      try {
        const result = await step.handle(event, inbound);
        this.options.afterStep?.(step.name, event);
        if (result === 'stop') return;
        if (typeof result === 'object' && result !== null) {
          event = result.event;
          inbound = this.options.inbound.of(event);
        }
      } catch (err) {
        log.error(`${step.name} failed on ${event.event_id} in ${event.room_id}`, { error: err });
        this.options.onStepFailed?.(step.name, event, err);
      }
    }
  }
}
