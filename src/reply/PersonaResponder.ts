import type { ReplyRequest, Responder } from '../dispatch/Responder.js';
import { LlmError, type Completion, type CompletionRequest } from '../llm/LlmClient.js';
import type { ContextBudget } from '../llm/contextBudget.js';
import { buildPrompt, type BuiltPrompt, type PromptMessage, type RecalledMessage } from '../llm/PromptBuilder.js';
import { getLogger } from '../logging.js';
import type { MemoryScope, MemoryStore, StoredMessage } from '../memory/MemoryStore.js';
import type { MessageSearch } from '../memory/MessageSearch.js';
import type { NoteStore } from '../memory/NoteStore.js';
import { gatherPromptMemory } from '../memory/promptMemory.js';
import { messageFromEvent, newMessageFromEvent } from '../memory/messageFromEvent.js';
import type { Persona, PersonaDirectory } from '../personas/Persona.js';
import { cleanModelText } from './formatReply.js';
import { failureNotice } from './messages.js';
import { noticeContent, replyContents, type ReplyTarget } from './replyContent.js';

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
  search?: Pick<MessageSearch, 'search'>;
  notes?: Pick<NoteStore, 'forPersona'>;
  /** A character card's lorebook entries that these recent texts call up; omit for none. */
  lore?: (personaId: string, personaName: string, recentTexts: string[]) => string[];
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
  /** Called after every answer sent (metrics). */
  onReplied?: (info: RepliedInfo) => void;
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

/** How many recent messages a lorebook's keys are looked for in. */
const LORE_SCAN_MESSAGES = 4;

interface PromptHistory {
  turns: PromptMessage[];
  participants: string[];
  chapters: string[];
  notes: string[];
  lore: string[];
  recalled: RecalledMessage[];
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

  constructor(private readonly deps: PersonaResponderDeps) {
    this.typingRefreshMs = deps.typingRefreshMs ?? 20_000;
  }

  async respond(request: ReplyRequest): Promise<void> {
    const startedAt = Date.now();
    const { persona, event } = request;
    const roomId = event.room_id;
    const where = { roomId, persona: persona.userId, eventId: event.event_id };
    const scope: MemoryScope = { personaId: persona.userId, roomId, threadRoot: request.threadRootId };
    void this.deps.matrix.sendReadReceipt(persona.userId, roomId, event.event_id).catch((err: unknown) => {
      log.debug(`read receipt by ${persona.userId} in ${roomId} failed: ${String(err)}`);
    });
    const stopTyping = this.startTyping(persona.userId, roomId);
    try {
      await this.deps.members.ensureLoaded(roomId).catch(() => undefined);
      const answered = this.remember(request);
      const target: ReplyTarget = {
        eventId: event.event_id,
        sender: event.sender,
        threadRootId: request.threadRootId,
        isDirect: request.isDirect,
        mentionSender: event.sender !== this.deps.botUserId && !this.deps.personas.byUserId(event.sender),
      };
      // Built outside the LLM's try: a failure here (e.g. the database) is ours, not the
      // model endpoint's, and must not be reported in the room as an unavailable model.
      const history = this.history(request, scope, answered);
      const messages = (budget: ContextBudget) => this.prompt(request, history, budget.promptTokens);
      const llmStartedAt = Date.now();
      let completion: Completion;
      try {
        completion = await this.deps.llm.complete({
          messages,
          model: persona.model,
          temperature: persona.temperature,
          queueKey: roomId,
          label: `${persona.name} in ${roomId}`,
          ...(request.signal ? { signal: request.signal } : {}),
        });
      } catch (err) {
        if (err instanceof LlmError && err.kind === 'cancelled') {
          this.logCancelled(request);
          return;
        }
        await this.reportFailure(request, target, err);
        return;
      }
      // Cancelled while the model was answering (after its last chunk): still not sent.
      if (request.signal?.aborted) {
        this.logCancelled(request);
        return;
      }
      const text = cleanModelText(completion.text, persona.name);
      if (!text) {
        await this.reportFailure(request, target, new LlmError('empty', 'nothing left after cleaning the model output', completion.attempts));
        return;
      }
      const llmMs = Date.now() - llmStartedAt;
      const sendStartedAt = Date.now();
      const parts = await this.send(persona, roomId, target, text);
      const sentAt = Date.now();
      this.stats.replies++;
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
      await stopTyping();
    }
    this.deps.summarizer.schedule(persona, scope);
  }

  private logCancelled(request: ReplyRequest): void {
    this.stats.cancelled++;
    log.debug(`${request.persona.name}'s answer to ${request.event.event_id} in ${request.event.room_id} was cancelled`);
  }

  /**
   * Makes sure the answered message is in memory (the recorder may not have seen it yet)
   * and returns it as stored; null when it has no text to remember (media caption-less etc.).
   */
  private remember(request: ReplyRequest): StoredMessage | null {
    const { event } = request;
    const stored = this.deps.memory.byEventId(event.event_id);
    if (stored) return stored;
    const parsed = messageFromEvent(event);
    if (!parsed) return null;
    const displayName = this.deps.members.displayName(event.room_id, event.sender) ?? null;
    this.deps.memory.record(newMessageFromEvent(event, parsed, displayName, this.deps.personas.byUserId(event.sender) !== undefined));
    return this.deps.memory.byEventId(event.event_id) ?? null;
  }

