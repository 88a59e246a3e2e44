/**
 * Shows an answer while the model is still writing it: the first visible text goes out as a
 * normal message once the model has produced a sentence (or `firstFlushMs` has passed), then
 * that message is edited in place at a ramping interval, and a final edit carries the whole
 * text with its formatting. An answer that is done before the first flush is sent once,
 * unedited, exactly as a non-streamed answer.
 *
 * The bound: at most `maxEdits` interim edits plus one final edit per answer. With the default
 * ramp (0.5 s doubling to 5 s) a 20-second answer makes about 7 edits and a two-minute one hits
 * the cap of 20, i.e. never more than one edit per 5 s per answer once the ramp is done —
 * well inside Synapse's default per-user message rate (0.2/s with bursts of 10), even for a
 * homeserver that rate-limits our users.
 *
 * An interim edit that fails (the homeserver stayed unreachable through the gateway's retries,
 * or refused it) ends the interim edits, not the answer: the final edit carries the whole text
 * anyway, so it is still sent, and the answer is complete once it gets through.
 */

import { getLogger } from '../logging.js';
import { FINAL_KEY, LIVE_KEY } from '../matrix/liveMessages.js';
import { describeSendFailure } from '../matrix/sendRetry.js';

const log = getLogger('LiveAnswer');

export interface LiveAnswerOptions {
  /** Send the first text after this long even without a finished sentence. */
  firstFlushMs: number;
  /** The first interval between edits; each next one doubles, up to `maxIntervalMs`. */
  firstIntervalMs: number;
  maxIntervalMs: number;
  /** Interim edits per answer at most (the final edit is not counted). */
  maxEdits: number;
  /** Below this many characters a sentence end does not flush yet (avoids sending "Hi."). */
  minFirstChars: number;
  /**
   * A finished sentence shows no earlier than this after the first token: a fast model's whole
   * answer is usually done by then and goes out once, unedited.
   */
  minFirstMs: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveAnswerOptions = {
  firstFlushMs: 1000,
  firstIntervalMs: 500,
  maxIntervalMs: 5000,
  maxEdits: 20,
  minFirstChars: 24,
  minFirstMs: 300,
};

/** Where the live message goes (the persona's Matrix side, already bound to a room). */
export interface LiveAnswerSink {
  /** Sends the first version; returns its event id. */
  send(content: Record<string, unknown>): Promise<string>;
  /** Replaces the message's content (an m.replace edit); `final` for the last one. */
  edit(eventId: string, newContent: Record<string, unknown>, final?: boolean): Promise<void>;
}

/** Turns text into the message content (formatting, mentions, reply relation). */
export type RenderContent = (text: string) => Record<string, unknown>;

export interface LiveAnswerResult {
  /** The live message, or null when nothing was sent while streaming. */
  eventId: string | null;
  /** Interim edits made (the final edit not counted). */
  edits: number;
}

/** Timers, injectable so tests run on a fake clock. */
export interface LiveClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: LiveClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A finished sentence (or line) somewhere in the text: enough to show something. */
const SENTENCE_END = /[.!?…。！？](\s|$)|\n/;

export class LiveAnswer {
  private text = '';
  private shown = '';
  private eventId: string | null = null;
  private edits = 0;
  private firstAt: number | null = null;
  private timer: unknown = null;
  private nextIntervalMs: number;
  /** One request at a time, in order: an interim edit must never overtake the final one. */
  private chain: Promise<void> = Promise.resolve();
  /** The first send failed: nothing is visible, nothing more is sent here. */
  private failure: unknown = null;
  /** An interim edit failed: no more of them; the final edit is still made. */
  private editFailed = false;
  private finished = false;
  /** The first send is in flight (its event id is not known yet). */
  private sending = false;
  /** The first flush was brought forward to the end of the minimum wait. */
  private sentenceDue = false;

  constructor(
    private readonly sink: LiveAnswerSink,
    private readonly render: RenderContent,
    private readonly opts: LiveAnswerOptions = DEFAULT_LIVE_OPTIONS,
    private readonly clock: LiveClock = realClock,
    /** Called once, when the first text becomes visible (typing can stop then). */
    private readonly onVisible?: () => void,
  ) {
    this.nextIntervalMs = opts.firstIntervalMs;
  }

  /** The event id of the live message once it has been sent. */
  get liveEventId(): string | null {
    return this.eventId;
  }

  /** What the room shows now (the text of the last send or edit). */
  get shownText(): string {
    return this.shown;
  }

  /**
   * Writes into an existing message (regenerating an answer in place): every update is an
   * edit of it, at the same ramping interval.
   */
  adopt(eventId: string): void {
    this.eventId = eventId;
  }

