/**
 * Stops personas from talking to each other forever. Per room it keeps the persona senders
 * since anyone else last spoke; when the same sequence of senders (A,B,A,B,... or
 * A,B,C,A,B,C,...) has repeated `threshold` times back to back, the room is looping and the
 * next persona message is suppressed. The chain resets when anyone else speaks or after
 * `resetAfterMs` without persona messages. Pure bookkeeping: no I/O, injectable clock.
 */
export interface LoopGuardOptions {
  /** How many back-to-back repetitions of a sequence make a loop (`dispatch.loop_threshold`). */
  threshold: number;
  /** Quiet time after which a chain is forgotten (`dispatch.loop_reset_seconds` in ms). */
  resetAfterMs: number;
  /** Longest sequence recognised (personas taking turns in one cycle). */
  maxCycleLength?: number;
  now?: () => number;
}

interface RoomChain {
  senders: string[];
  lastAt: number;
  /** Set once a suppression happened in this chain, so the notice goes out only once. */
  suppressed: boolean;
}

export class LoopGuard {
  private readonly rooms = new Map<string, RoomChain>();
  private readonly threshold: number;
  private readonly resetAfterMs: number;
  private readonly maxCycleLength: number;
  private readonly now: () => number;

  constructor(opts: LoopGuardOptions) {
    if (!Number.isInteger(opts.threshold) || opts.threshold < 2) throw new Error(`threshold must be an integer >= 2, got ${opts.threshold}`);
    if (!(opts.resetAfterMs > 0)) throw new Error(`resetAfterMs must be positive, got ${opts.resetAfterMs}`);
    this.threshold = opts.threshold;
    this.resetAfterMs = opts.resetAfterMs;
    this.maxCycleLength = opts.maxCycleLength ?? 8;
    this.now = opts.now ?? Date.now;
  }

  /** Someone who is not a persona spoke: the room's chain is over. */
  recordOther(roomId: string): void {
    this.rooms.delete(roomId);
  }

  /** A persona's message arrived. */
  recordPersona(roomId: string, personaId: string): void {
    const now = this.now();
    let chain = this.liveChain(roomId, now);
    if (!chain) {
      chain = { senders: [], lastAt: now, suppressed: false };
      this.rooms.set(roomId, chain);
    }
    chain.senders.push(personaId);
    chain.lastAt = now;
    // Longer history cannot change the verdict.
    const keep = this.maxCycleLength * this.threshold;
    if (chain.senders.length > keep) chain.senders.splice(0, chain.senders.length - keep);
  }

  /**
   * The repeating sequence when the room is looping, else null. The answer to the message
   * just recorded should then not be sent.
   */
  loopIn(roomId: string): string[] | null {
    const chain = this.liveChain(roomId, this.now());
    if (!chain) return null;
    if (chain.suppressed) return repeatingCycle(chain.senders, this.threshold, this.maxCycleLength) ?? [...new Set(chain.senders)];
    return repeatingCycle(chain.senders, this.threshold, this.maxCycleLength);
  }

  /** Marks a suppression; true the first time in this chain (send the notice then only). */
  markSuppressed(roomId: string): boolean {
    const chain = this.rooms.get(roomId);
    if (!chain || chain.suppressed) return false;
    chain.suppressed = true;
    return true;
  }

  private liveChain(roomId: string, now: number): RoomChain | undefined {
    const chain = this.rooms.get(roomId);
    if (chain && now - chain.lastAt >= this.resetAfterMs) {
      this.rooms.delete(roomId);
      return undefined;
    }
    return chain;
  }

  /** Rooms with a live chain, for housekeeping and tests. */
  get trackedRooms(): number {
    return this.rooms.size;
  }
}

/**
 * The shortest sequence of at least two different senders that the tail of `senders` repeats
 * `times` times back to back, or null. A,B,A,B,A,B with times=3 gives [A,B].
 */
export function repeatingCycle(senders: readonly string[], times: number, maxLength: number): string[] | null {
  for (let length = 2; length <= maxLength && length * times <= senders.length; length++) {
    const tail = senders.slice(senders.length - length * times);
    const cycle = tail.slice(0, length);
    if (new Set(cycle).size < 2) continue;
    if (tail.every((sender, i) => sender === cycle[i % length])) return cycle;
  }
  return null;
}