  /** What the prompt is built from, read once: a retry with a smaller budget reuses it. */
  private history(request: ReplyRequest, scope: MemoryScope, answered: StoredMessage | null): PromptHistory {
    const { persona, event } = request;
    const roomId = event.room_id;
    const answeredText = answered?.body ?? (typeof event.content.body === 'string' ? event.content.body : '');
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
    );
    const toPrompt = (m: StoredMessage): PromptMessage => ({
      id: m.id,
      sender: m.sender,
      name: m.sender === persona.userId ? persona.name : this.nameOf(roomId, m.sender, m.displayName),
      msgtype: m.msgtype,
      body: m.body,
    });
    const turns = memory.history.map(toPrompt);
    if (!answered) {
      turns.push({ sender: event.sender, name: this.nameOf(roomId, event.sender, null), msgtype: 'm.text', body: answeredText });
    }
    const participants = this.deps.members
      .joined(roomId)
      .filter((u) => u !== persona.userId && u !== this.deps.botUserId)
      .map((u) => this.nameOf(roomId, u, null));
    const recalled = memory.recalled.map((m) => ({ ...toPrompt(m), id: m.id, ts: m.ts }));
    // Keys are looked for in the last few messages, as card readers scan recent history.
    const lore = this.deps.lore?.(persona.userId, persona.name, turns.slice(-LORE_SCAN_MESSAGES).map((t) => t.body)) ?? [];
    return { turns, participants, chapters: memory.chapters, notes: memory.notes, lore, recalled };
  }

  private prompt(request: ReplyRequest, history: PromptHistory, budgetTokens: number): BuiltPrompt {
    return buildPrompt({
      persona: request.persona,
      isDirect: request.isDirect,
      participants: history.participants,
      inThread: request.threadRootId !== null,
      chapters: history.chapters,
      notes: history.notes,
      lore: history.lore,
      recalled: history.recalled,
      maxRecalled: this.deps.recallMessages ?? 0,
      history: history.turns,
      budgetTokens,
    });
  }

  private nameOf(roomId: string, userId: string, stored: string | null): string {
    return this.deps.personas.byUserId(userId)?.name ?? this.deps.members.displayName(roomId, userId) ?? stored ?? localpart(userId);
  }

  private async send(persona: Persona, roomId: string, target: ReplyTarget, text: string): Promise<number> {
    const members = this.deps.members
      .joined(roomId)
      .filter((u) => u !== persona.userId)
      .map((userId) => ({ userId, displayName: this.deps.personas.byUserId(userId)?.name ?? this.deps.members.displayName(roomId, userId) }));
    const contents = replyContents(text, target, members);
    for (const [part, content] of contents.entries()) {
      // One answer per persona and message, whatever happens: resumed after a crash that
      // came between sending and recording it as done, the homeserver de-duplicates it.
      const key = `${persona.userId}|${target.eventId}|${part}`;
      const eventId = await this.deps.matrix.sendEvent(persona.userId, roomId, 'm.room.message', content, key);
      // Remembered now, so the next prompt has it even before its echo arrives.
      this.deps.memory.record({
        roomId,
        eventId,
        sender: persona.userId,
        displayName: persona.name,
        msgtype: 'm.text',
        body: String(content.body),
        ts: Date.now(),
        threadRoot: target.threadRootId,
        fromPersona: true,
      });
    }
    return contents.length;
  }

  private async reportFailure(request: ReplyRequest, target: ReplyTarget, err: unknown): Promise<void> {
    const { persona, event } = request;
    this.stats.failures++;
    const kind = err instanceof LlmError ? err.kind : 'error';
    log.error(`${persona.name} (${persona.userId}) cannot answer in ${event.room_id}: ${kind}: ${(err as Error).message ?? String(err)}`, {
      roomId: event.room_id,
      persona: persona.userId,
      eventId: event.event_id,
    });
    try {
      const key = `${persona.userId}|${event.event_id}|failure`;
      await this.deps.matrix.sendEvent(persona.userId, event.room_id, 'm.room.message', noticeContent(failureNotice(err), target), key);
    } catch (sendErr) {
      log.error(`${persona.name} could not send the failure notice in ${event.room_id}: ${String(sendErr)}`);
    }
  }

  /** Typing on now and every refresh interval; the returned function turns it off. */
  private startTyping(userId: string, roomId: string): () => Promise<void> {
    // One request at a time, in order: an "on" overtaking the final "off" would leave the
    // persona typing for 30 s after it answered.
    let chain = Promise.resolve();
    const set = (typing: boolean) =>
      (chain = chain.then(() =>
        this.deps.matrix.setTyping(userId, roomId, typing, TYPING_TIMEOUT_MS).catch((err: unknown) => {
          log.debug(`typing ${typing ? 'on' : 'off'} for ${userId} in ${roomId} failed: ${String(err)}`);
        }),
      ));
    void set(true);
    const timer = setInterval(() => void set(true), this.typingRefreshMs);
    return async () => {
      clearInterval(timer);
      await set(false);
    };
  }
}

function localpart(userId: string): string {
  return userId.replace(/^@/, '').split(':')[0] ?? userId;
}
