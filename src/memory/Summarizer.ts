import type { ChatTurn, CompletionRequest, Completion } from '../llm/LlmClient.js';
import { guaranteedRecentTokens } from '../llm/PromptBuilder.js';
import { estimateMessageTokens, estimateTokens, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS, truncateToTokens } from '../llm/tokens.js';
import { getLogger } from '../logging.js';
import type { Persona } from '../personas/Persona.js';
import type { MemoryScope, MemoryStore, StoredMessage } from './MemoryStore.js';
import type { NoteStore } from './NoteStore.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('Summarizer');

export interface SummarizerDeps {
  memory: MemoryStore;
  /** The room's notes are named in the summarising prompt, so chapters refer to them rather than lose them. */
  notes?: Pick<NoteStore, 'forPersona'>;
  llm: { complete(request: CompletionRequest): Promise<Completion> };
  /** memory.summarize_after_messages */
  summarizeAfterMessages: number;
  /** memory.context_tokens: the summarising prompt must fit too. */
  contextTokens: number;
  /** After a failed summary, the scope waits this long before the next try. */
  retryAfterMs?: number;
  now?: () => number;
}

/** Upper bound on one chapter's length, asked of the model. */
const CHAPTER_MAX_TOKENS = 400;
/**
 * A summary is due once the unsummarised messages fill this share of the part of the prompt
 * the recent turns are sure to get; the rest is headroom for what arrives while the model
 * writes it. A chapter leaves at most half of that part unsummarised.
 */
const DUE_AT_WINDOW_SHARE = 0.75;
const KEEP_WINDOW_SHARE = 0.5;
/** Per message in a prompt besides its text: turn framing, a newline, the sender's name. */
const LINE_OVERHEAD_TOKENS = MESSAGE_OVERHEAD_TOKENS + 1 + 5;

/**
 * Rolling summaries: once a scope (a persona's view of a room or thread) has more
 * unsummarised messages than the threshold — or sooner, once they fill most of the part of
 * the prompt the recent turns are sure to get ({@link guaranteedRecentTokens}), so that no
 * message leaves the prompt before it is summarised — its oldest part is summarised by the
 * LLM into a chapter, in the background at low priority. The newest messages (half the
 * threshold, and no more than half that part of the prompt) stay verbatim. A failure is
 * logged and tried again on a later message after a pause; replies never wait for summaries
 * (and what a failed summary leaves out is still found by retrieval).
 */
