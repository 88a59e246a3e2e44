import { STOPPED_BY_PERSON, type ReplyRequest, type Responder } from '../dispatch/Responder.js';
import { LlmError, type Completion, type CompletionRequest, type TokenUsage } from '../llm/LlmClient.js';
import type { ContextBudget } from '../llm/contextBudget.js';
import { buildPrompt, type BuiltPrompt, type PersonDescription, type PromptImage, type PromptMessage, type RecalledMessage } from '../llm/PromptBuilder.js';
import type { ActivatedLore } from '../lore/activate.js';
import { MAX_SCAN_DEPTH } from '../lore/entryRules.js';
import { getLogger } from '../logging.js';
import type { MemoryScope, MemoryStore, NewMessage, StoredMessage } from '../memory/MemoryStore.js';
import type { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import type { MessageSearch } from '../memory/MessageSearch.js';
import type { NoteStore } from '../memory/NoteStore.js';
import { gatherPromptMemory } from '../memory/promptMemory.js';
import { messageFromEvent, newMessageFromEvent } from '../memory/messageFromEvent.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import { cleanModelText } from './formatReply.js';
import type { RoomMember } from '../dispatch/outgoingMentions.js';
import type { ActiveAnswer, AnswerControls } from './AnswerControls.js';
import { DEFAULT_LIVE_OPTIONS, editContent, LiveAnswer, type LiveAnswerOptions, type LiveClock } from './LiveAnswer.js';
import { answerCutNotice, capNotice, CUT_BY_CONTEXT_MARK, failureNotice } from './messages.js';
import { NOBODY, type UsageAccounting } from '../usage/UsageAccounting.js';
import type { Timeline } from '../metrics/AnswerTimeline.js';
import { DEFAULT_BACKEND } from '../llm/backends.js';
import { noticeContent, replyContents, type ReplyTarget } from './replyContent.js';
import { withToolNote, type ToolAnswering, type ToolCompletion } from '../tools/ToolAnswering.js';
import { membersNotNamedIn } from '../tools/toolMentions.js';
import type { BackendNotices } from './BackendNotices.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('PersonaResponder');

/** The Matrix side of answering (MatrixGateway). */
export interface ResponderMatrix {
  /** `idempotencyKey`: the same key sent twice posts once (see MatrixGateway.sendEvent). */
  sendEvent(userId: string, roomId: string, type: string, content: Record<string, unknown>, idempotencyKey?: string): Promise<string>;
  setTyping(userId: string, roomId: string, typing: boolean, timeoutMs?: number): Promise<void>;
  sendReadReceipt(userId: string, roomId: string, eventId: string): Promise<void>;
}

/** What the responder reads of room membership (RoomMembers). */
export interface ResponderMembership {
  ensureLoaded(roomId: string): Promise<void>;
  joined(roomId: string): string[];
  displayName(roomId: string, userId: string): string | undefined;
}

export interface PersonaResponderDeps {
  llm: { complete(request: CompletionRequest): Promise<Completion> };
  memory: MemoryStore;
  /** Older messages relevant to the one being answered; omit for none. */
  search?: Pick<MessageSearch, 'recall'>;
  notes?: Pick<NoteStore, 'forPersona'>;
  /** The lorebook entries (the persona's card, books attached to it or the room) this conversation calls up; omit for none. */
  lore?: (context: LoreContext) => ActivatedLore[];
  /** How these people (who spoke last) describe themselves (`!me`), in this order; omit for none. */
  people?: (roomId: string, userIds: string[]) => Array<{ userId: string; text: string }>;
  /** The persona's answers people starred (style examples), most recent first; omit for none. */
  examples?: (personaId: string) => string[];
  /**
   * Disclosure (EU AI Act Art. 50): the note a first answer to a person in a direct chat ends
   * with, or null when they were told already; `told` records it once the answer is sent.
   * Omit for none.
   */
  disclosure?: { noteFor(persona: Persona, userId: string): string | null; told(persona: Persona, userId: string): void };
  /** memory.recall_messages: most recalled messages in a prompt (0: none). */
  recallMessages?: number;
  summarizer: { schedule(persona: Persona, scope: MemoryScope): void };
  matrix: ResponderMatrix;
  members: ResponderMembership;
  personas: PersonaDirectory;
  botUserId: string;
  /** memory.context_tokens */
  contextTokens: number;
  /** Typing notifications last 30 s; refreshed this often while the model thinks. */
  typingRefreshMs?: number;
  /**
   * Typing (and the read receipt) wait this long: a fast answer goes out without them, so it
   * costs the homeserver two requests (the answer, then the receipt) instead of four.
   */
  typingDelayMs?: number;
  /** Live answers (streamed by edits); omit to send every answer once, when complete. */
  live?: { enabled(persona: Persona): boolean; options?: LiveAnswerOptions; clock?: LiveClock };
  /** Stop and regenerate (reactions, `!stop`); omit for none. */
  controls?: AnswerControls;
  /** Called after every answer sent (metrics). */
  onReplied?: (info: RepliedInfo) => void;
  /** Called as the model request of a timed answer leaves (metrics: its timeline's stages, see ReplyRequest.timeline). */
  onModelAsked?: (info: { persona: Persona; roomId: string; timeline: Timeline }) => void;
  /** Token accounting and daily caps; omit for none. */
  usage?: Pick<UsageAccounting, 'capReached' | 'record'>;
  /** A backend's notice, once per room (BackendNotices): said after the answer. */
  backendNotices?: Pick<BackendNotices, 'claim'>;
  /** The command prefix, for the notices that name a command. */
  commandPrefix?: string;
  /** Failed memory writes (a full disk) are told to the room and the answer goes on; omit to throw. */
  writes?: Pick<MemoryWriteGuard, 'write'>;
  /** Tools (MCP, built-in) for personas allowed some; omit for none. */
  tools?: Pick<ToolAnswering, 'complete' | 'keepNote' | 'notes'>;
  /** Messages the recorder has queued for memory and not stored yet (MessageRecorder); omit for none. */
  recording?: { queuedMessage(eventId: string): NewMessage | undefined; stored(eventId: string): Promise<void> };
  /** Images, files and voice (src/media/PersonaMedia); omit for text only. */
  media?: ResponderMedia;
}

/** What the responder asks of the media side (src/media/PersonaMedia). */
export interface ResponderMedia {
  /** Reads the answered message's media into memory; `answer: false`: the notice is the answer. */
  prepare(request: ReplyRequest, scope: MemoryScope, answered: StoredMessage | null): Promise<{ notice: string | null; answer: boolean }>;
  /** Pixels for the newest images of the history, by stored message id. */
  imagesFor(persona: Persona, history: readonly StoredMessage[]): Map<number, PromptImage>;
  /** What the persona is told it cannot perceive (images or voice in the history it cannot take in). */
  senseNotes(persona: Persona, history: readonly StoredMessage[]): string[];
  /** Whether the answer is spoken (then it is not streamed). */
  speaksTo(request: ReplyRequest, answered: StoredMessage | null): boolean;
  /** The answer as a voice message's content (null: write it), and a notice to send first, if any. */
  speak(request: ReplyRequest, text: string, textContent: Record<string, unknown>): Promise<{ content: Record<string, unknown> | null; notice: string | null }>;
}

/** What lorebooks are matched against. */
export interface LoreContext {
  persona: Persona;
  roomId: string;
  /** Recent messages as `Name: text`, newest first. */
  messages: string[];
  /** The name of the person answered (`{{user}}`). */
  userName: string;
}

export interface RepliedInfo {
  persona: Persona;
  roomId: string;
  /** From the bridge receiving the message to the answer being sent. */
  latencyMs: number;
  /** Parts of latencyMs (metrics): before respond() was called (the room's answer queue)... */
  queueWaitMs: number;
  /** ...in the LLM client (its concurrency queue, the completion, retries)... */
  llmMs: number;
  /** ...and sending the answer's event(s). */
  sendMs: number;
  completion: Completion;
  parts: number;
}

export interface ResponderStats {
  replies: number;
  /** Answers replaced by a failure notice. */
  failures: number;
  /** Answers cancelled (their room's turn budget ran out) before anything was sent. */
  cancelled: number;
}

const TYPING_TIMEOUT_MS = 30_000;

/** Whose `!me` comes into the prompt: the people who wrote the last this many messages. */
const PEOPLE_SCAN_MESSAGES = 4;

interface PromptHistory {
  turns: PromptMessage[];
  participants: string[];
  /** Which of the participants are personas. */
  personaParticipants: string[];
  chapters: string[];
  notes: string[];
  lore: ActivatedLore[];
  people: PersonDescription[];
  examples: string[];
  recalled: RecalledMessage[];
  /** The persona's answer is spoken (a voice message). */
  speaks: boolean;
  senseNotes: string[];
}

/**
 * Answers as a persona: read receipt and typing while the model thinks, a prompt from the
 * persona and its memory of the conversation (the thread, when the message is in one), the
 * answer sent as a reply (in the thread / as a reply in a group / plainly in a DM) and
 * remembered. When the model cannot answer, one short notice says so; nothing is thrown.
 */
export class PersonaResponder implements Responder {
  readonly stats: ResponderStats = { replies: 0, failures: 0, cancelled: 0 };
  private readonly typingRefreshMs: number;
  /**
   * The failure notice each room was last told, until an answer succeeds there: an outage is
   * told once per room, not once per message it swallows.
   */
  private readonly toldFailure = new Map<string, string>();

  constructor(private readonly deps: PersonaResponderDeps) {
    this.typingRefreshMs = deps.typingRefreshMs ?? 20_000;
  }

  async respond(request: ReplyRequest): Promise<void> {
    const startedAt = Date.now();
    const { persona, event } = request;
    const roomId = event.room_id;
    const where = { roomId, persona: persona.userId, eventId: event.event_id };
    const scope: MemoryScope = { personaId: persona.userId, roomId, threadRoot: request.threadRootId };
    const presence = this.startPresence(persona.userId, roomId, event.event_id);
    // Stopped by the person it answers (🛑, !stop) or cancelled by the turn budget.
    const stopper = new AbortController();
    const signal = request.signal ? AbortSignal.any([request.signal, stopper.signal]) : stopper.signal;
    // The person the answer is for may stop it (a scene's turn: who started the scene).
    const requester = request.requestedBy ?? event.sender;
    const active: ActiveAnswer = { roomId, personaId: persona.userId, requester, eventId: request.regenerate ?? null, stop: () => stopper.abort(STOPPED_BY_PERSON) };
    const endControl = this.deps.controls?.begin(active) ?? (() => undefined);
    let live: LiveAnswer | null = null;
    // Lapped until the model request leaves (see ReplyRequest.timeline), then reported once.
    let timeline = request.timeline;
    const lap = (stage: string) => timeline?.lap(stage);
    lap('answer_queue');
    try {
      await this.deps.members.ensureLoaded(roomId).catch(() => undefined);
      lap('members');
      let answered = await this.remember(request);
      lap('remember');
      const target: ReplyTarget = {
        eventId: event.event_id,
        sender: event.sender,
        threadRootId: request.threadRootId,
        isDirect: request.isDirect,
        // A scene's first turn follows `!converse` without pinging whoever sent it.
        mentionSender: event.sender !== this.deps.botUserId && !this.deps.personas.byUserId(event.sender) && !request.scene,
      };
      // Built outside the LLM's try: a failure here (e.g. the database) is ours, not the
      // model endpoint's, and must not be reported in the room as an unavailable model.
      // The person who started it is charged (a scene's turns, a persona answering a persona), never a persona.
      const cap = this.deps.usage?.capReached(persona.userId, request.requestedBy) ?? null;
      if (cap) {
        log.info(`${persona.name} did not answer ${event.event_id} in ${roomId}: the ${cap.kind} daily token cap (${cap.limit}) is reached`);
        await this.deps.matrix.sendEvent(persona.userId, roomId, 'm.room.message', noticeContent(capNotice(cap.kind, cap.limit, this.deps.commandPrefix ?? '!'), target));
        return;
      }
      lap('usage');
      const media = this.deps.media;
      if (media) {
        const outcome = await media.prepare(request, scope, answered);
        if (outcome.notice) await this.deps.matrix.sendEvent(persona.userId, roomId, 'm.room.message', noticeContent(outcome.notice, target), `${persona.userId}|${event.event_id}|media`);
        if (!outcome.answer) return;
        // Read into memory now: its transcript, text or description.
        answered = answered && (this.deps.memory.byEventId(event.event_id) ?? answered);
      }
      const history = this.history(request, scope, answered, lap);
      const messages = (budget: ContextBudget) => {
        const prompt = this.prompt(request, history, budget.promptTokens);
        lap('prompt');
        return prompt;
      };
      const onSending = () => {
        if (!timeline) return;
        timeline.lap('request');
        this.deps.onModelAsked?.({ persona, roomId, timeline });
        if (log.isDebugEnabled()) log.debug(`${persona.name} asks the model about ${event.event_id} in ${roomId} after ${timeline.describe()} (ms)`);
        timeline = undefined;
      };
      const members = this.roomMembers(persona, roomId);
      live = history.speaks ? null : this.liveAnswer(request, target, members, presence, active);
      const llmStartedAt = Date.now();
      let completion: Completion & Partial<ToolCompletion>;
      try {
        const onText = live ? liveUpdater(live, persona.name) : undefined;
        const base = {
          messages,
          model: persona.model,
          temperature: persona.temperature,
          queueKey: roomId,
          label: `${persona.name} in ${roomId}`,
          signal,
          onSending,
          ...(onText ? { onText } : {}),
        };
        completion = this.deps.tools ? await this.deps.tools.complete(base, this.toolAnswer(request, target, live)) : await this.deps.llm.complete(base);
      } catch (err) {
        if (err instanceof LlmError && err.kind === 'cancelled') {
          // Asked, then stopped: the request was still made for someone.
          if (err.usage) await this.charge(request, err.usage, err.model ?? '', err.backend);
          await this.endCancelled(request, target, live, signal.reason === STOPPED_BY_PERSON);
          return;
        }
        await this.endLive(request, target, live, null);
        await this.reportFailure(request, target, err);
        return;
      }
      if (completion.usage) await this.charge(request, completion.usage, completion.model, completion.backend);
      // Cancelled while the model was answering (after its last chunk): still not sent.
      if (signal.aborted) {
        await this.endCancelled(request, target, live, signal.reason === STOPPED_BY_PERSON);
        return;
      }
      const cleaned = cleanModelText(completion.text, persona.name);
      // Cut off by the model's context: what it wrote, marked so nobody waits for the rest.
      const text = cleaned && completion.cut === 'context' ? `${cleaned}${CUT_BY_CONTEXT_MARK}` : cleaned;
      if (!text) {
        await this.endLive(request, target, live, null);
        await this.reportFailure(request, target, new LlmError('empty', 'nothing left after cleaning the model output', completion.attempts));
        return;
      }
      const llmMs = Date.now() - llmStartedAt;
      const sendStartedAt = Date.now();
      const disclosure = this.disclosureNote(request);
      // Shown after the answer, never remembered as part of it: that it was cut, the disclosure.
      const note = [completion.cutAt ? answerCutNotice(completion.cutAt) : null, disclosure].filter(Boolean).join('\n\n') || null;
      // Tool output is data: members its results name are not pinged (the live message's renderer reads this list too).
      if (completion.toolTexts?.length) members.splice(0, members.length, ...membersNotNamedIn(members, completion.toolTexts));
      const answerText = note ? `${text}\n\n${note}` : text;
      const spokenEventId = history.speaks ? await this.sendSpoken(request, target, members, answerText, text) : null;
      const { parts, firstEventId } = spokenEventId
        ? { parts: 1, firstEventId: spokenEventId }
        : await this.send(request, target, members, answerText, live, note);
      if (disclosure) this.deps.disclosure?.told(persona, event.sender);
      if (firstEventId && completion.toolNote) {
        const toolNote = completion.toolNote;
        await this.write(roomId, 'keep the tools behind the answer', () => this.deps.tools?.keepNote(firstEventId, toolNote));
      }
      const sentAt = Date.now();
      this.stats.replies++;
      // What the room should know about the model (a demo model writes nonsense), once.
      const backendNotice = this.deps.backendNotices?.claim(roomId, completion.backend ?? DEFAULT_BACKEND);
      if (backendNotice) await this.deps.matrix.sendEvent(persona.userId, roomId, 'm.room.message', noticeContent(backendNotice, target));
      if (this.toldFailure.delete(roomId)) log.info(`${persona.name} answers again in ${roomId}: the outage there is over`);
      this.deps.onReplied?.({
        persona,
        roomId,
        latencyMs: sentAt - request.receivedAt,
        queueWaitMs: startedAt - request.receivedAt,
        llmMs,
        sendMs: sentAt - sendStartedAt,
        completion,
        parts,
      });
      log.info(`${persona.name} answered ${event.event_id} in ${roomId} (${parts} part${parts === 1 ? '' : 's'}, ${completion.attempts} attempt(s))`);
    } catch (err) {
      // Sending failed (left the room, no permission, homeserver down): nothing to tell the room.
      log.error(`${persona.name} could not answer ${event.event_id} in ${roomId}`, { ...where, error: err });
    } finally {
      endControl();
      await live?.abandon();
      await presence.end();
    }
    this.deps.summarizer.schedule(persona, scope);
  }

  /** The answer as the tools see it: who it is for, where, and how progress and approval requests show. */
  private toolAnswer(request: ReplyRequest, target: ReplyTarget, live: LiveAnswer | null) {
    const { persona, event } = request;
    return {
      persona,
      roomId: event.room_id,
      // Who approves: the person the answer is for (as for stopping it); who pays: who started it.
      requester: request.requestedBy ?? event.sender,
      chargedTo: request.requestedBy,
      threadRootId: request.threadRootId,
      isDirect: request.isDirect,
      eventId: event.event_id,
      fresh: request.regenerate !== undefined && request.regenerate !== null,
      ...(live ? { progress: (text: string) => live.update(text) } : {}),
      // A notice that pings the person asked (in a group room); never anyone the arguments name.
      postApproval: (text: string) =>
        this.deps.matrix.sendEvent(persona.userId, event.room_id, 'm.room.message', {
          ...noticeContent(text, target),
          'm.mentions': target.isDirect ? {} : { user_ids: [event.sender] },
        }),
    };
  }

  /** A live answer for this request when streaming applies (always when regenerating). */
  private liveAnswer(request: ReplyRequest, target: ReplyTarget, members: RoomMember[], presence: Presence, active: ActiveAnswer): LiveAnswer | null {
    const { persona, event } = request;
    const roomId = event.room_id;
    if (!request.regenerate && !this.deps.live?.enabled(persona)) return null;
    const matrix = this.deps.matrix;
    let edits = 0;
    const live = new LiveAnswer(
      {
        send: async (content) => {
          const eventId = await matrix.sendEvent(persona.userId, roomId, 'm.room.message', content, `${persona.userId}|${target.eventId}|0`);
          active.eventId = eventId;
          return eventId;
        },
        edit: async (eventId, content, final) => {
          edits++;
          const key = `${persona.userId}|${target.eventId}|${request.regenerate ? 'regen|' : ''}edit${final ? '-final' : edits}`;
          await matrix.sendEvent(persona.userId, roomId, 'm.room.message', editContent(eventId, content, final), request.regenerate ? undefined : key);
        },
      },
      (text) => firstPartContent(text, target, members),
      this.deps.live?.options ?? DEFAULT_LIVE_OPTIONS,
      this.deps.live?.clock,
      () => presence.visible(),
    );
    if (request.regenerate) live.adopt(request.regenerate);
    return live;
  }

  /** Token usage charged to whoever caused the answer (the person, or NOBODY), per persona and room. */
  private async charge(request: ReplyRequest, usage: TokenUsage, model: string, backend: string | undefined): Promise<void> {
    const accounting = this.deps.usage;
    if (!accounting) return;
    const roomId = request.event.room_id;
    await this.write(roomId, 'record token usage', () =>
      accounting.record({
        personaId: request.persona.userId,
        roomId,
        userId: request.requestedBy ?? NOBODY,
        backend: backend ?? DEFAULT_BACKEND,
        model,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
      }),
    );
  }

  /** Cancelled: by the turn budget (nothing more is written) or stopped by a person. */
  private async endCancelled(request: ReplyRequest, target: ReplyTarget, live: LiveAnswer | null, stoppedByPerson: boolean): Promise<void> {
    this.logCancelled(request);
    if (!live?.liveEventId) return;
    // What the room shows stays, finished and marked so nobody waits for more.
    const shown = live.shownText || '…';
    await this.endLive(request, target, live, stoppedByPerson ? `${shown}${STOPPED_MARK}` : shown);
  }

  /**
   * Ends a live message that will not get the model's answer: with `text` as its final
   * version (remembered as the room shows it), or, for null, with what it shows now.
   */
  private async endLive(request: ReplyRequest, target: ReplyTarget, live: LiveAnswer | null, text: string | null): Promise<void> {
    if (!live?.liveEventId) return;
    const { persona, event } = request;
    const final = text ?? (live.shownText || '…');
    try {
      const members = this.roomMembers(persona, event.room_id);
      const { eventId } = await live.finish(firstPartContent(final, target, members));
      if (eventId) await this.rememberOwn(request, target, eventId, final);
    } catch (err) {
      log.warn(`${persona.name} could not finish its live answer in ${event.room_id}: ${describeError(err)}`);
    }
  }

  private logCancelled(request: ReplyRequest): void {
    this.stats.cancelled++;
    log.debug(`${request.persona.name}'s answer to ${request.event.event_id} in ${request.event.room_id} was cancelled`);
  }

  /**
   * Makes sure the answered message is in memory (the recorder may not have seen it yet)
   * and returns it as stored; null when it has no text to remember (media caption-less etc.).
   */
  private async remember(request: ReplyRequest): Promise<StoredMessage | null> {
    const { event } = request;
    const stored = this.deps.memory.byEventId(event.event_id);
    if (stored) return stored;
    // A scene's first turn answers the `!converse` command, which is no conversation to keep.
    if (request.scene) return null;
    // The recorder's write of it waits until the model is asked (see MessageRecorder.commitLater),
    // unless media is read into it first (its transcript, text or description; the prompt's
    // pixels come from stored messages): then it is waited for, a turn of the event loop at most.
    const queued = this.deps.recording?.queuedMessage(event.event_id);
    if (queued) {
      if (!queued.media || !this.deps.media) return null;
      await this.deps.recording!.stored(event.event_id);
      return this.deps.memory.byEventId(event.event_id) ?? null;
    }
    const parsed = messageFromEvent(event);
    if (!parsed) return null;
    const displayName = this.deps.members.displayName(event.room_id, event.sender) ?? null;
    const record = newMessageFromEvent(event, parsed, displayName, this.deps.personas.byUserId(event.sender) !== undefined);
    const recorded = await this.write(event.room_id, `remember ${event.event_id}`, () => this.deps.memory.record(record));
    // Not written (disk full): answered all the same, from the message as received.
    if (recorded === undefined) return null;
    return this.deps.memory.byEventId(event.event_id) ?? null;
  }

  /** What the prompt is built from, read once: a retry with a smaller budget reuses it. */
  private history(request: ReplyRequest, scope: MemoryScope, answered: StoredMessage | null, lap: (stage: string) => void): PromptHistory {
    const { persona, event } = request;
    const roomId = event.room_id;
    // Not stored yet when its write waits for the model request (see remember()): then nothing
    // of the room after it is stored either, so the history read now ends right before it.
    const queued = answered ? undefined : this.deps.recording?.queuedMessage(event.event_id);
    const answeredText = answered?.body ?? queued?.body ?? request.scene?.opening ?? (typeof event.content.body === 'string' ? event.content.body : '');
    const memory = gatherPromptMemory(
      {
        memory: this.deps.memory,
        search: this.deps.search,
        notes: this.deps.notes,
        contextTokens: this.deps.contextTokens,
        recallMessages: this.deps.recallMessages ?? 0,
      },
      scope,
      answered,
      answeredText,
      lap,
    );
    // The tools behind the persona's earlier answers, so it knows what it did.
    const toolNotes = this.deps.tools?.notes(memory.history.filter((m) => m.sender === persona.userId).map((m) => m.eventId)) ?? new Map<string, string>();
    const images = this.deps.media?.imagesFor(persona, memory.history) ?? new Map<number, PromptImage>();
    const toPrompt = (m: StoredMessage): PromptMessage => ({
      id: m.id,
      sender: m.sender,
      name: m.sender === persona.userId ? persona.name : this.nameOf(roomId, m.sender, m.displayName),
      msgtype: m.msgtype,
      body: withToolNote(m.body, toolNotes.get(m.eventId)),
      ...(images.has(m.id) ? { images: [images.get(m.id)!] } : {}),
    });
    const turns = memory.history.map(toPrompt);
    if (!answered) {
      turns.push({ sender: event.sender, name: this.nameOf(roomId, event.sender, queued?.displayName ?? null), msgtype: queued?.msgtype ?? 'm.text', body: answeredText });
    }
    const others = this.deps.members.joined(roomId).filter((u) => u !== persona.userId && u !== this.deps.botUserId);
    const participants = others.map((u) => this.nameOf(roomId, u, null));
    const personaParticipants = others.filter((u) => this.deps.personas.byUserId(u)).map((u) => this.nameOf(roomId, u, null));
    const recalled = memory.recalled.map((m) => ({ ...toPrompt(m), id: m.id, ts: m.ts }));
    // Keys are looked for in the last messages (each entry says how many), with their senders' names.
    const newestFirst = turns.slice(-MAX_SCAN_DEPTH).reverse();
    const userName = this.nameOf(roomId, event.sender, null);
    const lore = this.deps.lore?.({ persona, roomId, messages: newestFirst.map((t) => `${t.name}: ${t.body}`), userName }) ?? [];
    const people = this.people(request, newestFirst);
    const examples = this.deps.examples?.(persona.userId) ?? [];
    const speaks = this.deps.media?.speaksTo(request, answered) ?? false;
    const senseNotes = this.deps.media?.senseNotes(persona, memory.history) ?? [];
    lap('turns');
    return { turns, participants, personaParticipants, chapters: memory.chapters, notes: memory.notes, lore, people, examples, recalled, speaks, senseNotes };
  }

  /** `!me` of the person answered and of the others who wrote the last few messages (never a persona). */
  private people(request: ReplyRequest, newestFirst: PromptMessage[]): PersonDescription[] {
    if (!this.deps.people) return [];
    const roomId = request.event.room_id;
    const speakers = [request.event.sender, ...newestFirst.slice(0, PEOPLE_SCAN_MESSAGES).map((t) => t.sender)];
    const people = [...new Set(speakers)].filter((u) => u !== this.deps.botUserId && !this.deps.personas.byUserId(u));
    if (people.length === 0) return [];
    return this.deps.people(roomId, people).map((p) => ({ name: this.nameOf(roomId, p.userId, null), text: p.text }));
  }

  private prompt(request: ReplyRequest, history: PromptHistory, budgetTokens: number): BuiltPrompt {
    return buildPrompt({
      persona: request.persona,
      isDirect: request.isDirect,
      participants: history.participants,
      personaParticipants: history.personaParticipants,
      inThread: request.threadRootId !== null,
      chapters: history.chapters,
      notes: history.notes,
      lore: history.lore,
      people: history.people,
      examples: history.examples,
      recalled: history.recalled,
      maxRecalled: this.deps.recallMessages ?? 0,
      history: history.turns,
      budgetTokens,
      ...(request.scene ? { sceneDirection: request.scene.direction } : {}),
      senseNotes: history.senseNotes,
    });
  }

  private nameOf(roomId: string, userId: string, stored: string | null): string {
    return this.deps.personas.byUserId(userId)?.name ?? this.deps.members.displayName(roomId, userId) ?? stored ?? localpart(userId);
  }

  private roomMembers(persona: Persona, roomId: string): RoomMember[] {
    return this.deps.members
      .joined(roomId)
      .filter((u) => u !== persona.userId)
      .map((userId) => ({ userId, displayName: this.deps.personas.byUserId(userId)?.name ?? this.deps.members.displayName(roomId, userId) }));
  }

  /**
   * Sends the answer: as one or more new messages, or, when a live message is already
   * visible, as its final edit (the first part) followed by any further parts.
   */
  /** The disclosure note for a person's first answer from this persona in a direct chat, if due. */
  private disclosureNote(request: ReplyRequest): string | null {
    const { persona, event } = request;
    if (!this.deps.disclosure || !request.isDirect || request.scene || request.regenerate) return null;
    if (event.sender === this.deps.botUserId || this.deps.personas.byUserId(event.sender)) return null;
    return this.deps.disclosure.noteFor(persona, event.sender);
  }

  /**
   * `note` (the disclosure line ending the text) is shown but not remembered: the model
   * should not read it back as something the persona said.
   */
  private async send(request: ReplyRequest, target: ReplyTarget, members: RoomMember[], text: string, live: LiveAnswer | null, note: string | null = null): Promise<{ parts: number; firstEventId: string | null }> {
    const remembered = (body: string) => (note && body.endsWith(note) ? body.slice(0, -note.length).trimEnd() : body);
    const { persona, event } = request;
    const roomId = event.room_id;
    const contents = replyContents(text, target, members);
    let first = 0;
    let firstEventId: string | null = null;
    if (live?.liveEventId) {
      const { eventId } = await live.finish(contents[0]!);
      const body = remembered(String(contents[0]!.body));
      if (eventId && body) await this.rememberOwn(request, target, eventId, body);
      firstEventId = eventId;
      first = 1;
    } else {
      await live?.abandon();
    }
    for (const [part, content] of contents.entries()) {
      if (part < first) continue;
      // One answer per persona and message, whatever happens: resumed after a crash that
      // came between sending and recording it as done, the homeserver de-duplicates it.
      const key = `${persona.userId}|${target.eventId}|${part}`;
      const eventId = await this.deps.matrix.sendEvent(persona.userId, roomId, 'm.room.message', content, key);
      firstEventId ??= eventId;
      // A part that is only the note (split off a long answer) is nothing the persona said.
      const body = remembered(String(content.body));
      if (body) await this.rememberOwn(request, target, eventId, body);
    }
    return { parts: contents.length, firstEventId };
  }

  /** Sends the answer as a voice message; false when it is to be written instead (after any notice). */
  /**
   * The answer as a voice message, `text` shown with it and `remembered` kept (without the
   * disclosure note); null when it could not be spoken (then it is written).
   */
  private async sendSpoken(request: ReplyRequest, target: ReplyTarget, members: RoomMember[], text: string, remembered: string): Promise<string | null> {
    const { persona, event } = request;
    const spoken = await this.deps.media!.speak(request, text, firstPartContent(text, target, members));
    if (spoken.notice) await this.deps.matrix.sendEvent(persona.userId, event.room_id, 'm.room.message', noticeContent(spoken.notice, target), `${persona.userId}|${target.eventId}|voice-notice`);
    if (!spoken.content) return null;
    const eventId = await this.deps.matrix.sendEvent(persona.userId, event.room_id, 'm.room.message', spoken.content, `${persona.userId}|${target.eventId}|0`);
    await this.rememberOwn(request, target, eventId, remembered, 'm.audio');
    return eventId;
  }

  /**
   * Remembered now, so the next prompt has it even before its echo arrives; a message already
   * stored (a live one, or a regenerated answer) gets its final text instead.
   */
  private async rememberOwn(request: ReplyRequest, target: ReplyTarget, eventId: string, body: string, msgtype = 'm.text'): Promise<void> {
    const { persona, event } = request;
    await this.write(event.room_id, `remember its answer ${eventId}`, () => {
      const recorded = this.deps.memory.record({
      roomId: event.room_id,
      eventId,
      sender: persona.userId,
      displayName: persona.name,
      msgtype,
      body,
      ts: Date.now(),
      threadRoot: target.threadRootId,
      fromPersona: true,
      });
      if (!recorded) this.deps.memory.applyEdit(eventId, persona.userId, body);
    });
    this.deps.controls?.remember(request, eventId);
    request.onSent?.(eventId, body);
  }

  private async write<T>(roomId: string, what: string, write: () => T): Promise<T | undefined> {
    return this.deps.writes ? this.deps.writes.write(roomId, what, write) : write();
  }

  private async reportFailure(request: ReplyRequest, target: ReplyTarget, err: unknown): Promise<void> {
    const { persona, event } = request;
    this.stats.failures++;
    const kind = err instanceof LlmError ? err.kind : 'error';
    log.error(`${persona.name} (${persona.userId}) cannot answer in ${event.room_id}: ${kind}: ${describeError(err)}`, {
      roomId: event.room_id,
      persona: persona.userId,
      eventId: event.event_id,
    });
    const notice = failureNotice(err);
    if (this.toldFailure.get(event.room_id) === notice) {
      log.info(`${persona.name} sends no second notice in ${event.room_id}: the room was told of this outage already`);
      return;
    }
    this.toldFailure.set(event.room_id, notice);
    try {
      const key = `${persona.userId}|${event.event_id}|failure`;
      await this.deps.matrix.sendEvent(persona.userId, event.room_id, 'm.room.message', noticeContent(notice, target), key);
    } catch (sendErr) {
      log.error(`${persona.name} could not send the failure notice in ${event.room_id}: ${String(sendErr)}`);
    }
  }

  /**
   * The persona's presence while it answers: after `typingDelayMs` without a visible answer,
   * the read receipt and typing (refreshed until text is visible); the receipt otherwise once
   * the answer is out, so it never competes with the answer's send.
   */
  private startPresence(userId: string, roomId: string, eventId: string): Presence {
    const matrix = this.deps.matrix;
    // One request at a time, in order: an "on" overtaking the final "off" would leave the
    // persona typing for 30 s after it answered.
    let chain = Promise.resolve();
    let typing = false;
    let receiptSent = false;
    let refresh: NodeJS.Timeout | undefined;
    const setTyping = (on: boolean) =>
      (chain = chain.then(() =>
        matrix.setTyping(userId, roomId, on, TYPING_TIMEOUT_MS).catch((err: unknown) => {
          log.debug(`typing ${on ? 'on' : 'off'} for ${userId} in ${roomId} failed: ${describeError(err)}`);
        }),
      ));
    const receipt = () => {
      if (receiptSent) return;
      receiptSent = true;
      void matrix.sendReadReceipt(userId, roomId, eventId).catch((err: unknown) => {
        log.debug(`read receipt by ${userId} in ${roomId} failed: ${describeError(err)}`);
      });
    };
    const stopTyping = () => {
      clearTimeout(delay);
      clearInterval(refresh);
      if (!typing) return chain;
      typing = false;
      return setTyping(false);
    };
    const delay = setTimeout(() => {
      receipt();
      typing = true;
      void setTyping(true);
      refresh = setInterval(() => void setTyping(true), this.typingRefreshMs);
    }, this.deps.typingDelayMs ?? 1000);
    return {
      visible: () => void stopTyping(),
      end: async () => {
        await stopTyping();
        receipt();
      },
    };
  }
}

/** The persona's typing and read receipt around one answer. */
interface Presence {
  /** The answer became visible (live): typing stops. */
  visible(): void;
  /** The answer is done: typing off, the receipt if not sent yet. */
  end(): Promise<void>;
}

/** How a stopped answer ends: what was written, and this. */
const STOPPED_MARK = ' … (stopped)';

/** The first message of an answer (what a live message shows; the rest follows when final). */
function firstPartContent(text: string, target: ReplyTarget, members: RoomMember[]): Record<string, unknown> {
  return replyContents(text, target, members)[0]!;
}

/** Feeds the live message what the room should see of the model's text so far. */
function liveUpdater(live: LiveAnswer, personaName: string): (textSoFar: string) => void {
  return (textSoFar) => live.update(cleanModelText(textSoFar, personaName));
}

function localpart(userId: string): string {
  return userId.replace(/^@/, '').split(':')[0] ?? userId;
}
