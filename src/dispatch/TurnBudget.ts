/**
 * The hard bound on persona-only traffic in a room: at most `limitFor(roomId)` persona
 * answers since a person last spoke there. The pattern guard (LoopGuard) catches regular
 * back-and-forth early; this catches everything else — fan-out, where every answer mentions
 * several other personas and the number of pending answers grows with each round.
 *
 * Answers are counted when they are *granted* (before the model is called), not when their
 * messages arrive back from the homeserver, so answers already queued count too and the bound
 * holds however far behind the queue is. When a persona-triggered answer is refused the room
 * trips: its generation's AbortSignal fires, which cancels every persona-triggered answer and
 * model call still queued or running for that room, and the caller sends one notice.
 *
 * A person speaking opens a new generation with a fresh count. Answers to people are always
 * granted (a person is never ignored) but counted, so what follows them stays bounded.
 *
 * Pure bookkeeping: no I/O and no clock. The limit is a lookup so a per-room override (room
 * state, a `!next` command) can be plugged in without a second mechanism.
 */

/** Where a room's limit comes from; `undefined` means "use the default". */
export type TurnLimitLookup = (roomId: string) => number | undefined;

export interface TurnBudgetOptions {
  /** Persona answers allowed per room since a person last spoke (default 2 × `dispatch.loop_threshold`). */
  defaultLimit: number;
  /** Per-room override; consulted on every decision so changes apply at once. */
  limitFor?: TurnLimitLookup;
}

/** What `request` decided for one answer. */
export type TurnGrant =
  /** Go ahead; pass `signal` to everything the answer does (queue wait, model call, send). */
  | { granted: true; signal: AbortSignal }
  /** Refused. `notify` is true only for the refusal that tripped the room (send one notice). */
  | { granted: false; notify: boolean; limit: number };

interface RoomTurns {
  /** Answers granted since a person last spoke. */
  used: number;
  /** Aborted when the room trips; replaced when a person speaks. */
  controller: AbortController;
  tripped: boolean;
}

export class TurnBudget {
  private readonly rooms = new Map<string, RoomTurns>();
  private readonly defaultLimit: number;
  private readonly lookup: TurnLimitLookup;

  constructor(opts: TurnBudgetOptions) {
    if (!Number.isInteger(opts.defaultLimit) || opts.defaultLimit < 1) {
      throw new Error(`defaultLimit must be an integer >= 1, got ${opts.defaultLimit}`);
    }
    this.defaultLimit = opts.defaultLimit;
    this.lookup = opts.limitFor ?? (() => undefined);
  }

  /** The room's limit: the override when it is a sane number, else the default. */
  limitFor(roomId: string): number {
    const override = this.lookup(roomId);
    return override !== undefined && Number.isInteger(override) && override >= 0 ? override : this.defaultLimit;
  }

  /**
   * A person spoke in the room: the count starts again. Answers still queued from the
   * previous generation keep their (unaborted) signal; they were granted within its budget.
   */
  personSpoke(roomId: string): void {
    this.rooms.delete(roomId);
  }

  /**
   * Asks for one persona answer in the room. `triggeredBy` is who the answer is to: a
   * `person` is always granted (and counted); a `persona` only while the budget lasts.
   */
  request(roomId: string, triggeredBy: 'person' | 'persona'): TurnGrant {
    const room = this.room(roomId);
    const limit = this.limitFor(roomId);
    if (triggeredBy === 'person') {
      room.used++;
      // Answers to a person are not tied to the persona generation: a trip must not cancel them.
      return { granted: true, signal: new AbortController().signal };
    }
    if (!room.tripped && room.used < limit) {
      room.used++;
      return { granted: true, signal: room.controller.signal };
    }
    const notify = !room.tripped;
    this.stop(roomId);
    return { granted: false, notify, limit };
  }

  /**
   * Asks for one more persona answer to the same person's message (several mentioned, `list`
   * order): granted only while the budget lasts, so one message cannot fan out past it, and
   * then, like the first answer, not cancelled by a later trip (it answers a person). A
   * refusal does not trip the room; `notify` says to tell the room once.
   */
  requestAnother(roomId: string): TurnGrant {
    const room = this.room(roomId);
    const limit = this.limitFor(roomId);
    if (room.tripped || room.used >= limit) return { granted: false, notify: true, limit };
    room.used++;
    return { granted: true, signal: new AbortController().signal };
  }

  /**
   * Stops the room's persona-triggered answers now, without a refusal (the pattern guard saw
   * a loop first, or someone asked them to stop): same effect as the budget running out.
   */
  stop(roomId: string): void {
    const room = this.room(roomId);
    if (room.tripped) return;
    room.tripped = true;
    room.controller.abort(new TurnBudgetExhausted(roomId, this.limitFor(roomId)));
  }

  /** Whether persona-triggered answers in the room are currently stopped. */
  isTripped(roomId: string): boolean {
    return this.rooms.get(roomId)?.tripped ?? false;
  }

  /** Answers granted in the room since a person last spoke. */
  used(roomId: string): number {
    return this.rooms.get(roomId)?.used ?? 0;
  }

  /** Rooms with persona traffic since a person last spoke (housekeeping, tests). */
  get trackedRooms(): number {
    return this.rooms.size;
  }

  private room(roomId: string): RoomTurns {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { used: 0, controller: new AbortController(), tripped: false };
      this.rooms.set(roomId, room);
    }
    return room;
  }
}

/** The abort reason of a tripped room's signal: tells a cancelled answer from a failed one. */
export class TurnBudgetExhausted extends Error {
  override name = 'TurnBudgetExhausted';
  constructor(
    readonly roomId: string,
    readonly limit: number,
  ) {
    super(`turn budget of ${limit} persona answers exhausted in ${roomId}`);
  }
}

export function isTurnBudgetExhausted(reason: unknown): reason is TurnBudgetExhausted {
  return reason instanceof TurnBudgetExhausted;
}
