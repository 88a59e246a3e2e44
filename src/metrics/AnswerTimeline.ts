import { performance } from 'node:perf_hooks';

/**
 * Where the bridge's own time goes before a persona's model is asked: one timeline per
 * incoming message, from its transaction reaching the listener to the model request being
 * handed to the HTTP client. Each `lap` charges the time since the previous lap to a named
 * stage, so the stages always add up to the whole and no millisecond goes unaccounted.
 *
 * Stages, in the order a message passes them (not every message passes every one):
 * - `auth`: the homeserver token check; `parse`: the body read and parsed, malformed events
 *   dropped; `pending`: the de-duplication read and the durable pending write (the one write
 *   before the homeserver hears "received");
 * - `queue`: from there to the message's turn on its room's event queue (the appservice
 *   library's hand-over, earlier messages of the room);
 * - one stage per pipeline step, by its name (`dedupe`, `membership`, `memory-recorder`, ...,
 *   `dispatcher`: the decision who answers);
 * - `answer_queue`: waiting for the room's earlier answers; `members`: the room's members
 *   (loaded when not cached); `remember`: the answered message read back; `usage`: the daily
 *   caps; `history`: recent messages, chapters and notes; `recall`: the full-text search;
 *   `turns`: the turns named, the participants, the lorebook; `prompt`: the prompt fitted to the model's budget; `request`: the
 *   LLM client (its queue, the request built) until the request is handed to fetch.
 */
export class Timeline {
  private last: number;
  private readonly laps: Array<[stage: string, ms: number]> = [];

  constructor(readonly startedAt: number = performance.now()) {
    this.last = startedAt;
  }

  /** Charges the time since the previous lap (or the start) to `stage`. */
  lap(stage: string, now: number = performance.now()): void {
    this.laps.push([stage, Math.max(0, now - this.last)]);
    this.last = now;
  }

  /** From the start to the last lap (ms). */
  get totalMs(): number {
    return this.last - this.startedAt;
  }

  /** Milliseconds per stage, in the order first reached (a stage lapped twice is added up). */
  stages(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [stage, ms] of this.laps) out.set(stage, (out.get(stage) ?? 0) + ms);
    return out;
  }

  /** For a log line: `auth=0.02 parse=0.31 ... total=4.12` (ms, two decimals). */
  describe(): string {
    const parts = [...this.stages()].map(([stage, ms]) => `${stage}=${ms.toFixed(2)}`);
    return [...parts, `total=${this.totalMs.toFixed(2)}`].join(' ');
  }
}

/** Timelines kept at most while their messages are handled (a burst of 10,000 events would only be partly timed). */
const MAX_OPEN = 2_000;

/**
 * The timelines of messages in flight, by event id: started where a transaction is read,
 * lapped by the event pipeline, taken by the dispatcher for the answer it queues. Bounded:
 * the oldest are dropped when more than {@link MAX_OPEN} are open (a message that needs no
 * answer is closed when the pipeline is done with it).
 */
export class AnswerTimelines {
  private readonly open = new Map<string, Timeline>();

  constructor(private readonly maxOpen: number = MAX_OPEN) {}

  /** Starts the message's timeline (once: a redelivered message keeps its first). */
  begin(eventId: string, timeline: Timeline): void {
    if (this.open.has(eventId)) return;
    this.open.set(eventId, timeline);
    if (this.open.size > this.maxOpen) this.open.delete(this.open.keys().next().value as string);
  }

  /** Laps the message's timeline, if it has one. */
  lap(eventId: string, stage: string): void {
    this.open.get(eventId)?.lap(stage);
  }

  /** Hands the timeline over (to the answer) and forgets it here. */
  take(eventId: string): Timeline | undefined {
    const timeline = this.open.get(eventId);
    if (timeline) this.open.delete(eventId);
    return timeline;
  }

  /** The message needs no answer (or is done): its timeline goes. */
  close(eventId: string): void {
    this.open.delete(eventId);
  }

  get size(): number {
    return this.open.size;
  }
}
