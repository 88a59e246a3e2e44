/**
 * Scenes (`!converse <turns> <topic>`): a bounded conversation among a room's personas. Pure
 * decision code: parsing the command, one room's scene state (turns taken, who spoke, the
 * last turn the next one follows) and its transitions. No I/O and no clock; SceneDirector
 * drives it.
 *
 * Rules:
 * - exactly `turns` persona messages, one persona at a time, each seeing the turns before it;
 * - `turns` is 1..the room's turn budget: a scene's turns count against that budget like any
 *   persona message (its start counts as a person speaking, so the whole scene fits);
 * - anything a person writes in the room ends it (the `!converse` message itself excepted),
 *   and so does `!stop`, a new `!converse`, and the bridge stopping (a restart ends a scene).
 */
import type { SceneEndReason } from './messages.js';

export type ConverseRequest =
  | { ok: true; turns: number; topic: string }
  | { ok: false; problem: 'syntax' }
  | { ok: false; problem: 'turns'; asked: string };

/** `<turns> <topic>`: turns a whole number from 1 to `maxTurns`, the topic free text. */
export function parseConverse(rest: string, maxTurns: number): ConverseRequest {
  const match = /^(\S+)\s+(\S[\s\S]*)$/.exec(rest.trim());
  if (!match) return { ok: false, problem: 'syntax' };
  const [, asked, topic] = match as unknown as [string, string, string];
  if (!/^\d+$/.test(asked)) return { ok: false, problem: 'turns', asked };
  const turns = Number(asked);
  if (turns < 1 || turns > maxTurns) return { ok: false, problem: 'turns', asked };
  return { ok: true, turns, topic: topic.trim() };
}

/** A message a turn follows: the previous turn, or (first turn) the `!converse` message. */
export interface SceneMessage {
  eventId: string;
  sender: string;
  body: string;
}

export interface SceneStart {
  roomId: string;
  topic: string;
  turns: number;
  /** Who sent `!converse`. */
  startedBy: string;
  /** The `!converse` message: the first turn follows it, and it does not end its own scene. */
  start: SceneMessage;
  /** The thread `!converse` was sent in: the scene plays there. */
  threadRootId: string | null;
}

/** One room's scene. */
export class Scene {
  readonly roomId: string;
  readonly topic: string;
  readonly turns: number;
  readonly startedBy: string;
  readonly startEventId: string;
  readonly threadRootId: string | null;
  /** Turns taken (persona messages sent). */
  taken = 0;
  /** What the next turn follows. */
  last: SceneMessage;
  /** Personas (user ids) that have spoken in this scene. */
  readonly spoke = new Set<string>();
  /** Why it ended; null while it runs. */
  endedBy: SceneEndReason | null = null;

  constructor(start: SceneStart) {
    this.roomId = start.roomId;
    this.topic = start.topic;
    this.turns = start.turns;
    this.startedBy = start.startedBy;
    this.startEventId = start.start.eventId;
    this.threadRootId = start.threadRootId;
    this.last = start.start;
  }

  get running(): boolean {
    return this.endedBy === null;
  }

  /** True once every turn was taken. */
  get complete(): boolean {
    return this.taken >= this.turns;
  }

  /** The 1-based number of the turn to take next. */
  get nextTurn(): number {
    return this.taken + 1;
  }

  /** A turn was taken: `message` is the persona's message (its last part when split). */
  turnTaken(message: SceneMessage): void {
    if (!this.running) return;
    this.taken++;
    this.spoke.add(message.sender);
    this.last = message;
  }

  /** Ends the scene; false when it had ended already (the first reason stands). */
  end(reason: SceneEndReason): boolean {
    if (!this.running) return false;
    this.endedBy = reason;
    return true;
  }

  /** Whether a person's message ends this scene: any message but the one that started it. */
  endedByPersonMessage(eventId: string): boolean {
    return this.running && eventId !== this.startEventId;
  }
}

/** What a speaker choice needs of a persona. */
export interface ScenePersona {
  userId: string;
  name: string;
}

/**
 * Roster order, round after round: the first persona (in `present` order) that has not
 * spoken in the scene, else the one after the last speaker; never the last speaker itself
 * while another is present. The room's order mode may choose otherwise (SceneDirector).
 */
export function nextInRoster<P extends ScenePersona>(present: readonly P[], scene: Pick<Scene, 'spoke' | 'last'>): P | undefined {
  const lastSender = scene.last.sender;
  const fresh = present.find((p) => !scene.spoke.has(p.userId) && p.userId !== lastSender);
  if (fresh) return fresh;
  const at = present.findIndex((p) => p.userId === lastSender);
  return present[(at + 1) % present.length];
}
