/**
 * The composition of replies (part of the composition root, compose.ts): usage accounting and
 * caps, the per-person budget, summaries, the guard on memory writes, tools, and the persona
 * responder that writes every answer.
 */
import type { BridgeConfig } from '../config/Config.js';
import { chargeToolRound, RateLimiter } from '../dispatch/RateLimiter.js';
import type { FeedbackStore } from '../feedback/FeedbackStore.js';
import type { LlmRouter } from '../llm/LlmRouter.js';
import type { LoreStore } from '../lore/LoreStore.js';
import type { PersonaMedia } from '../media/PersonaMedia.js';
import { personaLore } from '../lore/personaLore.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import { MessageRecorder } from '../memory/MessageRecorder.js';
import type { MessageSearch } from '../memory/MessageSearch.js';
import type { NoteStore } from '../memory/NoteStore.js';
import { Summarizer } from '../memory/Summarizer.js';
import { responderMetricsHooks } from '../metrics/bridgeHooks.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { DescriptionStore } from '../people/DescriptionStore.js';
import type { DisclosureStore } from '../people/DisclosureStore.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import type { PersonaCardStore } from '../portability/PersonaCardStore.js';
import { checkDatabaseWritable } from '../probes/databaseHealth.js';
import { AnswerControls } from '../reply/AnswerControls.js';
import { BackendNotices } from '../reply/BackendNotices.js';
import { disclosureNote } from '../reply/messages.js';
import { PersonaResponder } from '../reply/PersonaResponder.js';
import type { RoomVoice } from '../rooms/RoomVoice.js';
import { probeWrite, type Db } from '../store/Database.js';
import type { GroupCommit } from '../store/GroupCommit.js';
import { UsageAccounting } from '../usage/UsageAccounting.js';
import { UsageStore } from '../usage/UsageStore.js';
import { composeTools, type Tools } from './composeTools.js';

export interface ReplyParts {
  config: BridgeConfig;
  db: Db;
  botUserId: string;
  isAdmin(userId: string): boolean;
  llm: LlmRouter;
  metrics: Metrics | null;
  matrix: MatrixGateway;
  members: RoomMembers;
  voice: RoomVoice;
  personas: PersonaStore;
  memory: MemoryStore;
  search: MessageSearch;
  notes: NoteStore;
  descriptions: DescriptionStore;
  disclosures: DisclosureStore;
  feedback: FeedbackStore;
  cards: PersonaCardStore;
  lore: LoreStore;
  commits: GroupCommit;
  /** Images, files and voice: what the responder reads of a message's attachment and how it speaks. */
  media: PersonaMedia;
  pingAppservice(): Promise<void>;
}

export interface Replies {
  usage: { store: UsageStore; caps: { personaDailyTokens: number; userDailyTokens: number } };
  /** One budget per person: their messages, the turns of scenes they start, !next, 🔁 and rounds of tools. */
  personBudget: RateLimiter;
  summarizer: Summarizer;
  /** Failed database writes (a full disk): told to each room once per episode, and the recovery. */
  memoryWrites: MemoryWriteGuard;
  tools: Tools;
  controls: AnswerControls;
  /** Remembers every message of rooms with a persona (a pipeline step). */
  recorder: MessageRecorder;
  responder: PersonaResponder;
}

export function composeReplies(parts: ReplyParts): Replies {
  const { config, db, llm, metrics, memory, search, notes, personas, disclosures, feedback } = parts;
  const usageStore = new UsageStore(db);
  const usageCaps = { personaDailyTokens: config.usage.persona_daily_tokens, userDailyTokens: config.usage.user_daily_tokens };
  const usage = new UsageAccounting(usageStore, usageCaps, parts.isAdmin);
  const summarizer = new Summarizer({
    memory,
    notes,
    llm,
    summarizeAfterMessages: config.memory.summarize_after_messages,
    contextTokens: config.memory.context_tokens,
  });
  const memoryWrites = new MemoryWriteGuard({
    notify: async (roomId, text) => void (await parts.voice.notice(roomId, text)),
    onWriteFailed: (code) => metrics?.memoryWriteFailed(code),
    // While writes fail, every transaction is refused and nothing else writes: the probe
    // notices that space is back, and the ping makes the homeserver redeliver at once.
    probe: () => checkDatabaseWritable({ path: config.database.path, probeWrite: () => probeWrite(db) }),
    onRecovered: parts.pingAppservice,
  });
  const personBudget = new RateLimiter({ limit: config.dispatch.user_rate_limit.messages, windowMs: config.dispatch.user_rate_limit.window_seconds * 1000 });
  const tools = composeTools({
    ...{ config, db, matrix: parts.matrix, llm, metrics, search, notes },
    // Each further round counts: against the daily caps and as a message of the person's rate limit.
    mayContinue: (personaId, userId) =>
      usage.capReached(personaId, userId) === null && chargeToolRound(personBudget, (id) => personas.byUserId(id) !== undefined, userId),
  });
  const controls = new AnswerControls();
  // A new message's write waits until an answer's model request has left (the answer reads the queued message instead).
  const recorder = new MessageRecorder({
    memory,
    personas,
    writes: memoryWrites,
    commit: (write) => parts.commits.run(write),
    commitLater: (write) => parts.commits.later(write),
  });
  const responder = new PersonaResponder({
    tools: tools.answering,
    recording: recorder,
    media: parts.media,
    controls,
    typingDelayMs: config.replies.typing_delay_ms,
    live: { enabled: (persona) => (persona.live ?? config.replies.live) && config.llm.stream },
    people: (roomId, userIds) => parts.descriptions.forPrompt(roomId, userIds),
    disclosure: {
      noteFor: (persona, userId) =>
        config.disclosure === 'first_contact' && !disclosures.told(persona.userId, userId) ? disclosureNote(persona.name, config.homeserver.domain) : null,
      told: (persona, userId) => disclosures.markTold(persona.userId, userId),
    },
    examples: (personaId) => feedback.starredAnswers(personaId, { anyone: config.feedback.star_examples === 'anyone', limit: config.feedback.examples }),
    lore: personaLore({ cardBook: (personaId) => parts.cards.get(personaId).card.character_book, attachedBooks: (personaId, roomId) => parts.lore.booksFor(personaId, roomId) }),
    llm,
    memory,
    search,
    notes,
    recallMessages: config.memory.recall_messages,
    summarizer,
    matrix: parts.matrix,
    members: parts.members,
    personas,
    botUserId: parts.botUserId,
    contextTokens: config.memory.context_tokens,
    usage,
    backendNotices: new BackendNotices((backend) => llm.backends.find((b) => b.name === backend)?.notice ?? null),
    commandPrefix: config.commands.prefix,
    writes: memoryWrites,
    ...responderMetricsHooks(metrics),
  });
  return { usage: { store: usageStore, caps: usageCaps }, personBudget, summarizer, memoryWrites, tools, controls, recorder, responder };
}
