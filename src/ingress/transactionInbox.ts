import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import { Timeline, type AnswerTimelines } from '../metrics/AnswerTimeline.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('TransactionInbox');

/** Events that may need an answer: recorded before the homeserver hears "received". */
const ANSWERABLE_TYPES = new Set(['m.room.message', 'm.room.encrypted']);

export interface Inbox {
  /**
   * Records durably and atomically the events not seen before (a replayed transaction's were),
   * and returns those; throws when it cannot (disk full, read-only database). See
   * store/ReceivedMessages.ts.
   */
  record(events: readonly RoomEvent[]): readonly RoomEvent[];
  /** Events were recorded (a write succeeded): a storage fault, if any, is over. */
  recorded?(): void;
  /** The events could not be recorded and the transaction is refused (tell their rooms). */
  refused?(events: readonly RoomEvent[], err: unknown): void;
  /** Where each recorded message's timeline starts (see metrics/AnswerTimeline.ts); omit for none. */
  timelines?: Pick<AnswerTimelines, 'begin'>;
}

/**
 * The transaction's persist stage: writes its messages to the pending store *before*
 * matrix-appservice answers 200: once the homeserver hears "received" it never sends them
 * again, so anything not yet answered must survive a crash here. When they cannot be written,
 * the transaction is refused (503): the homeserver keeps it and retries, instead of us
 * dropping it. After the shape stage (events are well-formed) and decryption's (keys in place).
 */
export function transactionInbox(inbox: Inbox): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const events = (req.body as { events?: unknown } | undefined)?.events;
    if (!Array.isArray(events)) {
      next();
      return;
    }
    const parsedAt = performance.now();
    const answerable = (events as RoomEvent[]).filter((e) => ANSWERABLE_TYPES.has(e.type));
    let received: readonly RoomEvent[];
    try {
      received = inbox.record(answerable);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(describeError(err));
      log.error(`cannot record ${answerable.length} event(s) of a transaction; refusing it so the homeserver retries: ${error.message}`, {
        stack: error.stack,
      });
      res.status(503).json({ errcode: 'M_UNKNOWN', error: 'Cannot store events right now; retry later' });
      inbox.refused?.(answerable, err);
      return;
    }
    if (answerable.length > 0) inbox.recorded?.();
    if (inbox.timelines) startTimelines(inbox.timelines, received, res.locals, parsedAt);
    next();
  };
}

/**
 * Each message's timeline: the token check and everything up to this stage (times set by the
 * access stage, ingress/access.ts), then the pending write.
 */
function startTimelines(timelines: Pick<AnswerTimelines, 'begin'>, events: readonly RoomEvent[], locals: Record<string, unknown>, parsedAt: number): void {
  const arrivedAt = typeof locals.arrivedAt === 'number' ? locals.arrivedAt : parsedAt;
  const authedAt = typeof locals.authedAt === 'number' ? locals.authedAt : arrivedAt;
  const recordedAt = performance.now();
  for (const event of events) {
    const timeline = new Timeline(arrivedAt);
    timeline.lap('auth', authedAt);
    timeline.lap('parse', parsedAt);
    timeline.lap('pending', recordedAt);
    timelines.begin(event.event_id, timeline);
  }
}
