/**
 * The scenes running in each room and the scene messages sent: what the dispatcher asks about
 * (SceneHooks: does this persona message belong to a scene, a person wrote) and what the
 * SceneDirector keeps up to date as it starts, drives and ends scenes. Built before both, so
 * neither has to be looked up late.
 */
import type { SceneHooks } from '../dispatch/Dispatcher.js';
import type { Scene, SceneMessage } from './scene.js';
import type { SceneEndReason } from './messages.js';

/** Scene messages remembered so their echoes start no answers (plenty for every live scene). */
const MAX_REMEMBERED_TURNS = 1000;

export interface RunningScene {
  scene: Scene;
  /** Aborted when the scene ends: cancels the turn being written. */
  controller: AbortController;
  /** The scene's messages so far. */
  messages: Set<string>;
  /** Ends it (the director's end: the turn cancelled, the room told). */
  end(reason: SceneEndReason): void;
}

export class RunningScenes implements SceneHooks {
  private readonly rooms = new Map<string, RunningScene>();
  /** Event ids of scene messages (insertion order = age). */
  private readonly turnIds = new Set<string>();

  in(roomId: string): RunningScene | undefined {
    return this.rooms.get(roomId);
  }

  all(): RunningScene[] {
    return [...this.rooms.values()];
  }

  /** The room's scene from now on (the director ends the one it replaces first). */
  add(running: RunningScene): void {
    this.rooms.set(running.scene.roomId, running);
  }

  /** The scene ended: its room has none (unless another replaced it already). */
  remove(running: RunningScene): void {
    if (this.rooms.get(running.scene.roomId) === running) this.rooms.delete(running.scene.roomId);
  }

  /** A scene message was sent (each part of a long one). */
  rememberTurn(running: RunningScene, message: SceneMessage): void {
    running.messages.add(message.eventId);
    this.turnIds.add(message.eventId);
    if (this.turnIds.size > MAX_REMEMBERED_TURNS) this.turnIds.delete(this.turnIds.values().next().value!);
  }

  /**
   * True for a persona message the scene decides about: a scene turn (also when its echo, or
   * the final edit of a live one, arrives after the scene ended), or any persona message while
   * a scene runs in the room. No other answer may follow it: the scene says who speaks next.
   */
  holdsFloor(roomId: string, eventId: string, replacedEventId?: string): boolean {
    return this.rooms.has(roomId) || this.turnIds.has(eventId) || (replacedEventId !== undefined && this.turnIds.has(replacedEventId));
  }

  /**
   * A person wrote in the room: the scene ends, except for the `!converse` message that
   * started it. Returns true for that message (the scene counted it for the turn budget already).
   */
  personSpoke(roomId: string, eventId: string): boolean {
    const running = this.rooms.get(roomId);
    if (!running) return false;
    if (!running.scene.endedByPersonMessage(eventId)) return true;
    running.end('person-spoke');
    return false;
  }
}
