import type { ChatTurn, CompletionRequest, Completion } from '../llm/LlmClient.js';
import { estimateTokens, truncateToTokens } from '../llm/tokens.js';
import { getLogger } from '../logging.js';
import type { Persona } from '../personas/Persona.js';
import type { MemoryScope, MemoryStore, StoredMessage } from './MemoryStore.js';

const log = getLogger('Summarizer');

export interface SummarizerDeps {
  memory: MemoryStore;
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
 * Rolling summaries: once a scope (a persona's view of a room or thread) has more
 * unsummarised messages than the threshold, its oldest part — all but the newest half of
 * the threshold, so the recent tail stays verbatim — is summarised by the LLM into a
 * chapter, in the background at low priority. A failure is logged and tried again on a later
 * message after a pause; replies never wait for summaries.
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
      due = this.deps.memory.countUnsummarised(scope) > this.deps.summarizeAfterMessages;
    } catch (err) {
      log.warn(`cannot count unsummarised messages of ${persona.name} in ${scope.roomId}: ${String(err)}`);
      return;
    }
    if (!due) return;
    const run = this.summariseWhileDue(persona, scope)
      .then(() => void this.failedAt.delete(key))
      .catch((err: unknown) => {
        this.failedAt.set(key, this.now());
        log.warn(`summary for ${persona.name} in ${scope.roomId} failed; will retry later: ${(err as Error).message ?? String(err)}`);
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

  /** Writes chapters until the scope is under the threshold (a long backlog takes several). */
  private async summariseWhileDue(persona: Persona, scope: MemoryScope): Promise<void> {
    while (this.deps.memory.countUnsummarised(scope) > this.deps.summarizeAfterMessages) {
      if (!(await this.summariseOnce(persona, scope))) return;
    }
  }

  /** One chapter from the oldest unsummarised messages; false when nothing was stored. */
  async summariseOnce(persona: Persona, scope: MemoryScope): Promise<boolean> {
    const { memory } = this.deps;
    const keep = Math.floor(this.deps.summarizeAfterMessages / 2);
    const pending = memory.countUnsummarised(scope);
    if (pending <= keep) return false;
    const previous = memory.chapters(scope, 1)[0]?.summary ?? null;
    const transcriptBudget = this.deps.contextTokens - CHAPTER_MAX_TOKENS - 300 - (previous ? estimateTokens(previous) : 0);
    const messages = fitTranscript(memory.oldestUnsummarised(scope, pending - keep), Math.max(200, transcriptBudget));
    if (messages.length === 0) return false;
    const completion = await this.deps.llm.complete({
      messages: summaryPrompt(persona, previous, messages),
      model: persona.model,
      temperature: 0.2,
      maxTokens: CHAPTER_MAX_TOKENS,
      queueKey: scope.roomId,
      priority: 'background',
      label: `summary of ${scope.roomId} for ${persona.name}`,
    });
    const stored = memory.addChapter(scope, {
      firstMessageId: messages[0]!.id,
      lastMessageId: messages.at(-1)!.id,
      messageCount: messages.length,
      summary: completion.text.trim(),
    });
    if (stored) log.info(`summarised ${messages.length} messages of ${scope.roomId} for ${persona.name}`);
    return stored;
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

function summaryPrompt(persona: Persona, previous: string | null, messages: StoredMessage[]): ChatTurn[] {
  const system =
    `You keep the memory of ${persona.name}, a persona in a chat. Summarise the conversation excerpt you are given ` +
    `in at most 200 words, in the third person and the past tense. Keep who said what, names, facts learnt about ` +
    `people, decisions, promises and open questions; drop greetings and small talk. Write only the summary.`;
  const context = previous ? `What happened before this excerpt:\n${previous}\n\n` : '';
  const transcript = messages.map(transcriptLine).join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: `${context}Excerpt (${persona.name}'s own messages appear under the name ${persona.name}):\n${transcript}` },
  ];
}
