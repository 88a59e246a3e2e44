import { MESSAGE_OVERHEAD_TOKENS } from '../llm/tokens.js';
import type { MemoryScope, MemoryStore, StoredMessage } from './MemoryStore.js';
import type { MessageSearch } from './MessageSearch.js';
import type { NoteStore } from './NoteStore.js';

export interface PromptMemoryDeps {
  memory: Pick<MemoryStore, 'recent' | 'chapters'>;
  /** Omit for no retrieval. */
  search?: Pick<MessageSearch, 'recall'>;
  notes?: Pick<NoteStore, 'forPersona'>;
  /** memory.context_tokens */
  contextTokens: number;
  /** memory.recall_messages: most recalled messages in a prompt (0: none). */
  recallMessages: number;
}

/** What a persona's memory offers one prompt; PromptBuilder decides what fits. */
export interface PromptMemory {
  /** Recent messages of the scope, oldest first, the one being answered last (when stored). */
  history: StoredMessage[];
  chapters: string[];
  notes: string[];
  /** Older messages relevant to the one being answered, best first (more than fit: see below). */
  recalled: StoredMessage[];
}

/** Chapters offered to a prompt (the builder keeps the newest that fit). */
const MAX_CHAPTERS = 20;
/**
 * Recalled candidates fetched per place in the prompt: the newest of them may turn out to be
 * among the recent turns the builder keeps, and are then left out.
 */
const RECALL_OVERFETCH = 3;

/**
 * Reads from memory what a reply's prompt is built from: the scope's recent unsummarised
 * messages up to the one being answered, its chapters, the persona's notes for the room, and
 * the room's older messages most relevant to `answeredText` (as the persona has seen them:
 * since it joined, after its `!forget`). One function for the responder and the benchmarks.
 */
export function gatherPromptMemory(
  deps: PromptMemoryDeps,
  scope: MemoryScope,
  answered: StoredMessage | null,
  answeredText: string,
  /** Marks the end of the reads (`history`) and of the search (`recall`), for the answer timeline. */
  lap?: (stage: 'history' | 'recall') => void,
): PromptMemory {
  // No message costs less than its framing, so more rows than this can never fit.
  const limit = Math.ceil(deps.contextTokens / MESSAGE_OVERHEAD_TOKENS);
  // Messages that arrived after the one being answered wait for their own answer.
  const history = deps.memory.recent(scope, limit, answered?.id);
  // Forgotten or summarised in the meantime, it is still what is being answered.
  if (answered && !history.some((m) => m.id === answered.id)) history.push(answered);
  if (answered) history.push(...answersSince(deps.memory, scope, answered, limit));
  const chapters = deps.memory.chapters(scope, MAX_CHAPTERS).map((c) => c.summary);
  const notes = deps.notes?.forPersona(scope.roomId, scope.personaId).map((n) => n.body) ?? [];
  lap?.('history');
  let recalled: StoredMessage[] = [];
  if (deps.search && deps.recallMessages > 0 && answeredText.trim()) {
    const where = { roomId: scope.roomId, personaId: scope.personaId, beforeId: answered?.id };
    recalled = deps.search.recall(answeredText, where, deps.recallMessages * RECALL_OVERFETCH).map((h) => h.message);
  }
  lap?.('recall');
  return { history, chapters, notes, recalled };
}

/**
 * The persona messages that came right after the one being answered (the answers of the
 * personas mentioned before this one in the same message): several personas answer in turn,
 * each seeing the answers before it. A person's later message ends it: that waits for its own
 * answer.
 */
function answersSince(memory: Pick<MemoryStore, 'recent'>, scope: MemoryScope, answered: StoredMessage, limit: number): StoredMessage[] {
  const after: StoredMessage[] = [];
  for (const m of memory.recent(scope, limit)) {
    if (m.id <= answered.id) continue;
    if (!m.fromPersona) break;
    // Its own earlier answer to this message is what a regenerated answer replaces.
    if (m.sender !== scope.personaId) after.push(m);
  }
  return after;
}
