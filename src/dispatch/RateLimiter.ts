/**
 * Per-person limit on what makes personas answer (`dispatch.user_rate_limit`): at most `limit`
 * in any sliding window of `windowMs`. One budget per person, shared by everything a person
 * causes a model call with: their messages, each turn of a scene they started, `!next` and 🔁. Over the limit a message is dropped; the first
 * dropped one of a burst asks for a polite notice, the rest stay silent so the limiter never
 * becomes a spam source itself. Pure bookkeeping with an injectable clock.
 */
export interface RateLimiterOptions {
  limit: number;
  windowMs: number;
  now?: () => number;
}

/** `limited-notify`: over the limit, and the user has not been told yet in this burst. */
export type RateDecision = 'allowed' | 'limited-notify' | 'limited';

interface UserWindow {
  /** Times of allowed messages still inside the window, oldest first. */
  hits: number[];
  notified: boolean;
}

/** Forget idle users once the map grows past this many entries. */
const SWEEP_AT = 10_000;

export class RateLimiter {
  private readonly users = new Map<string, UserWindow>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(opts: RateLimiterOptions) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new Error(`limit must be a positive integer, got ${opts.limit}`);
    if (!(opts.windowMs > 0)) throw new Error(`windowMs must be positive, got ${opts.windowMs}`);
    this.limit = opts.limit;
    this.windowMs = opts.windowMs;
    this.now = opts.now ?? Date.now;
  }

  /** Counts a message by the user, if allowed. */
  hit(userId: string): RateDecision {
    const now = this.now();
    let user = this.users.get(userId);
    if (!user) {
      if (this.users.size >= SWEEP_AT) this.sweep(now);
      user = { hits: [], notified: false };
      this.users.set(userId, user);
    }
    dropExpired(user.hits, now - this.windowMs);
    if (user.hits.length < this.limit) {
      user.hits.push(now);
      user.notified = false;
      return 'allowed';
    }
    if (user.notified) return 'limited';
    user.notified = true;
    return 'limited-notify';
  }

  /** True when the user could make another hit now (nothing is counted). */
  hasRoom(userId: string): boolean {
    const user = this.users.get(userId);
    if (!user) return true;
    dropExpired(user.hits, this.now() - this.windowMs);
    return user.hits.length < this.limit;
  }

  private sweep(now: number): void {
    for (const [userId, user] of this.users) {
      dropExpired(user.hits, now - this.windowMs);
      if (user.hits.length === 0) this.users.delete(userId);
    }
  }

  get trackedUsers(): number {
    return this.users.size;
  }
}

function dropExpired(hits: number[], cutoff: number): void {
  let expired = 0;
  while (expired < hits.length && (hits[expired] as number) <= cutoff) expired++;
  if (expired) hits.splice(0, expired);
}

/**
 * A round of tool calls in an answer started by `userId` (its requestedBy) counts as one more
 * message against their rate limit (dispatch.user_rate_limit): false when that is over it, and
 * the answer goes on without more tools. An answer nobody started, or a persona's, is bounded by
 * tools.max_rounds alone.
 */
export function chargeToolRound(budget: Pick<RateLimiter, 'hit'>, isPersona: (userId: string) => boolean, userId: string | null): boolean {
  if (userId === null || isPersona(userId)) return true;
  return budget.hit(userId) === 'allowed';
}
