/**
 * Runs scenes (`!converse`): one turn at a time on the room's answer queue (so scene turns
 * and other answers never overlap or reorder), each turn a persona answering the previous
 * turn with the scene direction in its prompt. The decisions are in scene.ts; this class
 * does the I/O and the cancelling.
 *
 * A scene lives in memory only: the bridge stopping ends it (the room is told), and nothing
 * of it is resumed after a restart (the `!converse` message is a command, never pending).
 */
import { STOPPED_BY_PERSON, type ReplyRequest } from '../dispatch/Responder.js';
import type { RateLimiter } from '../dispatch/RateLimiter.js';
import type { TurnBudget } from '../dispatch/TurnBudget.js';
import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { Persona } from '../personas/Persona.js';
import { sceneDirection, sceneEnded, sceneOpening, type SceneEndReason } from './messages.js';
import type { RunningScene, RunningScenes } from './RunningScenes.js';
import { nextInRoster, Scene, type SceneMessage, type SceneStart } from './scene.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('SceneDirector');

export interface SceneDirectorDeps {
  /** The scenes running, which the dispatcher asks about too (SceneHooks). */
  running: RunningScenes;
  /** The room's answer queue (Dispatcher.runInRoom). */
  runInRoom(roomId: string, task: () => Promise<void>): Promise<void>;
  /** The room's turn budget: every scene turn is a persona message counted there. */
  turns: Pick<TurnBudget, 'request' | 'personSpoke'>;
  /** The persona reply pipeline. */
  respond(request: ReplyRequest): Promise<void>;
  /** The personas in the room that may speak (not muted, allowed to send), in roster order. */
  speakers(roomId: string): Promise<Persona[]>;
  /** Who takes the next turn (the room's order mode); default roster order, round after round. */
  chooseNext?(roomId: string, present: Persona[], scene: Scene): Persona | undefined;
  /** Tells the room (a notice from the bot, or a persona when the bot is not there). */
  notify(roomId: string, text: string): Promise<void>;
  /**
   * The per-person rate limit (the dispatcher's): each turn is a model call charged to the
   * person who started the scene, so a scene ends when that person's budget is spent.
   */
  rateLimit?: Pick<RateLimiter, 'hit'>;
  commandPrefix: string;
  now?: () => number;
}

