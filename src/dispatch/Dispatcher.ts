/**
 * The event handler that decides which personas answer a message and hands them to the
 * reply pipeline. Decisions are made as events arrive, in room order (the bridge serialises
 * each room's events through the handlers), against the membership of that moment; the
 * answers themselves run on a per-room queue so a slow LLM call neither blocks the bridge's
 * handling of later events (memory recording, membership) nor reorders a room's answers.
 * Rooms proceed in parallel.
 */
import { LRUCache } from 'lru-cache';
import type { BridgeConfig } from '../config/Config.js';
import { getLogger } from '../logging.js';
import { isLiveInProgress } from '../matrix/liveMessages.js';
import type { RoomEvent } from '../matrix/events.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent, RoomView } from '../pipeline/InboundEvent.js';
import type { AnswerTimelines } from '../metrics/AnswerTimeline.js';
import { RoomQueue } from '../pipeline/RoomQueue.js';
import { decideResponders, namesOf, whyNotATrigger, type OrderContext } from './decide.js';
import { LoopGuard } from './LoopGuard.js';
import { relatesTo, repliedToEventId, threadRootId } from '../matrix/relations.js';
import type { RateLimiter } from './RateLimiter.js';
import { rateLimitNotice } from './messages.js';
import { RecentSenders } from './RecentSenders.js';
import type { ReplyRequest, Responder } from './Responder.js';
import { TurnBudget, type TurnLimitLookup } from './TurnBudget.js';
import { chooseSpeakers } from './speakerOrder.js';
import type { OrderMode } from '../rooms/roomSettings.js';
import type { RoomVoice } from '../rooms/RoomVoice.js';
import { matchName } from '../util/nameFolding.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('Dispatcher');

/** What the dispatcher reads of the room membership (RoomMembers). */
export interface MembershipView {
  ensureLoaded(roomId: string): Promise<void>;
  joined(roomId: string): string[];
  displayName(roomId: string, userId: string): string | undefined;
  isJoined(roomId: string, userId: string): boolean;
}

