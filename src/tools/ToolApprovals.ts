import { getLogger } from '../logging.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('ToolApprovals');

export type ApprovalOutcome = 'approved' | 'denied' | 'timeout' | 'cancelled';

/** Reaction keys that approve or refuse (clients send them with or without VS16). */
const APPROVE_KEYS = new Set(['✅', '✔', '☑']);
const DENY_KEYS = new Set(['❌', '✖', '❎']);

export function approvalKey(key: string): 'approve' | 'deny' | null {
  const k = key.trim().replace(/\uFE0F/g, '');
  if (APPROVE_KEYS.has(k)) return 'approve';
  if (DENY_KEYS.has(k)) return 'deny';
  return null;
}

export interface ApprovalRequest {
  roomId: string;
  /** Who the answer is for: they (or a bridge admin) decide. */
  requester: string;
  /** Posts the request in the room; returns its event id (the message to react on). */
  post(): Promise<string>;
  timeoutMs: number;
  signal: AbortSignal;
}

interface Waiting {
  roomId: string;
  requester: string;
  eventId: string | null;
  decide(outcome: ApprovalOutcome, by: string): void;
}

/**
 * Tool calls waiting for a person's go-ahead. The persona posts what it wants to run; ✅ on
 * that message (or `!approve` in the room) lets it run, ❌ (or `!deny`) refuses, and so does
 * the timeout. Only the person the answer is for, or a bridge admin, decides; anyone else's
 * reaction changes nothing. Nothing here is kept across a restart: a call that was waiting
 * never ran, and the resumed answer asks again.
 */
export class ToolApprovals {
  private readonly waiting = new Set<Waiting>();
  /** What each `!approve`/`!deny` message decided (the step acts at once; the command reports later). */
  private readonly decisions = new Map<string, number>();

  async ask(request: ApprovalRequest): Promise<ApprovalOutcome> {
    if (request.signal.aborted) return 'cancelled';
    let settle!: (outcome: ApprovalOutcome) => void;
    const settled = new Promise<ApprovalOutcome>((resolve) => (settle = resolve));
    const entry: Waiting = {
      roomId: request.roomId,
      requester: request.requester,
      eventId: null,
      decide: (outcome, by) => {
        if (!this.waiting.delete(entry)) return;
        log.info(`tool call in ${request.roomId} ${outcome} by ${by}`);
        settle(outcome);
      },
    };
    // Waiting before the message is out: a quick `!approve` after it must find it.
    this.waiting.add(entry);
    const timer = setTimeout(() => entry.decide('timeout', 'the timeout'), request.timeoutMs);
    const onAbort = () => entry.decide('cancelled', 'the answer being stopped');
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      entry.eventId = await request.post();
    } catch (err) {
      log.warn(`could not post an approval request in ${request.roomId}: ${describeError(err)}`);
      entry.decide('cancelled', 'a failed post');
    }
    try {
      return await settled;
    } finally {
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
    }
  }

  /** A reaction on a request message; true when it decided one. */
  react(eventId: string, key: string, by: string, isAdmin: boolean): boolean {
    const kind = approvalKey(key);
    if (!kind) return false;
    for (const entry of this.waiting) {
      if (entry.eventId !== eventId) continue;
      if (entry.requester !== by && !isAdmin) {
        log.info(`approval reaction by ${by} on ${eventId} ignored: only ${entry.requester} or an admin decides`);
        return false;
      }
      entry.decide(kind === 'approve' ? 'approved' : 'denied', by);
      return true;
    }
    return false;
  }

  /** `!approve` / `!deny` in a room: decides every request there that `by` may decide; how many. */
  decideInRoom(roomId: string, approve: boolean, by: string, isAdmin: boolean, commandEventId?: string): number {
    let decided = 0;
    for (const entry of [...this.waiting]) {
      if (entry.roomId !== roomId || (entry.requester !== by && !isAdmin)) continue;
      entry.decide(approve ? 'approved' : 'denied', by);
      decided++;
    }
    if (commandEventId) {
      this.decisions.set(commandEventId, decided);
      if (this.decisions.size > 200) this.decisions.delete(this.decisions.keys().next().value!);
    }
    return decided;
  }

  /** How many requests the `!approve`/`!deny` message decided (undefined: not seen). */
  decidedBy(commandEventId: string): number | undefined {
    return this.decisions.get(commandEventId);
  }

  /** True while the message is a request waiting for a decision. */
  isWaiting(eventId: string): boolean {
    return [...this.waiting].some((e) => e.eventId === eventId);
  }

  get pending(): number {
    return this.waiting.size;
  }
}