export class SceneDirector {
  private readonly rooms: RunningScenes;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly deps: SceneDirectorDeps) {
    this.now = deps.now ?? Date.now;
    this.rooms = deps.running;
  }

  /**
   * Starts a scene (ending the room's running one, if any). Its start counts as a person
   * speaking for the turn budget, so all of its turns fit when `turns` ≤ the room's budget.
   * The turns run in the background; the returned promise settles when the scene ends.
   */
  start(start: SceneStart): { scene: Scene; done: Promise<void> } {
    const previous = this.rooms.in(start.roomId);
    if (previous) this.end(previous, 'replaced');
    const running: RunningScene = { scene: new Scene(start), controller: new AbortController(), messages: new Set(), end: (reason) => this.end(running, reason) };
    this.rooms.add(running);
    this.deps.turns.personSpoke(start.roomId);
    if (this.stopped) this.end(running, 'shutdown');
    log.info(`scene in ${start.roomId}: ${start.turns} turns, started by ${start.startedBy}`);
    return { scene: running.scene, done: this.drive(running) };
  }

  /** True while a scene runs in the room. */
  isRunning(roomId: string): boolean {
    return this.rooms.in(roomId) !== undefined;
  }

  /** The room's running scene (for `!room settings`-like displays and tests). */
  sceneIn(roomId: string): Scene | undefined {
    return this.rooms.in(roomId)?.scene;
  }

  /**
   * 🛑 on a message: ends the room's scene when the message is one of its turns, or the answer
   * being written there (`beingWritten`: while a scene runs, that is its turn). True when it did.
   */
  stopAt(roomId: string, eventId: string, beingWritten: (eventId: string) => boolean): boolean {
    const running = this.rooms.in(roomId);
    if (!running || !(running.messages.has(eventId) || beingWritten(eventId))) return false;
    this.end(running, 'stopped');
    return true;
  }

  /** `!stop` (or 🛑 on a scene's message): ends the room's scene, if one runs; true when it did. */
  stop(roomId: string): boolean {
    const running = this.rooms.in(roomId);
    if (!running) return false;
    this.end(running, 'stopped');
    return true;
  }

  /** Shutdown: every scene ends (each room is told), and none starts from now on. */
  stopAll(): void {
    this.stopped = true;
    for (const running of this.rooms.all()) this.end(running, 'shutdown');
  }

  private async drive(running: RunningScene): Promise<void> {
    const { scene } = running;
    while (scene.running && !scene.complete) {
      const taken = scene.taken;
      try {
        await this.deps.runInRoom(scene.roomId, () => this.takeTurn(running));
      } catch (err) {
        log.error(`scene turn in ${scene.roomId} failed`, { error: err });
        this.end(running, 'failed');
      }
      // Every turn either adds a message or ends the scene; never spin on one that did neither.
      if (scene.running && scene.taken === taken) this.end(running, 'failed');
    }
  }

  private async takeTurn(running: RunningScene): Promise<void> {
    const { scene } = running;
    if (!scene.running) return;
    if (this.stopped) return this.end(running, 'shutdown');
    const present = await this.deps.speakers(scene.roomId);
    if (!scene.running) return;
    if (present.length < 2) return this.end(running, 'too-few-personas');
    const speaker = this.deps.chooseNext?.(scene.roomId, present, scene) ?? nextInRoster(present, scene);
    if (!speaker) return this.end(running, 'too-few-personas');
    if (this.deps.rateLimit && this.deps.rateLimit.hit(scene.startedBy) !== 'allowed') return this.end(running, 'rate-limit');
    const grant = this.deps.turns.request(scene.roomId, 'persona');
    if (!grant.granted) return this.end(running, 'budget');

    let sent = null as SceneMessage | null;
    const others = present.filter((p) => p.userId !== speaker.userId).map((p) => p.name);
    const request: ReplyRequest = {
      persona: speaker,
      event: eventOf(scene.roomId, scene.last, this.now()),
      // Turns answer each other, but each is the starter's: charged to them, never to a persona.
      requestedBy: scene.startedBy,
      isDirect: false,
      threadRootId: scene.threadRootId,
      receivedAt: this.now(),
      signal: AbortSignal.any([grant.signal, running.controller.signal]),
      scene: {
        direction: sceneDirection(scene.topic, speaker.name, others, scene.nextTurn, scene.turns),
        opening: scene.taken === 0 ? sceneOpening(scene.topic) : null,
      },
      // Every part of a long answer is a scene message; the next turn follows the last one.
      onSent: (eventId, body) => {
        sent = { eventId, sender: speaker.userId, body };
        this.rooms.rememberTurn(running, sent);
      },
    };
    await this.deps.respond(request);
    // Ended meanwhile (a person spoke, !stop, shutdown): whatever was written stays, no more.
    if (!scene.running) return;
    if (!sent) return this.end(running, grant.signal.aborted ? 'budget' : 'failed');
    scene.turnTaken(sent);
    if (scene.complete) this.end(running, 'finished');
  }

  private end(running: RunningScene, reason: SceneEndReason): void {
    const { scene } = running;
    if (!scene.end(reason)) return;
    this.rooms.remove(running);
    // Stopped on request, the turn being written ends marked as stopped; otherwise it just ends.
    running.controller.abort(reason === 'stopped' ? STOPPED_BY_PERSON : new Error(`scene ended: ${reason}`));
    log.info(`scene in ${scene.roomId} ended (${reason}) after ${scene.taken} of ${scene.turns} turns`);
    const text = sceneEnded(reason, scene.taken, scene.turns, this.deps.commandPrefix);
    if (text) {
      void this.deps.notify(scene.roomId, text).catch((err: unknown) => log.warn(`scene notice in ${scene.roomId} failed: ${describeError(err)}`));
    }
  }
}

/** The message a turn answers, as the responder takes it (it is in memory already). */
function eventOf(roomId: string, message: SceneMessage, now: number): RoomEvent {
  return { type: 'm.room.message', event_id: message.eventId, room_id: roomId, sender: message.sender, origin_server_ts: now, content: { msgtype: 'm.text', body: message.body } };
}