export interface DispatcherDeps {
  config: BridgeConfig['dispatch'];
  botUserId: string;
  personas: PersonaDirectory;
  responder: Responder;
  members: MembershipView;
  /** Runs a persona-scope command as the persona (CommandRunner with the persona target). */
  runPersonaCommand(request: ReplyRequest): Promise<void>;
  /**
   * A persona command in a group room that names no persona (`!remember …`): for the bridge,
   * answered in the room's voice (commands/unaddressedCommands), never left unanswered;
   * `speakers` are the room's (speakersIn), worked out when it runs.
   */
  runUnaddressedCommand(event: RoomEvent, speakers: readonly Persona[]): Promise<void>;
  /** Sends an m.notice as one of our users (through the MatrixGateway): the missed-message notice. */
  sendNotice(userId: string, roomId: string, text: string): Promise<unknown>;
  /** The bridge's voice in a room (rooms/RoomVoice): loop, turn-budget and rate-limit notices. */
  voice: Pick<RoomVoice, 'notice'>;
  /** Who sent an event we have not seen, asked as `asUserId` (one of our users in the room). */
  fetchSender(roomId: string, eventId: string, asUserId: string): Promise<string | null>;
  /**
   * A room's own turn budget (room state, a command), when it has one (undefined otherwise:
   * `dispatch.turn_budget`, by default 2 × `dispatch.loop_threshold`).
   */
  turnLimitFor: TurnLimitLookup;
  /**
   * Why a persona stays silent in a room whatever it is asked (muted there, or the room's
   * power levels do not let it send), or null when it may answer. A silenced persona is
   * never tried, so a forbidden send cannot repeat on every message.
   */
  silencedIn: (roomId: string, persona: Persona) => string | null;
  /** The room's order mode (room settings, `mention` when it sets none). */
  orderOf: (roomId: string) => OrderMode;
  /**
   * How likely the persona speaks unprompted in the room in `natural` order, 0..1: the room's
   * override, else the persona's own, else DEFAULT_TALKATIVENESS.
   */
  talkativenessIn: (roomId: string, persona: Persona) => number;
  /**
   * When each persona joined the room (ms, by user id), which makes the roster order: the
   * personas in the order they joined, unknown ones last; ties in membership order. One call
   * per message, for the whole room.
   */
  joinedAtIn: (roomId: string) => ReadonlyMap<string, number>;
  /** Uniform in [0, 1): who speaks in `natural` and `pooled` order (Math.random; seeded in tests). */
  random?: () => number;
  /** Called for every persona answer withheld by the loop guard (metrics). */
  onLoopSuppressed?: () => void;
  /**
   * Called once the answers queued for an event are all finished (sent, or replaced by their
   * failure notice): the event is no longer pending (PendingEventStore). Not called for
   * answers left unstarted by stopTakingWork().
   */
  onSettled: (eventId: string) => void;
  /**
   * The rooms' scenes (`!converse`, scenes/RunningScenes): a scene decides who speaks after a
   * persona's message while it runs, and a person writing ends it.
   */
  scenes: SceneHooks;
  /** The command prefix, for the turn-budget notice that says how to continue (`!next`). */
  commandPrefix: string;
  /** The per-person rate limit (from `dispatch.user_rate_limit`), shared with scenes and 🔁: one budget per person. */
  rateLimiter: RateLimiter;
  /**
   * The person who last wrote in a room as remembered (MemoryStore), when the dispatcher has not
   * seen one since it started: who a persona answering a persona is charged to.
   */
  lastPersonIn: (roomId: string) => string | null;
  now?: () => number;
  /** How many rooms' turn-taking state is kept (TURN_STATE_ROOMS; smaller in tests). */
  turnStateRooms?: number;
  /** The messages' timelines (metrics/AnswerTimeline.ts): the first answer to a message takes its own. */
  timelines: Pick<AnswerTimelines, 'take'>;
}

/** What the dispatcher asks of the scenes (SceneDirector). */
export interface SceneHooks {
  /** A scene's message, or any persona message while a scene runs there: no answer follows it. */
  holdsFloor(roomId: string, eventId: string, replacedEventId?: string): boolean;
  /** A person wrote: ends the room's scene; true when the message is the one that started it. */
  personSpoke(roomId: string, eventId: string): boolean;
}

/** What `answerNow` (`!next`) did. */
export type NextOutcome =
  | { queued: true; persona: Persona }
  | { queued: false; reason: 'no-personas' | 'unknown-persona' | 'nothing-to-answer'; name?: string }
  | { queued: false; reason: 'ambiguous-persona'; name: string; candidates: string[] }
  | { queued: false; reason: 'rate-limited'; notice: string };

/** `dispatch.turn_budget`, or its default: twice what the pattern guard tolerates. */
export function defaultTurnBudget(config: BridgeConfig['dispatch']): number {
  return config.turn_budget ?? 2 * config.loop_threshold;
}

/** Counters for metrics. */
export interface DispatchStats {
  /** Persona answers handed to the responder. */
  dispatched: number;
  /** Persona answers withheld because the room was looping (pattern guard or turn budget). */
  suppressedLoops: number;
  /** Persona answers refused or cancelled by the turn budget (a subset of suppressedLoops when refused). */
  overBudget: number;
  /** Messages dropped by the per-user rate limit. */
  rateLimited: number;
}

/**
 * How many rooms' turn-taking state (the last message, who spoke since a person wrote) is kept,
 * the most recently active first. Without a bound it grows with every room that ever had a
 * message (10,000+ rooms). A room pushed out forgets only that: `!next` there has nothing to
 * answer until the next message, and `pooled` may pick the last round's speaker once more.
 */
