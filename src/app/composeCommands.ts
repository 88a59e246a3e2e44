/**
 * The composition of the command table (part of the composition root, compose.ts): every
 * command of the bot and the personas, each feature's commands with what they act on.
 */
import { answerCommands } from '../commands/answerCommands.js';
import type { CommandTable, HelpWhere } from '../commands/CommandTable.js';
import { statusCommand } from '../commands/statusCommand.js';
import { botAbsentHelpNote, coreCommands } from '../commands/coreCommands.js';
import { feedbackCommands } from '../commands/feedbackCommands.js';
import { loreCommands } from '../commands/loreCommands.js';
import { meCommands } from '../commands/meCommands.js';
import { memoriesCommands, type MemoriesDeps } from '../commands/memoriesCommands.js';
import { memoryCommands } from '../commands/memoryCommands.js';
import { nextCommands } from '../commands/nextCommands.js';
import { backfillCommand, operationsCommands } from '../commands/operationsCommands.js';
import { personaCommands } from '../commands/personaCommands.js';
import { portabilityCommands } from '../commands/portabilityCommands.js';
import { recallCommands } from '../commands/recallCommands.js';
import { roomCommands } from '../commands/roomCommands.js';
import { sceneCommands } from '../commands/sceneCommands.js';
import type { BridgeConfig } from '../config/Config.js';
import { defaultTurnBudget, type Dispatcher } from '../dispatch/Dispatcher.js';
import { rateLimitNotice } from '../dispatch/messages.js';
import type { RateLimiter } from '../dispatch/RateLimiter.js';
import { describeCounts, type FeedbackStore } from '../feedback/FeedbackStore.js';
import { logFile } from '../logging.js';
import type { LoreStore } from '../lore/LoreStore.js';
import { asRoomEvent, type RoomEvent } from '../matrix/events.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import type { MessageSearch } from '../memory/MessageSearch.js';
import type { NoteStore } from '../memory/NoteStore.js';
import { PersonMemory } from '../memory/PersonMemory.js';
import type { LlmRouter } from '../llm/LlmRouter.js';
import type { RoomQueue } from '../pipeline/RoomQueue.js';
import { ModelStatus } from '../probes/modelStatus.js';
import { hasForgetHorizon, storeBackfill } from '../memory/backfill.js';
import { MemoryPurge, roomOverview } from '../memory/purge.js';
import type { Summarizer } from '../memory/Summarizer.js';
import type { DescriptionStore } from '../people/DescriptionStore.js';
import type { DisclosureStore } from '../people/DisclosureStore.js';
import type { PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import { personaIdFromUserId } from '../personas/personaName.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import type { PersonaCardStore } from '../portability/PersonaCardStore.js';
import type { AnswerControls } from '../reply/AnswerControls.js';
import { describeOrder } from '../rooms/roomSettings.js';
import type { RoomSettingsStore } from '../rooms/RoomSettingsStore.js';
import type { RoomVoice } from '../rooms/RoomVoice.js';
import type { SceneDirector } from '../scenes/SceneDirector.js';
import type { Db } from '../store/Database.js';
import type { ToolApprovals } from '../tools/ToolApprovals.js';
import type { ToolCatalog } from '../tools/ToolCatalog.js';
import { toolCommands } from '../tools/toolCommands.js';
import { usageCommands } from '../usage/usageCommands.js';
import type { UsageStore } from '../usage/UsageStore.js';

export interface CommandParts {
  config: BridgeConfig;
  db: Db;
  botUserId: string;
  isOurUser(userId: string): boolean;
  startedAt: number;
  /** The kind of room a command comes from (commandWhere). */
  where(roomId: string): Promise<HelpWhere>;
  llm: LlmRouter;
  /** Room events waiting (`!status`). */
  eventQueue: RoomQueue;
  matrix: MatrixGateway;
  members: RoomMembers;
  voice: RoomVoice;
  roomSettings: RoomSettingsStore;
  personas: PersonaStore;
  lifecycle: PersonaLifecycle;
  cards: PersonaCardStore;
  lore: LoreStore;
  memory: MemoryStore;
  search: MessageSearch;
  notes: NoteStore;
  summarizer: Summarizer;
  descriptions: DescriptionStore;
  disclosures: DisclosureStore;
  feedback: FeedbackStore;
  usage: { store: UsageStore; caps: { personaDailyTokens: number; userDailyTokens: number } };
  controls: AnswerControls;
  tools: { catalog: ToolCatalog; approvals: ToolApprovals };
  dispatcher: Dispatcher;
  scenes: SceneDirector;
  /** The per-person rate limit: a scene is refused when its starter's is spent. */
  personBudget: RateLimiter;
}

/** The kind of room a command comes from (direct or group, the bot there or not), for help and typos. */
export function commandWhere(
  parts: Pick<CommandParts, 'botUserId' | 'members' | 'voice' | 'roomSettings'> & { prefix: string },
): (roomId: string) => Promise<HelpWhere> {
  const { botUserId, members, voice, roomSettings, prefix } = parts;
  return async (roomId) => {
    const botHere = await voice.botIsIn(roomId);
    const room = members.joined(roomId).length <= 2 ? 'direct' : 'group';
    const bot = botHere ? {} : { botHere: false, botNote: botAbsentHelpNote(botUserId, prefix) };
    if (room === 'direct') return { room, ...bot };
    await roomSettings.ensureLoaded(roomId).catch(() => undefined);
    return { room: 'group', note: describeOrder(roomSettings.get(roomId), prefix), ...bot };
  };
}

/** Fills the one table of the bot's and the personas' commands (help, the classifier and the runner read it). */
export function addCommands(commands: CommandTable, parts: CommandParts): void {
  const { config, botUserId, members, roomSettings, personas, lifecycle, feedback, descriptions } = parts;
  const prefix = commands.prefix;
  const isDirectRoom = async (roomId: string) => {
    await members.ensureLoaded(roomId).catch(() => undefined);
    return members.joined(roomId).length <= 2;
  };
  commands.add(...coreCommands({ commands, startedAt: parts.startedAt, helpWhere: parts.where }));
  const { llm, dispatcher } = parts;
  const modelStatus = new ModelStatus(llm.backends);
  commands.add(
    statusCommand({
      startedAt: parts.startedAt,
      personas: () => personas.list(),
      route: (model) => {
        const route = llm.route(model);
        return { ...route, label: llm.label(model), baseUrl: llm.backends.find((b) => b.name === route.backend)!.base_url };
      },
      modelProblem: (backend, model) => modelStatus.problem(backend, model),
      encryption: config.encryption.enabled,
      queues: () => ({ answers: dispatcher.queuedAnswers, llmActive: llm.stats().active, llmWaiting: llm.stats().waiting, roomsBusy: parts.eventQueue.activeRooms }),
      toolServers: () => parts.tools.catalog.status(),
    }),
  );
  commands.add(
    ...personaCommands({
      lifecycle,
      store: personas,
      prefix,
      modelLabel: (model) => llm.label(model),
      personaId: (userId) => personaIdFromUserId(userId, config),
      toolServers: () => parts.tools.catalog.serverNames(),
      feedback: (userId) => describeCounts(feedback.counts(userId)),
      disclosure: config.disclosure === 'first_contact' ? 'an AI character run by this server, said in its first answer to each person in a direct chat' : 'off (disclosure: off)',
    }),
  );
  commands.add(...feedbackCommands({ feedback, personas, prefix }));
  commands.add(...toolCommands(parts.tools.approvals));
  const importMedia = {
    download: (mxc: string, maxBytes: number, timeoutMs: number) => parts.matrix.downloadMedia(mxc, maxBytes, timeoutMs),
    getEvent: (roomId: string, eventId: string) => parts.matrix.getEvent(botUserId, roomId, eventId),
  };
  commands.add(...portabilityCommands({ lifecycle, store: personas, cards: parts.cards, media: importMedia, lore: parts.lore }));
  commands.add(...loreCommands({ lore: parts.lore, personas, media: importMedia, prefix }));
  commands.add(...meCommands({ descriptions, isDirect: isDirectRoom, prefix }));
  commands.add(
    ...operationsCommands({
      purge: new MemoryPurge(parts.db),
      rooms: () => roomOverview(parts.db),
      store: personas,
      lifecycle,
      personasDirectory: config.personas.directory,
      members,
      logFile,
    }),
  );
  commands.add(
    backfillCommand({
      store: personas,
      memory: {
        hasForgetHorizon: (roomId) => hasForgetHorizon(parts.db, roomId),
        store: (roomId, events, filter) => storeBackfill(parts.db, roomId, events, filter),
      },
      history: {
        page: async (roomId, from, limit) => {
          // As a persona in the room: the bot is often not in it.
          const asUser = personas.personasInRoom(roomId)[0] ?? botUserId;
          const page = await parts.matrix.messagesBackward(asUser, roomId, from, limit);
          return { events: page.chunk.map(asRoomEvent).filter((e): e is RoomEvent => e !== null), end: page.end };
        },
      },
      // The recorder's rules: conversation only, never commands or our notices.
      filter: {
        isPersona: (userId) => personas.byUserId(userId) !== undefined,
        keep: (event, message) =>
          parts.isOurUser(event.sender)
            ? message.msgtype !== 'm.notice' && personas.byUserId(event.sender) !== undefined
            : commands.classify(message.body) === null,
      },
    }),
  );
  const peopleMemory: MemoriesDeps = {
    people: new PersonMemory(parts.db, { descriptions, feedback, disclosures: parts.disclosures }),
    personas: { byUserId: (id) => personas.byUserId(id), recordByName: (name) => personas.recordByName(name), rooms: (id) => personas.rooms(id) },
    isDirect: isDirectRoom,
    rewrite: (scope) => {
      const persona = personas.byUserId(scope.personaId);
      if (persona) parts.summarizer.schedule(persona, scope);
    },
    prefix,
  };
  commands.add(...memoriesCommands(peopleMemory));
  commands.add(...memoryCommands({ memory: parts.memory, personas, members, summarizeAfterMessages: config.memory.summarize_after_messages, people: peopleMemory }));
  commands.add(...recallCommands({ notes: parts.notes, search: parts.search }, prefix));
  commands.add(...answerCommands(parts.controls));
  commands.add(...usageCommands({ store: parts.usage.store, caps: parts.usage.caps, personaName: (userId) => personas.byUserId(userId)?.name, isOurUser: parts.isOurUser }));
  commands.add(...roomCommands({ settings: roomSettings, personas, defaultTurnBudget: defaultTurnBudget(config.dispatch), prefix }));
  const { scenes, personBudget } = parts;
  commands.add(...nextCommands({ answerNow: (command, name) => dispatcher.answerNow(command, name) }));
  commands.add(
    ...sceneCommands({
      speakers: (roomId) => dispatcher.speakersIn(roomId),
      turnLimit: (roomId) => dispatcher.turns.limitFor(roomId),
      start: (start) => void scenes.start(start),
      refusal: (personId) => (personBudget.hasRoom(personId) ? null : rateLimitNotice(config.dispatch.user_rate_limit, prefix)),
      prefix,
    }),
  );
}