  /** The model's text so far (the whole of it, not a delta). */
  update(textSoFar: string): void {
    if (this.finished) return;
    this.text = textSoFar;
    if (!textSoFar.trim() || this.sending) return;
    if (this.eventId !== null) {
      // Adopted message: the first update starts the edit ramp.
      if (this.timer === null && this.edits === 0 && this.shown === '') this.scheduleEdit();
      return;
    }
    if (this.firstAt === null) {
      this.firstAt = this.clock.now();
      this.timer = this.clock.setTimeout(() => this.flush(), this.opts.firstFlushMs);
    }
    if (this.sentenceDue || textSoFar.length < this.opts.minFirstChars || !SENTENCE_END.test(textSoFar)) return;
    const wait = this.firstAt + this.opts.minFirstMs - this.clock.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    // A sentence is ready: show it once the minimum wait is over (unless the answer is done first).
    this.sentenceDue = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.finished || this.failure) return;
    const text = this.text;
    if (!text.trim() || text === this.shown) {
      this.scheduleEdit();
      return;
    }
    if (this.eventId === null) {
      this.sending = true;
      this.enqueue(async () => {
        this.eventId = await this.sink.send(this.liveContent(text));
        this.shown = text;
        this.onVisible?.();
      }).finally(() => {
        this.sending = false;
        this.scheduleEdit();
      });
      return;
    }
    if (this.edits >= this.opts.maxEdits || this.editFailed) return;
    this.edits++;
    const eventId = this.eventId;
    this.enqueue(async () => {
      try {
        await this.sink.edit(eventId, this.liveContent(text));
        this.shown = text;
      } catch (err) {
        this.editFailed = true;
        log.warn(`an interim edit of ${eventId} failed; no more until the final edit, which carries the whole answer: ${describeSendFailure(err)}`);
      }
    }).finally(() => this.scheduleEdit());
  }

  private scheduleEdit(): void {
    if (this.finished || this.failure || this.editFailed || this.eventId === null || this.edits >= this.opts.maxEdits) return;
    const interval = this.nextIntervalMs;
    this.nextIntervalMs = Math.min(this.nextIntervalMs * 2, this.opts.maxIntervalMs);
    this.timer = this.clock.setTimeout(() => this.flush(), interval);
  }

  private liveContent(text: string): Record<string, unknown> {
    return { ...this.render(text), [LIVE_KEY]: {} };
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch((err: unknown) => {
      this.failure ??= err;
    });
    return this.chain;
  }

  /**
   * Ends the stream. With a live message: the final edit carries `content` (the whole
   * answer, formatted, without the live mark); without one, nothing is sent here and the
   * caller sends the answer normally. Rejects when the first send or the final edit failed
   * (an interim edit that failed does not matter once the final edit is made); a failed final
   * edit is followed by one that ends the message as it shows, without the live mark.
   */
  async finish(finalContent: Record<string, unknown> | null): Promise<LiveAnswerResult> {
    this.finished = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.chain;
    if (this.failure) throw this.failure;
    if (this.eventId !== null && finalContent) {
      try {
        await this.sink.edit(this.eventId, finalContent, true);
      } catch (err) {
        await this.endAsShown(this.eventId, err);
        throw err;
      }
      this.shown = String(finalContent.body ?? '');
    }
    return { eventId: this.eventId, edits: this.edits };
  }

  /**
   * The final edit was refused (too large, a bad character, a rate limit): the message still
   * ends, as it shows now but without the live mark, so no client waits for more.
   */
  private async endAsShown(eventId: string, err: unknown): Promise<void> {
    log.warn(`the final edit of ${eventId} failed (${describeSendFailure(err)}); ending it as it shows`);
    try {
      await this.sink.edit(eventId, this.render(this.shown || '…'), true);
    } catch (again) {
      log.warn(`${eventId} keeps its live mark: ending it as it shows failed too (${describeSendFailure(again)})`);
    }
  }

  /** Stops without a final edit (nothing more will be sent); waits for what is in flight. */
  async abandon(): Promise<LiveAnswerResult> {
    this.finished = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.chain;
    return { eventId: this.eventId, edits: this.edits };
  }
}

/**
 * The content of an edit (m.replace) of `eventId`: the fallback body `* …` for clients that
 * do not understand edits, the new content in `m.new_content`. Mentions are in the new content
 * only: an edit must not ping again the people the first version already pinged.
 */
export function editContent(eventId: string, newContent: Record<string, unknown>, final = false): Record<string, unknown> {
  const inner = { ...newContent };
  const relation = inner['m.relates_to'] ?? null;
  delete inner['m.relates_to'];
  const fallback: Record<string, unknown> = {
    msgtype: inner.msgtype ?? 'm.text',
    body: `* ${String(inner.body ?? '')}`,
    'm.mentions': {},
    'm.new_content': inner,
    'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
  };
  if (typeof inner.formatted_body === 'string') {
    fallback.format = 'org.matrix.custom.html';
    fallback.formatted_body = `* ${inner.formatted_body}`;
  }
  if (LIVE_KEY in inner) fallback[LIVE_KEY] = {};
  // The bridge dispatches the final version (its mentions), with the original's relation.
  if (final) fallback[FINAL_KEY] = { relates_to: relation };
  return fallback;
}
