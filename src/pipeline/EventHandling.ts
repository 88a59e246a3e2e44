/**
 * What happens to an event once matrix-appservice has answered its transaction: it waits its
 * turn on its room's queue, goes through the event pipeline, and is settled — no longer
 * pending (PendingEventStore) — when nothing is left to do for it. An event whose answers are
 * queued is settled by the dispatcher once they are written (it calls `settle`). At start,
 * what the previous process left pending is resumed here.
 */
import { describeShape } from '../ingress/transactionShape.js';
import { getLogger } from '../logging.js';
import { asRoomEvent, type RoomEvent } from '../matrix/events.js';
import type { EventPipeline } from './EventPipeline.js';
import type { InboundEvent } from './InboundEvent.js';
import type { RoomQueue } from './RoomQueue.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('EventHandling');

/** An event as matrix-appservice-bridge's controller hands it over (its Request). */
export interface LibraryRequest {
  getData(): unknown;
  resolve(value: undefined): void;
}

export interface EventHandlingDeps {
  /** Room events, one at a time per room (drained at shutdown). */
  queue: Pick<RoomQueue, 'run'>;
  /** The messages received and not yet handled (PendingEventStore). */
  pending: { list(): { event: RoomEvent }[]; done(eventId: string): void };
  /**
   * A write nobody waits for, committed with or after the event's own writes (GroupCommit.later):
   * settling an event.
   */
  commitLater<T>(write: () => T): Promise<T>;
  /** A resumed event is let past de-duplication once, on the processed mark it already has (ReceivedMessages). */
  received: { resume(eventId: string): void };
  /** Each message's timeline (metrics/AnswerTimeline.ts). */
  timelines: { lap(eventId: string, stage: string): void; close(eventId: string): void };
  /** `dispatch.max_event_age_seconds` in ms: older pending messages get a notice instead of an answer. */
  maxEventAgeMs: number;
  now?: () => number;
}

/** What the handling needs once the pipeline is built (the dispatcher is its last step). */
export interface EventServing {
  pipeline: EventPipeline;
  inbound: { of(event: RoomEvent): InboundEvent };
  answers: {
    /** True while answers to the event are queued (the dispatcher settles it then). */
    hasQueued(eventId: string): boolean;
    /** The notice for a message that waited too long through a restart. */
    noticeMissed(inbound: InboundEvent): Promise<void>;
  };
}

export class EventHandling {
  private serving: EventServing | null = null;
  private stopped = false;
  /** Opened by resumePending (or stop) once the bridge is ready to answer. */
  private openResumed: () => void = () => undefined;
  private resumed: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly deps: EventHandlingDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The pipeline, once built. The library hands events over only once listening, which is
   * after composition; an event before this (or after stop) is left pending.
   */
  serve(serving: EventServing): void {
    this.serving = serving;
  }

  /** Shutdown: events still arriving or queued are left pending for the next start. */
  stop(): void {
    this.stopped = true;
    // Held resumed events stay pending instead of holding the drain.
    this.openResumed();
  }

  /** matrix-appservice-bridge's controller `onEvent`. */
  readonly onEvent = (request: LibraryRequest): void => {
    const data = request.getData();
    const event = asRoomEvent(data);
    if (!event) {
      log.warn('skipping malformed event', { event: describeShape(data) });
      const eventId = (data as { event_id?: unknown } | null)?.event_id;
      if (typeof eventId === 'string') this.settle(eventId);
      request.resolve(undefined);
      return;
    }
    const serving = this.serving;
    if (!serving || this.stopped) {
      request.resolve(undefined);
      return;
    }
    void this.handle(serving, event).finally(() => request.resolve(undefined));
  };

  /** The event is done with: no longer pending. */
  settle(eventId: string): void {
    this.deps
      .commitLater(() => this.deps.pending.done(eventId))
      .catch((err: unknown) => {
        // Left pending: at worst it is answered once more after a restart.
        const error = err instanceof Error ? err : new Error(describeError(err));
        log.error(`cannot mark ${eventId} as handled: ${error.message}`, { stack: error.stack });
      });
  }

  /**
   * What the previous process received but had not finished, queued first in each room before
   * the listener opens: what the homeserver delivers from then on (a redelivered transaction
   * among it) queues behind it, so a room is still answered in order. The list is read once,
   * so a message received from now on is never resumed as well. Recent messages go through the
   * pipeline again (let past the de-duplication step once), older ones get one notice; all of
   * them wait for resumePending.
   */
  holdPending(): void {
    const serving = this.serving;
    const left = this.deps.pending.list();
    if (left.length === 0 || !serving) return;
    const ready = new Promise<void>((resolve) => (this.openResumed = resolve));
    log.info(`${left.length} message(s) received before the last stop will be resumed once the bridge is ready`);
    this.resumed = Promise.all(
      left.map(async ({ event: stored }) => {
        const event = asRoomEvent(stored);
        if (!event) {
          this.settle(stored.event_id);
          return;
        }
        if (this.now() - event.origin_server_ts > this.deps.maxEventAgeMs) {
          const noticed = await this.deps.queue.run(event.room_id, async () => {
            await ready;
            if (this.stopped) return false;
            await serving.answers.noticeMissed(serving.inbound.of(event)).catch((err: unknown) => {
              log.warn(`missed-message notice for ${event.event_id} failed: ${describeError(err)}`);
            });
            return true;
          });
          if (noticed) this.settle(event.event_id);
          return;
        }
        await this.handle(serving, event, ready);
      }),
    );
  }

  /** Lets the messages held by holdPending be handled, and resolves once they have been. */
  async resumePending(): Promise<void> {
    this.openResumed();
    await this.resumed;
  }

  /**
   * Runs an event through the pipeline on its room's queue. When nothing is left to do for it
   * (no answer queued), it is no longer pending; otherwise the dispatcher settles it later.
   */
  private async handle(serving: EventServing, event: RoomEvent, resumeWhen?: Promise<void>): Promise<void> {
    const { timelines } = this.deps;
    try {
      // Still checked when its turn comes: events queued before a stop are left pending, not half-handled.
      const ran = await this.deps.queue.run(event.room_id, async () => {
        // Resumed from the last process: first in its room, it waits for the bridge to be ready.
        if (resumeWhen) await resumeWhen;
        if (this.stopped) return false;
        if (resumeWhen) this.deps.received.resume(event.event_id);
        timelines.lap(event.event_id, 'queue');
        await serving.pipeline.run(event);
        // No answer took it: nothing more to time.
        timelines.close(event.event_id);
        return true;
      });
      if (ran && !serving.answers.hasQueued(event.event_id)) this.settle(event.event_id);
    } catch (err) {
      log.error(`handling ${event.event_id} in ${event.room_id} failed`, { error: err });
    }
  }
}