export class Summarizer {
  private readonly running = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();
  private readonly retryAfterMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: SummarizerDeps) {
    this.retryAfterMs = deps.retryAfterMs ?? 5 * 60_000;
    this.now = deps.now ?? Date.now;
  }

  /** Starts summarising the scope in the background if it is due. Never throws. */
  schedule(persona: Persona, scope: MemoryScope): void {
    const key = `${scope.personaId}\u0000${scope.roomId}\u0000${scope.threadRoot ?? ''}`;
    if (this.running.has(key)) return;
    const failed = this.failedAt.get(key);
    if (failed !== undefined && this.now() - failed < this.retryAfterMs) return;
    let due: boolean;
    try {
      due = this.deps.memory.staleChapters(scope).length > 0 || this.isDue(persona, scope);
    } catch (err) {
      log.warn(`cannot count unsummarised messages of ${persona.name} in ${scope.roomId}: ${describeError(err)}`);
      return;
    }
    if (!due) return;
    const run = this.rewriteStale(persona, scope)
      .then(() => this.summariseWhileDue(persona, scope))
      .then(() => void this.failedAt.delete(key))
      .catch((err: unknown) => {
        this.failedAt.set(key, this.now());
        log.warn(`summary for ${persona.name} in ${scope.roomId} failed; will retry later: ${describeError(err)}`);
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  /** True while a summary is being written. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Resolves when no summary is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running.values()]);
  }

  /** The recent turns' sure part of this persona's prompt (its prompt length matters). */
  private windowTokens(persona: Persona): number {
    return guaranteedRecentTokens(this.deps.contextTokens, estimateTokens(persona.prompt));
  }

  private isDue(persona: Persona, scope: MemoryScope): boolean {
    const { count, bytes } = this.deps.memory.unsummarisedSize(scope);
    if (count <= 1) return false;
    const tokens = Math.ceil(bytes * 0.3) + count * LINE_OVERHEAD_TOKENS;
    return count > this.deps.summarizeAfterMessages || tokens > this.windowTokens(persona) * DUE_AT_WINDOW_SHARE;
  }

  /** How many of the newest unsummarised messages stay verbatim. */
  private keepCount(persona: Persona, scope: MemoryScope): number {
    const most = Math.floor(this.deps.summarizeAfterMessages / 2);
    const room = this.windowTokens(persona) * KEEP_WINDOW_SHARE;
    let used = 0;
    let keep = 0;
    for (const m of this.deps.memory.recent(scope, most).reverse()) {
      used += estimateTokens(m.body) + LINE_OVERHEAD_TOKENS;
      if (used > room) break;
      keep++;
    }
    return keep;
  }

  /** Writes chapters until the scope is no longer due (a long backlog takes several). */
  private async summariseWhileDue(persona: Persona, scope: MemoryScope): Promise<void> {
    while (this.isDue(persona, scope)) {
      if (!(await this.summariseOnce(persona, scope))) return;
    }
  }

  /**
   * Rewrites the chapters a redaction made stale (oldest first) from the messages still stored
   * in their range, so the redacted text leaves the summary; a chapter with none left is deleted.
   */
  async rewriteStale(persona: Persona, scope: MemoryScope): Promise<void> {
    const { memory } = this.deps;
    for (const chapter of memory.staleChapters(scope)) {
      // People who asked to be forgotten: their messages are not in the rewrite, nor their names.
      const forgotten = new Set(chapter.leaveOut);
      const remaining = memory.messagesInRange(scope, chapter.firstMessageId, chapter.lastMessageId).filter((m) => !forgotten.has(m.sender));
      if (remaining.length === 0) {
        memory.deleteStaleChapter(chapter.id, chapter.stale);
        log.info(`deleted a chapter of ${scope.roomId} for ${persona.name}: all its messages were redacted`);
        continue;
      }
      const previous = memory.chapterBefore(scope, chapter.firstMessageId)?.summary ?? null;
      const { text } = await this.write(persona, scope, previous, remaining, chapter.leaveOut);
      // The range stays as it was: a transcript cut to fit covers less, never more.
      if (memory.rewriteChapter(chapter.id, chapter.stale, text, remaining.length)) {
        log.info(`rewrote a chapter of ${scope.roomId} for ${persona.name} after a redaction`);
      }
    }
  }

  /** One chapter from the oldest unsummarised messages; false when nothing was stored. */
  async summariseOnce(persona: Persona, scope: MemoryScope): Promise<boolean> {
    const { memory } = this.deps;
    const keep = this.keepCount(persona, scope);
    const pending = memory.countUnsummarised(scope);
    if (pending <= keep) return false;
    const previous = memory.chapters(scope, 1)[0]?.summary ?? null;
    const candidates = memory.oldestUnsummarised(scope, pending - keep);
    if (candidates.length === 0) return false;
    const { text, messages } = await this.write(persona, scope, previous, candidates);
    if (messages.length === 0) return false;
    const stored = memory.addChapter(scope, {
      firstMessageId: messages[0]!.id,
      lastMessageId: messages.at(-1)!.id,
      messageCount: messages.length,
      summary: text,
    });
    if (stored) log.info(`summarised ${messages.length} messages of ${scope.roomId} for ${persona.name}`);
    return stored;
  }

  /** Asks the model for a chapter of the oldest `candidates` that fit; returns it and the messages it covers. */
  private async write(
    persona: Persona,
    scope: MemoryScope,
    previous: string | null,
    candidates: StoredMessage[],
    leaveOut: string[] = [],
  ): Promise<{ text: string; messages: StoredMessage[] }> {
    const notes = truncateToTokens(
      (this.deps.notes?.forPersona(scope.roomId, persona.userId) ?? []).map((n) => `- (note ${n.id}) ${n.body}`).join('\n'),
      Math.floor(this.deps.contextTokens / 8),
    );
    // The transcript is fitted to the budget the model's context leaves (the client may ask
    // twice, smaller, if the server refuses): the chapter covers what the last fit chose.
    let messages: StoredMessage[] = [];
    const completion = await this.deps.llm.complete({
      messages: (budget) => {
        const transcriptBudget =
          Math.min(this.deps.contextTokens - CHAPTER_MAX_TOKENS, budget.promptTokens) - 300 - (previous ? estimateTokens(previous) : 0) - estimateTokens(notes);
        messages = fitTranscript(candidates, Math.max(50, transcriptBudget));
        const prompt = summaryPrompt(persona, previous, notes, messages, leaveOut);
        return { messages: prompt, estimatedTokens: prompt.reduce((n, m) => n + estimateMessageTokens(m.content), REPLY_PRIMING_TOKENS) };
      },
      model: persona.model,
      temperature: 0.2,
      maxTokens: CHAPTER_MAX_TOKENS,
      queueKey: scope.roomId,
      priority: 'background',
      label: `summary of ${scope.roomId} for ${persona.name}`,
    });
    return { text: completion.text.trim(), messages };
  }
}

/** The oldest messages whose transcript lines fit the budget (at least one, cut if needed). */
function fitTranscript(messages: StoredMessage[], budgetTokens: number): StoredMessage[] {
  const out: StoredMessage[] = [];
  let used = 0;
  for (const m of messages) {
    const cost = estimateTokens(transcriptLine(m)) + 1;
    if (used + cost > budgetTokens) {
      if (out.length === 0) out.push({ ...m, body: truncateToTokens(m.body, budgetTokens - 20) });
      break;
    }
    used += cost;
    out.push(m);
  }
  return out;
}

function transcriptLine(m: StoredMessage): string {
  const name = m.displayName ?? m.sender;
  return m.msgtype === 'm.emote' ? `${name}: *${m.body}*` : `${name}: ${m.body}`;
}

function summaryPrompt(persona: Persona, previous: string | null, notes: string, messages: StoredMessage[], leaveOut: string[] = []): ChatTurn[] {
  const forget = leaveOut.length
    ? ` These people asked to be forgotten: do not name or describe them, nor anything about them: ${leaveOut.join(', ')}.`
    : '';
  const system =
    `You keep the memory of ${persona.name}, a persona in a chat. Summarise the conversation excerpt you are given ` +
    `in at most 200 words, in the third person and the past tense. Keep who said what, names, facts learnt about ` +
    `people, decisions, promises and open questions; drop greetings and small talk. Write only the summary.${forget}`;
  const noted = notes
    ? `Notes ${persona.name} keeps separately (always at hand; where the excerpt touches one, say "see note N" instead of repeating it):\n${notes}\n\n`
    : '';
  const context = `${noted}${previous ? `What happened before this excerpt:\n${previous}\n\n` : ''}`;
  const transcript = messages.map(transcriptLine).join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: `${context}Excerpt (${persona.name}'s own messages appear under the name ${persona.name}):\n${transcript}` },
  ];
}