export const TURN_STATE_ROOMS = 5_000;
/** The last messages kept are bounded by size as well (characters of content; one may be 64 KB). */
const LAST_MESSAGES_MAX_CHARS = 8_000_000;
/** A message's weight against LAST_MESSAGES_MAX_CHARS: its content's JSON plus the event's own fields. */
const lastMessageSize = (event: RoomEvent): number => 256 + JSON.stringify(event.content ?? {}).length;

export class Dispatcher implements EventStep {
  readonly name = 'dispatcher';
  readonly stats: DispatchStats = { dispatched: 0, suppressedLoops: 0, rateLimited: 0, overBudget: 0 };
  private readonly loops: LoopGuard;
  /** Events with answers queued or being written (count of their queued tasks). */
  private readonly queuedEvents = new Map<string, number>();
  /** Set by stopTakingWork(): queued answers not yet started stay pending for the next start. */
  private stopped = false;
  /** The hard bound on persona answers per room since a person last spoke. */
  readonly turns: TurnBudget;
  private readonly rateLimiter: RateLimiter;
  private readonly recent = new RecentSenders();
  /** Each room's answers, one at a time and in order; rooms in parallel. */
  private readonly answers = new RoomQueue();
  private readonly now: () => number;
  /** Personas that spoke in each room since a person last wrote (commands do not count). */
  private readonly spokeSincePerson: LRUCache<string, Set<string>>;
  /** The same, for the round that a person's latest message ended (what `pooled` picks against). */
  private readonly spokeInLastRound: LRUCache<string, Set<string>>;
  /** Each room's last conversational message (not a command), which `!next` answers. */
  private readonly lastMessage: LRUCache<string, RoomEvent>;
  /** The person who last wrote in each room: charged for persona-to-persona answers there. */
  private readonly lastPerson: LRUCache<string, string>;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    const rooms = deps.turnStateRooms ?? TURN_STATE_ROOMS;
    this.spokeSincePerson = new LRUCache({ max: rooms });
    this.spokeInLastRound = new LRUCache({ max: rooms });
    this.lastMessage = new LRUCache({ max: rooms, maxSize: LAST_MESSAGES_MAX_CHARS, sizeCalculation: lastMessageSize });
    const { config } = deps;
    this.loops = new LoopGuard({ threshold: config.loop_threshold, resetAfterMs: config.loop_reset_seconds * 1000, now: this.now });
    this.turns = new TurnBudget({ defaultLimit: defaultTurnBudget(config), limitFor: deps.turnLimitFor });
    this.rateLimiter = deps.rateLimiter;
    this.lastPerson = new LRUCache({ max: rooms });
  }

  /**
   * Bot commands (`!help`, inbound.command 'bot') are the bot's business and get no persona
   * answer; persona commands (`!forget`) are run by each persona addressed instead of an answer.
   */
  async handle(received: RoomEvent, inbound: InboundEvent): Promise<void> {
    // A persona's live answer counts once, as its final version (only then are its mentions
    // known): the partial first version is no message, the final edit (inbound.message) stands for it.
    const fromPersona = inbound.persona !== undefined;
    if (fromPersona && isLiveInProgress(received.content)) return;
    const event = inbound.message;
    const receivedAt = this.now();
    if (event.type === 'm.room.message') this.recent.remember(event.event_id, event.sender);
    const notATrigger = whyNotATrigger(event, receivedAt, this.deps.config.max_event_age_seconds * 1000);
    if (fromPersona && this.deps.scenes.holdsFloor(event.room_id, event.event_id, replacedEventId(received))) {
      // The scene says who speaks next (its turns were counted by the turn budget when granted,
      // and they are no loop): the message only becomes what `!next` would answer.
      if (notATrigger === null) this.trackSpeakers(event, false);
      return;
    }
    this.trackConversation(event, inbound, notATrigger);
    if (notATrigger || inbound.senderKind === 'bot') return;

    const command = inbound.command;
    this.trackSpeakers(event, command !== null);
    if (command === 'bot') return;

    const roomId = event.room_id;
    const room = await inbound.room();
    const personaOf = (userId: string) => this.deps.personas.byUserId(userId);
    const repliedToSender = fromPersona ? null : await this.repliedToSender(event, room);
    // A persona command goes to the personas it names, whatever the room's order: naming
    // one in its words (`!summary Ada`) is addressing it, even when the app sent an empty
    // m.mentions (its user set no pill), and nobody speaks up unasked.
    const { responders, isDirect } =
      command === 'persona'
        ? decideResponders({ event: namesCount(event), room, personaOf, repliedToSender, order: { ...this.orderContext(event), mode: 'mention' } })
        : decideResponders({ event, room, personaOf, repliedToSender, order: this.orderContext(event) });
    if (responders.length === 0) {
      if (command === 'persona' && room.joined.some((userId) => personaOf(userId))) {
        this.enqueue(roomId, event.event_id, async () => {
          await this.speakersIn(roomId)
            .then((speakers) => this.deps.runUnaddressedCommand(event, speakers))
            .catch((err: unknown) => log.error(`command ${event.event_id} in ${roomId} failed`, { error: err }));
          return 'settled';
        });
      }
      return;
    }

    if (!(await this.mayAnswer(event, fromPersona, responders))) return;

    // A persona command (`!forget`, `!summary`) is no answer: no turn is spent on it.
    const requests =
      command === 'persona'
        ? responders.map((persona) => this.request(event, persona, isDirect, receivedAt, undefined))
        : await this.grantedRequests(event, responders, isDirect, receivedAt);
    if (requests.length === 0) return;
    const timeline = command === 'persona' ? undefined : this.deps.timelines.take(event.event_id);
    if (timeline && requests[0]) {
      timeline.lap(this.name);
      requests[0].timeline = timeline;
    }
    this.enqueue(roomId, event.event_id, async () => {
      for (const request of requests) {
        if (this.stopped) return 'abandoned';
        if (command === 'persona') {
          await this.runPersonaCommand(request);
          continue;
        }
        if (request.signal?.aborted) {
          // The room's turn budget ran out while this answer waited: it is not written.
          this.stats.overBudget++;
          continue;
        }
        this.stats.dispatched++;
        try {
          await this.deps.responder.respond(request);
        } catch (err) {
          log.error(`${request.persona.userId} failed to answer ${event.event_id} in ${roomId}`, { error: err });
        }
      }
      return 'settled';
    });
  }

  /** True while answers for this event are queued or being written (it is still pending). */
  hasQueued(eventId: string): boolean {
    return this.queuedEvents.has(eventId);
  }

  /**
   * Shutdown: answers being written finish, answers not started yet are left alone (their
   * events stay pending and are resumed by the next start).
   */
  stopTakingWork(): void {
    this.stopped = true;
  }

  /**
   * A message that waited through a restart for longer than `dispatch.max_event_age_seconds`:
   * answering it now would confuse more than help, so whoever would have answered says once
   * that it missed it.
   */
  async noticeMissed(inbound: InboundEvent): Promise<void> {
    const event = inbound.event;
    if (event.type !== 'm.room.message' || inbound.body === null || inbound.senderKind === 'bot') return;
    if (inbound.persona || inbound.command !== null) return;
    const roomId = event.room_id;
    const room = await inbound.room();
    const repliedToSender = await this.repliedToSender(event, room);
    const personaOf = (u: string) => this.deps.personas.byUserId(u);
    const { responders } = decideResponders({ event, room, personaOf, repliedToSender, order: this.orderContext(event) });
    const from = responders[0];
    if (!from) return;
    await this.deps
      .sendNotice(from.userId, roomId, MISSED_NOTICE)
      .catch((err: unknown) => log.warn(`missed-message notice in ${roomId} failed: ${describeError(err)}`));
  }

  /** The room's order mode and what it needs, for a decision about `event` (see speakerOrder). */
  private orderContext(event: RoomEvent): OrderContext {
    const roomId = event.room_id;
    const fromPerson = this.deps.personas.byUserId(event.sender) === undefined;
    return {
      mode: this.deps.orderOf(roomId),
      roster: (personas) => this.roster(roomId, personas),
      maySpeak: (persona) => {
        const why = this.deps.silencedIn(roomId, persona);
        if (why) log.debug(`${persona.userId} stays silent in ${roomId}: ${why}`);
        return why === null;
      },
      // A person's message has just ended a round (trackSpeakers): `pooled` picks against it.
      spokeSincePerson: (fromPerson ? this.spokeInLastRound : this.spokeSincePerson).get(roomId) ?? new Set(),
      talkativeness: (persona) => this.deps.talkativenessIn(roomId, persona),
      random: this.deps.random ?? Math.random,
    };
  }

  /** Roster order: the order the personas joined the room (see DispatcherDeps.joinedAtIn). */
  private roster(roomId: string, personas: Persona[]): Persona[] {
    if (personas.length < 2) return personas;
    const joinedAt = this.deps.joinedAtIn(roomId);
    const key = (p: Persona) => joinedAt.get(p.userId) ?? Number.MAX_SAFE_INTEGER;
    return personas
      .map((p, i) => ({ p, k: key(p), i }))
      .sort((a, b) => a.k - b.k || a.i - b.i)
      .map(({ p }) => p);
  }

  private request(event: RoomEvent, persona: Persona, isDirect: boolean, receivedAt: number, signal: AbortSignal | undefined, requestedBy = this.chargedFor(event)): ReplyRequest {
    return { persona, event, requestedBy, isDirect, threadRootId: threadRootId(event.content), receivedAt, ...(signal ? { signal } : {}) };
  }

  /** Who an answer to `event` is charged to: its sender when a person, else the room's last person. */
  private chargedFor(event: RoomEvent): string | null {
    if (!this.deps.personas.byUserId(event.sender) && event.sender !== this.deps.botUserId) return event.sender;
    return this.lastPerson.get(event.room_id) ?? this.deps.lastPersonIn(event.room_id);
  }

  /**
   * One request per responder the turn budget grants, each carrying the signal that cancels
   * it when the room trips. The refusal that trips the room sends the one notice.
   */
  private async grantedRequests(event: RoomEvent, responders: Persona[], isDirect: boolean, receivedAt: number): Promise<ReplyRequest[]> {
    const roomId = event.room_id;
    const triggeredBy = this.deps.personas.byUserId(event.sender) ? 'persona' : 'person';
    const requests: ReplyRequest[] = [];
    // Every persona a person addresses answers them (a person is never ignored). In `list`
    // order nobody was asked in particular: the first answers, the rest only within the budget.
    const listed = triggeredBy === 'person' && (this.deps.orderOf(roomId)) === 'list';
    for (const [i, persona] of responders.entries()) {
      const grant = listed && i > 0 ? this.turns.requestAnother(roomId) : this.turns.request(roomId, triggeredBy);
      if (grant.granted) {
        requests.push(this.request(event, persona, isDirect, receivedAt, grant.signal));
        continue;
      }
      this.stats.overBudget++;
      if (listed) {
        // The rest of the list would be refused too: one refusal, one notice.
        this.stats.overBudget += responders.length - i - 1;
        log.info(`turn budget of ${grant.limit} reached in ${roomId}: ${responders.length - i} of the personas addressed do not answer`);
        // Spent: persona-triggered answers are refused from here on, without a second notice.
        this.turns.stop(roomId);
        await this.notify(roomId, responders, turnBudgetNotice(grant.limit, this.deps.commandPrefix));
        break;
      }
      if (!grant.notify) continue;
      this.stats.suppressedLoops++;
      this.deps.onLoopSuppressed?.();
      log.info(`turn budget of ${grant.limit} exhausted in ${roomId}: persona answers stopped until a person speaks`);
      // The pattern guard may have said it already in this chain; one notice is enough.
      if (this.loops.markSuppressed(roomId)) await this.notify(roomId, responders, turnBudgetNotice(grant.limit, this.deps.commandPrefix));
    }
    return requests;
  }

  /**
   * `!next [Name]`: the named persona, or else the next speaker by the room's order mode
   * (speakerOrder's `next` turn: e.g. the next in roster order who has not spoken since a
   * person last wrote, at random among those in `pooled`), answers the room's last message now, behind the answers already queued. `!next` counts as a person
   * speaking: the turn budget starts again (its own message resets it in `handle`, and this
   * answer is granted as an answer to a person), so `!next` is how to continue after the notice.
   */
  async answerNow(command: RoomEvent, name: string | undefined): Promise<NextOutcome> {
    const roomId = command.room_id;
    const roster = await this.speakersIn(roomId);
    if (roster.length === 0) return { queued: false, reason: 'no-personas' };
    const target = this.lastMessage.get(roomId);
    let persona: Persona | undefined;
    if (name !== undefined) {
      const match = matchName(name, roster, (p) => p.name);
      if (match.kind === 'ambiguous') return { queued: false, reason: 'ambiguous-persona', name, candidates: match.items.map((p) => p.name) };
      if (match.kind === 'none') return { queued: false, reason: 'unknown-persona', name };
      persona = match.item;
    } else if (target) {
      persona = this.nextSpeaker(roomId, roster, target, this.spokeSincePerson.get(roomId) ?? new Set());
    }
    if (!persona || !target) return { queued: false, reason: 'nothing-to-answer' };
    // A model call the person asked for: on their rate limit like a message of theirs.
    if (this.rateLimiter.hit(command.sender) !== 'allowed') {
      this.stats.rateLimited++;
      return { queued: false, reason: 'rate-limited', notice: rateLimitNotice(this.deps.config.user_rate_limit, this.deps.commandPrefix) };
    }
    this.turns.personSpoke(roomId);
    const grant = this.turns.request(roomId, 'person');
    const request = this.request(target, persona, this.deps.members.joined(roomId).length === 2, this.now(), grant.granted ? grant.signal : undefined, command.sender);
    const chosen = persona;
    void this.answers
      .run(roomId, async () => {
        if (this.stopped) return;
        this.stats.dispatched++;
        await this.deps.responder.respond(request);
      })
      .catch((err: unknown) => log.error(`${chosen.userId} failed to answer !next in ${roomId}`, { error: err }));
    return { queued: true, persona };
  }

  /** The personas in the room that may speak (not silenced), in roster order: `!next`, scenes. */
  async speakersIn(roomId: string): Promise<Persona[]> {
    await this.deps.members.ensureLoaded(roomId).catch(() => undefined);
    const inRoom = this.deps.members
      .joined(roomId)
      .map((userId) => this.deps.personas.byUserId(userId))
      .filter((p): p is Persona => p !== undefined && this.deps.silencedIn(roomId, p) === null);
    return this.roster(roomId, inRoom);
  }

  /**
   * Who speaks next after `message` by the room's order mode (speakerOrder's `next` turn), of
   * `present` (speakersIn), given who spoke already: `!next` without a name, a scene's turns.
   */
  nextSpeaker(roomId: string, present: Persona[], message: Pick<RoomEvent, 'sender' | 'content'>, spoke: ReadonlySet<string>): Persona | undefined {
    const room: RoomView = { joined: this.deps.members.joined(roomId), displayName: (userId) => this.deps.members.displayName(roomId, userId) };
    return chooseSpeakers({
      mode: this.deps.orderOf(roomId),
      trigger: 'next',
      present,
      message: { sender: message.sender, fromPerson: this.deps.personas.byUserId(message.sender) === undefined, content: message.content },
      spokeSincePerson: spoke,
      talkativeness: (p) => this.deps.talkativenessIn(roomId, p),
      random: this.deps.random ?? Math.random,
      namesOf: (p) => namesOf(p, room),
    })[0];
  }

  /** Who spoke since a person last wrote (for `!next`), and the message `!next` answers. */
  private trackSpeakers(event: RoomEvent, isCommand: boolean): void {
    if (isCommand) return;
    const roomId = event.room_id;
    this.lastMessage.set(roomId, event);
    if (this.deps.personas.byUserId(event.sender)) {
      const spoke = this.spokeSincePerson.get(roomId) ?? new Set<string>();
      spoke.add(event.sender);
      this.spokeSincePerson.set(roomId, spoke);
    } else {
      this.spokeInLastRound.set(roomId, this.spokeSincePerson.get(roomId) ?? new Set());
      this.spokeSincePerson.delete(roomId);
    }
  }

  /** Runs a task on the room's answer queue, in order with its answers (a scene's turns). */
  runInRoom(roomId: string, task: () => Promise<void>): Promise<void> {
    return this.answers.run(roomId, task);
  }

  /** Resolves once every queued answer has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.answers.idle();
  }

  /** True while answers are queued or being written. */
  /** Answers queued or being written, in every room (`!status`). */
  get queuedAnswers(): number {
    let n = 0;
    for (const count of this.queuedEvents.values()) n += count;
    return n;
  }

  get busy(): boolean {
    return this.answers.activeRooms > 0;
  }

  /** Feeds the loop guard: persona messages extend the room's chain, anyone else ends it. */
  private trackConversation(event: RoomEvent, inbound: InboundEvent, notATrigger: string | null): void {
    const persona = inbound.persona;
    const ours = persona !== undefined || inbound.senderKind === 'bot';
    if (notATrigger === null) {
      if (persona) this.loops.recordPersona(event.room_id, persona.userId);
      else if (!ours) {
        this.loops.recordOther(event.room_id);
        if (inbound.senderKind === 'person') this.lastPerson.set(event.room_id, event.sender);
        // The message that started a scene was counted by the scene as it started.
        const startedScene = this.deps.scenes.personSpoke(event.room_id, event.event_id);
        if (!startedScene) this.turns.personSpoke(event.room_id);
      }
    } else if (notATrigger === 'notice' && !ours) {
      // Other bots speak in notices; they are "someone else" too. Our own notices (errors,
      // the loop notice itself) must not reset a chain.
      this.loops.recordOther(event.room_id);
    }
  }

  /** The loop guard for persona senders, the rate limit for everyone else. */
  private async mayAnswer(event: RoomEvent, fromPersona: boolean, responders: Persona[]): Promise<boolean> {
    const roomId = event.room_id;
    if (fromPersona) {
      const cycle = this.loops.loopIn(roomId);
      if (!cycle) return true;
      this.stats.suppressedLoops++;
      this.deps.onLoopSuppressed?.();
      log.info(`loop in ${roomId} (${cycle.join(' -> ')}): not answering ${event.event_id}`);
      if (this.loops.markSuppressed(roomId)) await this.notify(roomId, responders, this.loopNotice(cycle));
      return false;
    }
    const decision = this.rateLimiter.hit(event.sender);
    if (decision === 'allowed') return true;
    this.stats.rateLimited++;
    log.info(`rate limit: ${event.sender} in ${roomId}, not answering ${event.event_id}`);
    if (decision === 'limited-notify') await this.notify(roomId, responders, rateLimitNotice(this.deps.config.user_rate_limit, this.deps.commandPrefix));
    return false;
  }

  private loopNotice(cycle: string[]): string {
    const names = cycle.map((userId) => this.deps.personas.byUserId(userId)?.name ?? userId);
    const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
    return (
      `Stopping here: ${list} have answered each other ${this.deps.config.loop_threshold} times in a row with nobody else ` +
      `speaking, which looks like a loop. Write something and they will talk again.`
    );
  }

  /** In the room's voice: the bot when it is in the room, else the persona that would have answered. */
  private async notify(roomId: string, responders: Persona[], text: string): Promise<void> {
    await this.deps.voice
      .notice(roomId, text, { prefer: responders[0]?.userId })
      .catch((err: unknown) => log.warn(`notice in ${roomId} failed: ${describeError(err)}`));
  }

  private async runPersonaCommand(request: ReplyRequest): Promise<void> {
    try {
      await this.deps.runPersonaCommand(request);
    } catch (err) {
      log.error(`persona command ${request.event.event_id} for ${request.persona.userId} failed`, { error: err });
    }
  }

  /**
   * Who sent the message this one replies to: from what we saw recently, else asked of the
   * homeserver as a persona in the room. Only looked up when it could matter: a person's
   * message (the caller's check) in a group room with a persona (see decideResponders).
   */
  private async repliedToSender(event: RoomEvent, room: RoomView): Promise<string | null> {
    const eventId = repliedToEventId(event.content);
    if (!eventId) return null;
    const known = this.recent.senderOf(eventId);
    if (known) return known;
    if (room.joined.length <= 2) return null;
    const asUser = room.joined.find((userId) => userId !== event.sender && this.deps.personas.byUserId(userId));
    if (!asUser) return null;
    try {
      const sender = await this.deps.fetchSender(event.room_id, eventId, asUser);
      if (sender) this.recent.remember(eventId, sender);
      return sender;
    } catch (err) {
      log.debug(`cannot fetch replied-to ${eventId} in ${event.room_id}: ${describeError(err)}`);
      return null;
    }
  }

  private enqueue(roomId: string, eventId: string, task: () => Promise<'settled' | 'abandoned'>): void {
    this.queuedEvents.set(eventId, (this.queuedEvents.get(eventId) ?? 0) + 1);
    this.answers
      .run(roomId, task)
      .then(
        (outcome) => outcome,
        (err: unknown) => {
          log.error(`answer queue of ${roomId} failed`, { error: err });
          return 'settled' as const;
        },
      )
      .then((outcome) => {
        const left = (this.queuedEvents.get(eventId) ?? 1) - 1;
        if (left > 0) this.queuedEvents.set(eventId, left);
        else this.queuedEvents.delete(eventId);
        if (left <= 0 && outcome === 'settled') this.deps.onSettled(eventId);
      })
      .catch((err: unknown) => log.error(`settling ${eventId} failed`, { error: err }));
  }
}

/** The message a live answer's final edit replaces (the live message itself). */
function replacedEventId(event: RoomEvent): string | undefined {
  const rel = relatesTo(event.content);
  return rel?.rel_type === 'm.replace' && typeof rel.event_id === 'string' ? rel.event_id : undefined;
}

const MISSED_NOTICE = 'I was restarted and missed this message. Please send it again if you still want an answer.';

export function turnBudgetNotice(limit: number, prefix: string): string {
  return (
    `Stopping here: the personas in this room have sent ${limit} message${limit === 1 ? '' : 's'} since a person last spoke, ` +
    `which is as far as they go on their own. To continue: ${prefix}next, or just say something.`
  );
}

/** The event with an empty `m.mentions` dropped: then the names in its text count as mentions (mentions.ts). */
function namesCount(event: RoomEvent): RoomEvent {
  const mentions = event.content['m.mentions'] as { user_ids?: unknown } | undefined;
  if (!mentions || (Array.isArray(mentions.user_ids) && mentions.user_ids.length > 0)) return event;
  const { 'm.mentions': _empty, ...content } = event.content;
  return { ...event, content };
}
