/**
 * The composition root: the one place that knows every service and wires them with explicit
 * constructor dependencies. Order matters and is the order below: the database (migrated)
 * first, then stores, Matrix access, personas, replies, commands, and last the event
 * pipeline that ties them together.
 */
import { resolve as resolvePath } from 'node:path';
import { AppServiceRegistration, Bridge, type Request, type WeakEvent } from 'matrix-appservice-bridge';
import { CommandTable, type HelpWhere } from '../commands/CommandTable.js';
import { BotCommandStep } from '../commands/BotCommandStep.js';
import { runCommand } from '../commands/CommandRunner.js';
import { runUnaddressedCommand } from '../commands/unaddressedCommands.js';
import { statusCommand } from '../commands/statusCommand.js';
import { ModelStatus } from '../probes/modelStatus.js';
import { threadRootId } from '../matrix/relations.js';
import { botAbsentHelpNote, coreCommands } from '../commands/coreCommands.js';
import { backfillCommand, operationsCommands } from '../commands/operationsCommands.js';
import { portabilityCommands } from '../commands/portabilityCommands.js';
import { loreCommands } from '../commands/loreCommands.js';
import { meCommands } from '../commands/meCommands.js';
import { memoriesCommands, type MemoriesDeps } from '../commands/memoriesCommands.js';
import { PersonMemory } from '../memory/PersonMemory.js';
import { feedbackCommands } from '../commands/feedbackCommands.js';
import { describeCounts, FeedbackStore } from '../feedback/FeedbackStore.js';
import { FeedbackStep } from '../feedback/FeedbackStep.js';
import { DescriptionStore } from '../people/DescriptionStore.js';
import { DisclosureStore } from '../people/DisclosureStore.js';
import { disclosureNote } from '../reply/messages.js';
import { memoryCommands } from '../commands/memoryCommands.js';
import { recallCommands } from '../commands/recallCommands.js';
import { personaCommands } from '../commands/personaCommands.js';
import { roomCommands } from '../commands/roomCommands.js';
import { nextCommands } from '../commands/nextCommands.js';
import { sceneCommands } from '../commands/sceneCommands.js';
import { SceneDirector } from '../scenes/SceneDirector.js';
import type { Persona } from '../personas/Persona.js';
import { describeOrder, isMuted, maySendMessages, talkativenessIn } from '../rooms/roomSettings.js';
import { RoomSettingsStep } from '../rooms/RoomSettingsStep.js';
import { RoomSettingsStore } from '../rooms/RoomSettingsStore.js';
import { RoomVoice } from '../rooms/RoomVoice.js';
import { AdminServer } from '../admin/AdminServer.js';
import { ConsoleCommands } from '../admin/ConsoleCommands.js';
import { adminSocketPath, botUserId as botUserIdOf, type BridgeConfig } from '../config/Config.js';
import { EndToEndEncryption } from '../crypto/EndToEndEncryption.js';
import { EncryptionDisabledHandler, SqliteNoticeLedger, UndecryptableNotices } from '../crypto/UndecryptableNotices.js';
import { defaultTurnBudget, Dispatcher } from '../dispatch/Dispatcher.js';
import { rateLimitNotice } from '../dispatch/messages.js';
import { RateLimiter } from '../dispatch/RateLimiter.js';
import { DEFAULT_TALKATIVENESS } from '../dispatch/speakerOrder.js';
import { resolveBackends } from '../llm/backends.js';
import { UsageAccounting } from '../usage/UsageAccounting.js';
import { usageCommands } from '../usage/usageCommands.js';
import { UsageStore } from '../usage/UsageStore.js';
import { LlmRouter } from '../llm/LlmRouter.js';
import { buildIngress } from '../ingress/Ingress.js';
import { IngressAppService } from '../ingress/IngressAppService.js';
import { describeShape } from '../ingress/transactionShape.js';
import { metricsRoute } from '../metrics/metricsEndpoint.js';
import { databaseHealthCheck } from '../probes/databaseHealth.js';
import { homeserverHealthCheck } from '../probes/homeserverHealth.js';
import { getLogger, logFile } from '../logging.js';
import { registerSecret } from '../redaction.js';
import { configuredSecrets } from '../config/secrets.js';
import { asRoomEvent, type RoomEvent } from '../matrix/events.js';
import { MatrixGateway } from '../matrix/MatrixGateway.js';
import { RoomMembers } from '../matrix/RoomMembers.js';
import { MemoryStore } from '../memory/MemoryStore.js';
import { MessageIndex } from '../memory/MessageIndex.js';
import { MessageSearch } from '../memory/MessageSearch.js';
import { NoteStore } from '../memory/NoteStore.js';
import { MemoryPurge } from '../memory/purge.js';
import { MessageRecorder } from '../memory/MessageRecorder.js';
import { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import { Summarizer } from '../memory/Summarizer.js';
import { llmMetricsOptions, personaRoomCount, responderMetricsHooks } from '../metrics/bridgeHooks.js';
import { Metrics } from '../metrics/Metrics.js';
import { AnswerTimelines } from '../metrics/AnswerTimeline.js';
import { PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import { PersonaManager } from '../personas/PersonaManager.js';
import { PersonaMembershipHandler } from '../personas/PersonaMembershipHandler.js';
import { PersonaStore } from '../personas/PersonaStore.js';
import { FirstMessages } from '../portability/FirstMessages.js';
import { personaLore } from '../lore/personaLore.js';
import { LoreStore } from '../lore/LoreStore.js';
import { PersonaCardStore } from '../portability/PersonaCardStore.js';
import { DedupeStep } from '../pipeline/DedupeStep.js';
import { EventPipeline } from '../pipeline/EventPipeline.js';
import { InboundEvents } from '../pipeline/InboundEvent.js';
import type { EventStep } from '../pipeline/EventStep.js';
import { RoomMembershipStep } from '../pipeline/RoomMembershipStep.js';
import { RoomQueue } from '../pipeline/RoomQueue.js';
import { AnswerControls } from '../reply/AnswerControls.js';
import { PersonaResponder } from '../reply/PersonaResponder.js';
import { BackendNotices } from '../reply/BackendNotices.js';
import { personaIdFromUserId } from '../personas/personaName.js';
import { ReactionControlStep } from '../reply/ReactionControlStep.js';
import { answerCommands } from '../commands/answerCommands.js';
import { noticeContent } from '../reply/replyContent.js';
import { openDatabase, probeWrite, type Db, type Migration } from '../store/Database.js';
import { checkDatabaseWritable } from '../probes/databaseHealth.js';
import { GroupCommit } from '../store/GroupCommit.js';
import { PendingEventStore } from '../store/PendingEventStore.js';
import { ReceivedMessages } from '../store/ReceivedMessages.js';
import { ProcessedEventStore } from '../store/ProcessedEventStore.js';
import { ApprovalStep } from '../tools/ApprovalStep.js';
import { ImageTools, MemoryTools, type ToolImageSender } from '../tools/builtinTools.js';
import { ToolAnswering } from '../tools/ToolAnswering.js';
import { ToolApprovals } from '../tools/ToolApprovals.js';
import { ToolCatalog } from '../tools/ToolCatalog.js';
import { toolCommands } from '../tools/toolCommands.js';
import { ToolLoop } from '../tools/ToolLoop.js';
import { ToolRunStore } from '../tools/ToolRunStore.js';
import { ToolServers } from '../tools/ToolServers.js';
import { approvalPatterns } from '../tools/toolConfig.js';
import { relationFor } from '../reply/replyContent.js';
import { PersonaBridge } from './PersonaBridge.js';
import type { Services } from './Services.js';

const log = getLogger('compose');

export interface ComposeOptions {
  config: BridgeConfig;
  registration: AppServiceRegistration;
  /** Overrides config.appservice.port (the Cli's -p). */
  port?: number;
  migrations?: Migration[];
}

/** Opens and migrates the database, builds every service and the bridge that serves them. */
export function compose(opts: ComposeOptions): PersonaBridge {
  const db = openDatabase(opts.config.database.path, opts.migrations, { cacheMib: opts.config.database.cache_mb });
  try {
    return composeWith(db, opts);
  } catch (err) {
    db.close();
    throw err;
  }
}

function composeWith(db: Db, opts: ComposeOptions): PersonaBridge {
  const { config, registration } = opts;
  // Known from here on, these never reach a log line or a chat message (src/redaction.ts).
  for (const secret of [registration.getAppServiceToken(), registration.getHomeserverToken(), ...configuredSecrets(config)]) registerSecret(secret);
  const botUserId = botUserIdOf(config);
  const isAdmin = (userId: string): boolean => config.admins.includes(userId);
  const isOurUser = (userId: string): boolean => userId === botUserId || registration.isUserMatch(userId, true);
  const isPersonaUserId = (userId: string): boolean => userId !== botUserId && registration.isUserMatch(userId, true);

  // --- Storage ---
  const processed = new ProcessedEventStore(db);
  const pending = new PendingEventStore(db);
  // The one write before anyone answers a message: processed and pending, as its transaction arrives.
  const received = new ReceivedMessages(db, processed, pending);
  // The per-event writes of the pipeline, committed together (see GroupCommit).
  const commits = new GroupCommit(db);
  const personas = new PersonaStore(db);
  const cards = new PersonaCardStore(db);
  const lore = new LoreStore(db);
  const descriptions = new DescriptionStore(db);
  const feedback = new FeedbackStore(db);
  const disclosures = new DisclosureStore(db);
  // Messages a crash or an upgrade left unindexed are indexed before anything is served.
  const messageIndex = new MessageIndex(db);
  const indexed = messageIndex.flush();
  if (indexed > 0) log.info(`indexed ${indexed} stored messages for search`);
  const memory = new MemoryStore(db, messageIndex);
  const search = new MessageSearch(db, messageIndex);
  const notes = new NoteStore(db);

  // --- Matrix ---
  // The pipeline is built below; the library calls back into it only once listening.
  let pipeline: EventPipeline | null = null;
  const eventQueue = new RoomQueue();
  const bridge = new Bridge({
    homeserverUrl: config.homeserver.url,
    domain: config.homeserver.domain,
    registration,
    // Our own SQLite store replaces the bridge's NeDB stores.
    disableStores: true,
    disableContext: true,
    // Personas must see each other's messages (conversations between personas, loops).
    suppressEcho: false,
    // Events reach onEvent in arrival order; eventQueue keeps each room in order itself. The
    // library's per_room queue does not wait for a request to be resolved, only for its
    // (disabled) context, and walks every room it has ever seen on each event: at 10,000
    // rooms that cost more than handling the event (BENCHMARKS.md).
    queue: { type: 'none', perRequest: true },
    controller: {
      onEvent: (request: Request<WeakEvent>) => onEvent(request),
      onLog: (text: string, isError: boolean) => (isError ? log.warn(text) : log.debug(text)),
    },
  });
  // The metrics are made further down; the hook only reads them once a send is dropped.
  const matrix = new MatrixGateway(bridge, botUserId, { onSendDropped: () => metrics?.sendDropped() });
  const members = new RoomMembers(async (roomId) => {
    // As one of our users in the room: personas recorded there first (most rooms with
    // personas, every DM with one, do not have the bot, and asking as the bot there costs a
    // refused request per room loaded), else the bot.
    let lastError: unknown;
    for (const userId of [...personas.personasInRoom(roomId), botUserId]) {
      try {
        return await matrix.joinedMembers(userId, roomId);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(`cannot load members of ${roomId}`);
  });
  // Who speaks for the bridge in a room (notices, command answers, scene messages): one rule.
  const voice = new RoomVoice({
    botUserId,
    members,
    personasIn: (roomId) => personas.personasInRoom(roomId),
    sendNotice: (userId, roomId, text, html) => matrix.sendNotice(userId, roomId, text, html),
  });

  // --- Room settings (room state) ---
  const roomSettings = new RoomSettingsStore({
    state: { getState: (u, r, t, k) => matrix.getState(u, r, t, k), putState: (u, r, t, k, c) => matrix.putState(u, r, t, k, c) },
    // The bot first (rooms usually give it the power to set state), then the personas there.
    ourUsersIn: (roomId) => voice.ourUsersIn(roomId),
    report: async (roomId, text) => void (await voice.notice(roomId, text)),
  });

  // --- Personas ---
  const personaMatrix = new PersonaManager(matrix);
  const lifecycle = new PersonaLifecycle({
    store: personas,
    matrix: personaMatrix,
    config,
    fetchPolicy: {
      allowPrivate: config.fetch.allow_private_addresses,
      fileDirectory: resolvePath(config.fetch.file_directory ?? config.personas.directory),
    },
    // Its summaries and forget horizons are its own; messages stay for the room's other personas.
    onDespawned: (userId) => {
      memory.forgetPersona(userId);
      cards.forgetGreetings(userId);
      lore.forgetPersona(userId);
    },
    // Called only once serving (llm is built below).
    promptBudget: async (model) => {
      const { budget, label } = await llm.promptBudget(model);
      return { budget, source: { model: label, contextTokens: budget.contextTokens, promptCap: config.memory.context_tokens } };
    },
  });

  // A card's first message opens each new DM with the persona.
  const firstMessages = new FirstMessages({
    cards,
    displayName: async (roomId, userId) => {
      await members.ensureLoaded(roomId).catch(() => undefined);
      return members.displayName(roomId, userId) ?? null;
    },
    send: async (personaId, roomId, text) => void (await matrix.sendEvent(personaId, roomId, 'm.room.message', { msgtype: 'm.text', body: text })),
  });

  // --- Metrics ---
  const metrics = config.metrics.enabled ? new Metrics() : null;
  // Where each message's time goes until its model request leaves (started by the transaction inbox).
  const timelines = new AnswerTimelines();

  // --- Encryption ---
  const undecryptable = new UndecryptableNotices({
    ledger: new SqliteNoticeLedger(db),
    speakerFor: async (roomId) => (await voice.voiceFor(roomId))?.userId ?? null,
    sendNotice: (userId, roomId, text) => matrix.sendNotice(userId, roomId, text),
    onUndecryptable: (reason) => metrics?.undecryptableEvent(reason),
    onNoticeSent: (reason) => metrics?.undecryptableNotice(reason),
  });
  // On: personas and the bot read and answer encrypted rooms. Off: such rooms are told once
  // that they cannot be read (EncryptionDisabledHandler below).
  const encryption = config.encryption.enabled
    ? new EndToEndEncryption({
        db,
        storePath: config.encryption.store_path,
        http: { request: (userId, deviceId, method, path, body) => matrix.deviceRequest(userId, deviceId, method, path, body) },
        isOurUser,
        ourUsersInRoom: (roomId) => voice.ourUsersIn(roomId),
        joinedMembers: async (roomId) => {
          await members.ensureLoaded(roomId);
          return members.joined(roomId);
        },
        usersAtStart: () => [botUserId, ...personas.list().map((p) => p.userId)],
        roomsOf: (userId) => personas.rooms(userId),
        notices: undecryptable,
        ping: async () => {
          const appserviceId = registration.getId();
          if (appserviceId) await matrix.pingAppservice(appserviceId);
        },
      })
    : null;
  if (encryption) {
    matrix.setEncryptor(encryption.encrypt);
    matrix.setJoinGate(encryption.beforeJoin);
  }

  // --- Replies ---
  const usageStore = new UsageStore(db);
  const usageCaps = { personaDailyTokens: config.usage.persona_daily_tokens, userDailyTokens: config.usage.user_daily_tokens };
  const usage = new UsageAccounting(usageStore, usageCaps, isAdmin);
  const llm = new LlmRouter(resolveBackends(config.llm), (backend) => ({ promptCap: config.memory.context_tokens, maxAnswerChars: config.llm.max_answer_chars, ...llmMetricsOptions(metrics, backend) }));
  const summarizer = new Summarizer({
    memory,
    notes,
    llm,
    summarizeAfterMessages: config.memory.summarize_after_messages,
    contextTokens: config.memory.context_tokens,
  });
  // A full disk (or read-only database) is told to each room once per episode, not silently.
  const memoryWrites = new MemoryWriteGuard({
    notify: async (roomId, text) => void (await voice.notice(roomId, text)),
    onWriteFailed: (code) => metrics?.memoryWriteFailed(code),
    // While writes fail, every transaction is refused and nothing else writes: the probe
    // notices that space is back, and the ping makes the homeserver redeliver at once.
    probe: () => checkDatabaseWritable({ path: config.database.path, probeWrite: () => probeWrite(db) }),
    onRecovered: async () => {
      const appserviceId = registration.getId();
      if (appserviceId) await matrix.pingAppservice(appserviceId);
    },
  });
  // --- Tools (MCP servers, built-in tools) ---
  const toolServers = new ToolServers(config.tools.mcp_servers, (server) => ({
    onRestart: () => metrics?.toolServerRestarted(server),
  }));
  const toolRuns = new ToolRunStore(db);
  const approvals = new ToolApprovals();
  const sendImage: ToolImageSender = async (context, image) => {
    const url = await matrix.uploadContent(image.data, image.mimetype, image.name, context.personaId);
    const relation = relationFor({ eventId: context.eventId, sender: context.requester, threadRootId: context.threadRootId, isDirect: context.isDirect, mentionSender: false }, false);
    const content: Record<string, unknown> = {
      msgtype: 'm.image',
      body: image.description,
      filename: image.name,
      url,
      info: { mimetype: image.mimetype, size: image.data.length },
      'm.mentions': {},
      ...(relation ? { 'm.relates_to': relation } : {}),
    };
    return matrix.sendEvent(context.personaId, context.roomId, 'm.room.message', content);
  };
  const toolCatalog = new ToolCatalog(
    [
      new MemoryTools({ search, notes }),
      ...(config.images.generation ? [new ImageTools(config.images.generation, { sendImage })] : []),
      ...toolServers.connections,
    ],
    { servers: Object.fromEntries(config.tools.mcp_servers.map((s) => [s.name, s.approval])), patterns: approvalPatterns(config.tools) },
  );
  const tools = new ToolAnswering({
    catalog: toolCatalog,
    llm,
    notes: toolRuns,
    loop: new ToolLoop({
      catalog: toolCatalog,
      llm,
      approvals,
      runs: toolRuns,
      commandPrefix: config.commands.prefix,
      limits: {
        maxRounds: config.tools.max_rounds,
        maxCallsPerRound: config.tools.max_calls_per_round,
        callTimeoutMs: config.tools.call_timeout_seconds * 1000,
        timeBudgetMs: config.tools.time_budget_seconds * 1000,
        resultTokens: config.tools.result_tokens,
        approvalTimeoutMs: config.tools.approval_timeout_seconds * 1000,
      },
      onToolCall: (server, tool, outcome, ms) => metrics?.toolCall(server, tool, outcome, ms),
    }),
    // Each further round counts: against the daily caps and as a message of the person's rate limit.
    mayContinue: (personaId, userId) => usage.capReached(personaId, userId) === null && dispatcher.chargeToolRound(userId),
  });

  const controls = new AnswerControls();
  // Remembers every message of rooms with a persona; a new message's write waits until an
  // answer's model request has left (the answer reads the queued message instead).
  const recorder = new MessageRecorder({
    memory,
    personas,
    writes: memoryWrites,
    commit: (write) => commits.run(write),
    commitLater: (write) => commits.later(write),
  });
  const responder = new PersonaResponder({
    tools,
    recording: recorder,
    controls,
    typingDelayMs: config.replies.typing_delay_ms,
    live: { enabled: (persona) => (persona.live ?? config.replies.live) && config.llm.stream },
    people: (roomId, userIds) => descriptions.forPrompt(roomId, userIds),
    disclosure: {
      noteFor: (persona, userId) =>
        config.disclosure === 'first_contact' && !disclosures.told(persona.userId, userId) ? disclosureNote(persona.name, config.homeserver.domain) : null,
      told: (persona, userId) => disclosures.markTold(persona.userId, userId),
    },
    examples: (personaId) => feedback.starredAnswers(personaId, { anyone: config.feedback.star_examples === 'anyone', limit: config.feedback.examples }),
    lore: personaLore({ cardBook: (personaId) => cards.get(personaId).card.character_book, attachedBooks: (personaId, roomId) => lore.booksFor(personaId, roomId) }),
    llm,
    memory,
    search,
    notes,
    recallMessages: config.memory.recall_messages,
    summarizer,
    matrix,
    members,
    personas,
    botUserId,
    contextTokens: config.memory.context_tokens,
    usage,
    backendNotices: new BackendNotices((backend) => llm.backends.find((b) => b.name === backend)?.notice ?? null),
    commandPrefix: config.commands.prefix,
    writes: memoryWrites,
    ...responderMetricsHooks(metrics),
  });
  /** Why a persona stays silent in a room (muted, or not allowed to send), or null. */
  const silencedIn = (roomId: string, persona: Persona): string | null => {
    if (isMuted(roomSettings.get(roomId), persona.name)) return 'muted';
    return maySendMessages(roomSettings.powerLevels(roomId), persona.userId) ? null : 'its power level does not allow sending messages';
  };

  // --- Commands ---
  const startedAt = Date.now();
  // One table for the bot's and the personas' commands: help, the classifier and the runner read it.
  const commands = new CommandTable(config.commands.prefix);
  /** The kind of room a command comes from (direct or group, the bot there or not), for help and typos. */
  const commandWhere = async (roomId: string): Promise<HelpWhere> => {
    const botHere = await voice.botIsIn(roomId);
    const room = members.joined(roomId).length <= 2 ? 'direct' : 'group';
    const bot = botHere ? {} : { botHere: false, botNote: botAbsentHelpNote(botUserId, commands.prefix) };
    if (room === 'direct') return { room, ...bot };
    await roomSettings.ensureLoaded(roomId).catch(() => undefined);
    return { room: 'group', note: describeOrder(roomSettings.get(roomId), commands.prefix), ...bot };
  };
  commands.add(...coreCommands({ commands, startedAt, helpWhere: commandWhere }));
  const modelStatus = new ModelStatus(llm.backends);
  // Read when asked: the dispatcher is built below.
  commands.add(
    statusCommand({
      startedAt,
      personas: () => personas.list(),
      route: (model) => {
        const route = llm.route(model);
        return { ...route, label: llm.label(model), baseUrl: llm.backends.find((b) => b.name === route.backend)!.base_url };
      },
      modelProblem: (backend, model) => modelStatus.problem(backend, model),
      encryption: config.encryption.enabled,
      queues: () => ({ answers: dispatcher.queuedAnswers, llmActive: llm.stats().active, llmWaiting: llm.stats().waiting, roomsBusy: eventQueue.activeRooms }),
      toolServers: () => toolCatalog.status(),
    }),
  );
  commands.add(
    ...personaCommands({
      lifecycle,
      store: personas,
      prefix: config.commands.prefix,
      modelLabel: (model) => llm.label(model),
      personaId: (userId) => personaIdFromUserId(userId, config),
      toolServers: () => toolCatalog.serverNames(),
      feedback: (userId) => describeCounts(feedback.counts(userId)),
      disclosure: config.disclosure === 'first_contact' ? 'an AI character run by this server, said in its first answer to each person in a direct chat' : 'off (disclosure: off)',
    }),
  );
  commands.add(...feedbackCommands({ feedback, personas, prefix: config.commands.prefix }));
  commands.add(...toolCommands(approvals));
  const importMedia = { download: (mxc: string, maxBytes: number) => matrix.downloadContentCapped(mxc, maxBytes), getEvent: (roomId: string, eventId: string) => matrix.getEvent(botUserId, roomId, eventId) };
  commands.add(...portabilityCommands({ lifecycle, store: personas, cards, media: importMedia, lore }));
  commands.add(...loreCommands({ lore, personas, media: importMedia, prefix: config.commands.prefix }));
  const isDirectRoom = async (roomId: string) => {
    await members.ensureLoaded(roomId).catch(() => undefined);
    return members.joined(roomId).length <= 2;
  };
  commands.add(...meCommands({ descriptions, isDirect: isDirectRoom, prefix: config.commands.prefix }));
  commands.add(
    ...operationsCommands({
      db,
      purge: new MemoryPurge(db),
      store: personas,
      lifecycle,
      personasDirectory: config.personas.directory,
      members,
      logFile,
    }),
  );
  commands.add(
    backfillCommand({
      db,
      store: personas,
      history: {
        page: async (roomId, from, limit) => {
          // As a persona in the room: the bot is often not in it.
          const asUser = personas.personasInRoom(roomId)[0] ?? botUserId;
          const page = await matrix.messagesBackward(asUser, roomId, from, limit);
          return { events: page.chunk.map(asRoomEvent).filter((e): e is RoomEvent => e !== null), end: page.end };
        },
      },
      // The recorder's rules: conversation only, never commands or our notices.
      filter: {
        isPersona: (userId) => personas.byUserId(userId) !== undefined,
        keep: (event, message) =>
          isOurUser(event.sender)
            ? message.msgtype !== 'm.notice' && personas.byUserId(event.sender) !== undefined
            : commands.classify(message.body) === null,
      },
    }),
  );
  const peopleMemory: MemoriesDeps = {
    people: new PersonMemory(db, { descriptions, feedback, disclosures }),
    personas: { byUserId: (id) => personas.byUserId(id), recordByName: (name) => personas.recordByName(name), rooms: (id) => personas.rooms(id) },
    isDirect: isDirectRoom,
    rewrite: (scope) => {
      const persona = personas.byUserId(scope.personaId);
      if (persona) summarizer.schedule(persona, scope);
    },
    prefix: config.commands.prefix,
  };
  commands.add(...memoriesCommands(peopleMemory));
  commands.add(...memoryCommands({ memory, personas, members, summarizeAfterMessages: config.memory.summarize_after_messages, people: peopleMemory }));
  commands.add(...recallCommands({ notes, search }, commands.prefix));
  commands.add(...answerCommands(controls));
  commands.add(...usageCommands({ store: usageStore, caps: usageCaps, personaName: (userId) => personas.byUserId(userId)?.name, isOurUser }));
  commands.add(...roomCommands({ settings: roomSettings, personas, defaultTurnBudget: defaultTurnBudget(config.dispatch), prefix: commands.prefix }));
  // The dispatcher is built below; `!next` only runs once the bridge handles events.
  commands.add(...nextCommands({ answerNow: (command, name) => dispatcher.answerNow(command, name) }));
  commands.add(
    ...sceneCommands({
      speakers: (roomId) => dispatcher.speakersIn(roomId),
      turnLimit: (roomId) => dispatcher.turns.limitFor(roomId),
      start: (start) => void scenes.start(start),
      refusal: (personId) => (personBudget.hasRoom(personId) ? null : rateLimitNotice(config.dispatch.user_rate_limit, commands.prefix)),
      prefix: config.commands.prefix,
    }),
  );
  const commandQueue = new RoomQueue();
  const admin = new AdminServer(adminSocketPath(config), new ConsoleCommands(commands, () => personas.list().map((p) => p.name)));

  // --- Dispatch ---
  // One budget per person: their messages, the turns of scenes they start, !next and 🔁.
  const personBudget = new RateLimiter({ limit: config.dispatch.user_rate_limit.messages, windowMs: config.dispatch.user_rate_limit.window_seconds * 1000 });
  const dispatcher: Dispatcher = new Dispatcher({
    rateLimiter: personBudget,
    lastPersonIn: (roomId) => memory.lastPersonIn(roomId),
    onSettled: (eventId) => settle(eventId),
    timelines,
    config: config.dispatch,
    botUserId,
    personas,
    responder,
    members,
    onLoopSuppressed: () => metrics?.loopSuppressed(),
    turnLimitFor: (roomId) => roomSettings.get(roomId).turn_budget,
    orderOf: (roomId) => roomSettings.get(roomId).order ?? 'mention',
    talkativenessIn: (roomId, persona) => talkativenessIn(roomSettings.get(roomId), persona) ?? DEFAULT_TALKATIVENESS,
    joinedAtIn: (roomId) => personas.joinedAtIn(roomId),
    commandPrefix: config.commands.prefix,
    silencedIn,
    scenes: () => scenes,
    // The persona answers its commands with a notice, in the thread / as a reply like an answer.
    runPersonaCommand: (request) =>
      runCommand(
        {
          table: commands,
          isAdmin,
          reply: async (roomId, text) => {
            const relation = { eventId: request.event.event_id, threadRootId: request.threadRootId };
            await matrix.sendEvent(request.persona.userId, roomId, 'm.room.message', noticeContent(text, relation));
          },
        },
        request.event,
        String(request.event.content.body),
        { persona: request.persona, isDirect: request.isDirect, threadRootId: request.threadRootId },
      ),
    runUnaddressedCommand: (event) =>
      runUnaddressedCommand(
        {
          table: commands,
          isAdmin,
          voice,
          speakers: (roomId) => dispatcher.speakersIn(roomId),
          reply: async (from, command, text) => {
            const relation = { eventId: command.event_id, threadRootId: threadRootId(command.content) };
            await matrix.sendEvent(from, command.room_id, 'm.room.message', noticeContent(text, relation));
          },
        },
        event,
        String(event.content.body),
      ),
    sendNotice: (userId, roomId, text) => matrix.sendNotice(userId, roomId, text),
    voice,
    fetchSender: async (roomId, eventId, asUserId) => {
      const event = await matrix.getEvent(asUserId, roomId, eventId);
      return typeof event.sender === 'string' ? event.sender : null;
    },
  });
  // Scenes (`!converse`): turns on the dispatcher's answer queue, counted by its turn budget.
  const scenes: SceneDirector = new SceneDirector({
    runInRoom: (roomId, task) => dispatcher.runInRoom(roomId, task),
    turns: dispatcher.turns,
    respond: (request) => responder.respond(request),
    speakers: (roomId) => dispatcher.speakersIn(roomId),
    // The room's order mode, with the scene's last turn as the message and its speakers as
    // those who spoke: in `mention` order a persona named in the last turn speaks next.
    chooseNext: (roomId, present, scene) =>
      dispatcher.nextSpeaker(roomId, present, { sender: scene.last.sender, content: { msgtype: 'm.text', body: scene.last.body } }, scene.spoke),
    notify: async (roomId, text) => void (await voice.notice(roomId, text)),
    rateLimit: personBudget,
    commandPrefix: config.commands.prefix,
  });
  metrics?.observe({
    activePersonas: () => personas.list().length,
    rooms: () => personaRoomCount(personas),
    feedback: () => feedback.allCounts(),
    toolServers: () => toolCatalog.status().map((s) => ({ server: s.server, ready: s.state === 'ready' })),
  });

  // --- The event pipeline: every pushed event goes through these steps, in this order. ---
  const steps: EventStep[] = [
    new DedupeStep(
      { markProcessed: (eventId, roomId) => commits.run(() => processed.markProcessed(eventId, roomId)), has: (eventId) => processed.has(eventId) },
      memoryWrites,
      received,
    ),
    { name: 'metrics', handle: (event) => metrics?.eventReceived(event.type) },
    // Every later step sees the decrypted event; devices for our users before they join.
    ...(encryption ? [encryption] : []),
    new RoomMembershipStep(members, { userId: botUserId, join: (roomId) => matrix.join(botUserId, roomId) }),
    // Before commands and the dispatcher: both read the room's settings.
    new RoomSettingsStep(roomSettings),
    new BotCommandStep({
      table: commands,
      botUserId,
      isAdmin,
      where: commandWhere,
      queue: commandQueue,
      reply: async (from, roomId, text, html) => void (await matrix.sendNotice(from, roomId, text, html)),
      sendFile: async (from, roomId, file) => {
        const url = await matrix.uploadContent(file.data, file.mimetype, file.name);
        const info = { mimetype: file.mimetype, size: file.data.length };
        await matrix.sendEvent(from, roomId, 'm.room.message', { msgtype: 'm.file', body: file.name, filename: file.name, url, info });
      },
    }),
    new PersonaMembershipHandler(personas, personaMatrix, isPersonaUserId, (personaId, roomId, inviter) =>
      firstMessages.greet(personaId, roomId, inviter).then(() => undefined),
    ),
    ...(encryption ? [] : [new EncryptionDisabledHandler(undecryptable)]),
    // Before the dispatcher: a message is remembered before anyone answers it.
    recorder,
    // 👍 👎 ⭐ on answers, withdrawn by redaction; a reply to a 👎-ed answer is its reason.
    new FeedbackStep({ feedback, memory, personas, isOurUser, isAdmin, isCommand: (body) => commands.classify(body) !== null }),
    // Stop (🛑, !stop) acts before the room's answer queue, which is busy with the answer to stop.
    new ReactionControlStep({
      controls,
      isAdmin,
      // On the command queue: drained at shutdown like the rest, and off the room's event queue.
      regenerate: (request) => void commandQueue.run(request.event.room_id, () => responder.respond(request)).catch(() => undefined),
      stopScene: (roomId) => scenes.stop(roomId),
      stopSceneAt: (roomId, eventId) => scenes.stopAt(roomId, eventId, (id) => controls.isActive(id)),
      charge: (personId, roomId) => {
        const decision = personBudget.hit(personId);
        if (decision === 'limited-notify') void voice.notice(roomId, rateLimitNotice(config.dispatch.user_rate_limit, commands.prefix)).catch(() => undefined);
        return decision === 'allowed';
      },
      isStopCommand: (body) => {
        const parsed = commands.parse(body, 'persona');
        return parsed.kind === 'command' && parsed.command.name === 'stop';
      },
    }),
    // ✅/❌ and !approve/!deny decide a waiting tool call before the room's answer queue, which that call holds.
    new ApprovalStep({
      approvals,
      isAdmin,
      decisionCommand: (body) => {
        const parsed = commands.parse(body, 'persona');
        const name = parsed.kind === 'command' ? parsed.command.name : null;
        return name === 'approve' || name === 'deny' ? name : null;
      },
    }),
    // Last: its answers start right away, so everything else must have seen the event first.
    dispatcher,
  ];
  // What every step needs to know about an event, worked out once per event (pipeline/InboundEvent).
  const inbound = new InboundEvents({ botUserId, isOurUser, personas, classify: (body) => commands.classify(body), members, voice });
  pipeline = new EventPipeline(steps, { inbound, onStepFailed: (step) => metrics?.stepFailed(step), afterStep: (step, event) => timelines.lap(event.event_id, step) });

  const services: Services = {
    config,
    db,
    botUserId,
    startedAt,
    matrix,
    members,
    personas,
    lifecycle,
    memory,
    llm,
    summarizer,
    responder,
    dispatcher,
    scenes,
    commands,
    admin,
    metrics,
    processed,
    pending,
    received,
    commits,
    memoryWrites,
    timelines,
    resumePending,
    encryption,
    eventQueue,
    commandQueue,
    isAdmin,
    isOurUser,
    tools: { servers: toolServers, catalog: toolCatalog, approvals },
  };
  // --- The way in: the appservice listener, every route and a transaction's stages in order (ingress/). ---
  const hsToken = registration.getHomeserverToken() ?? '';
  const appservice = new IngressAppService(hsToken, (library) =>
    buildIngress({
      hsToken,
      health: [databaseHealthCheck({ path: config.database.path, probeWrite: () => probeWrite(db) }), homeserverHealthCheck(config.homeserver.url)],
      metrics: metrics && config.metrics.port === undefined ? metricsRoute(metrics) : null,
      decrypt: encryption ? (transaction) => encryption.handleTransaction(transaction) : null,
      inbox: {
        record: (events) => received.receive(events),
        recorded: () => memoryWrites.succeeded(),
        timelines,
        // Refused: the homeserver keeps the messages and redelivers them; each room where a
        // person wrote hears once that answers wait for space.
        refused: (events, err) =>
          void memoryWrites.refused(
            events.filter((e) => !isOurUser(e.sender)).map((e) => e.room_id),
            err,
          ),
      },
      library,
    }),
  );
  const app = new PersonaBridge({ services, bridge, appservice, port: opts.port ?? config.appservice.port });

  function onEvent(request: Request<WeakEvent>): void {
    const event = asRoomEvent(request.getData());
    if (!event || !pipeline || app.stopping) {
      if (!event) {
        log.warn('skipping malformed event', { event: describeShape(request.getData()) });
        const eventId = (request.getData() as { event_id?: unknown } | null)?.event_id;
        if (typeof eventId === 'string') settle(eventId);
      }
      request.resolve(undefined);
      return;
    }
    handle(pipeline, event).finally(() => request.resolve(undefined));
  }

  /**
   * Runs an event through the pipeline on its room's queue. When nothing is left to do for it
   * (no answer queued), it is no longer pending; otherwise the dispatcher settles it later.
   */
  async function handle(run: EventPipeline, event: RoomEvent): Promise<void> {
    try {
      // Still checked when its turn comes: events queued before a stop are left pending, not half-handled.
      const ran = await eventQueue.run(event.room_id, async () => {
        if (app.stopping) return false;
        timelines.lap(event.event_id, 'queue');
        await run.run(event);
        // No answer took it: nothing more to time.
        timelines.close(event.event_id);
        return true;
      });
      if (ran && !dispatcher.hasQueued(event.event_id)) settle(event.event_id);
    } catch (err) {
      log.error(`handling ${event.event_id} in ${event.room_id} failed`, { error: err });
    }
  }

  function settle(eventId: string): void {
    // Nothing waits for it (see GroupCommit.later); committed with or after the message's own writes.
    commits
      .later(() => pending.done(eventId))
      .catch((err: unknown) => {
        // Left pending: at worst it is answered once more after a restart.
        const error = err instanceof Error ? err : new Error(String(err));
        log.error(`cannot mark ${eventId} as handled: ${error.message}`, { stack: error.stack });
      });
  }

  /**
   * What the previous process received but had not finished: recent messages go through the
   * pipeline again (let past the de-duplication step once), older ones get one notice.
   */
  async function resumePending(): Promise<void> {
    const left = pending.list();
    if (left.length === 0 || !pipeline) return;
    log.info(`resuming ${left.length} message(s) received before the last stop`);
    const maxAgeMs = config.dispatch.max_event_age_seconds * 1000;
    const run = pipeline;
    await Promise.all(
      left.map(async ({ event: stored }) => {
        const event = asRoomEvent(stored);
        if (!event) {
          settle(stored.event_id);
          return;
        }
        if (Date.now() - event.origin_server_ts > maxAgeMs) {
          await eventQueue.run(event.room_id, () => dispatcher.noticeMissed(inbound.of(event))).catch((err: unknown) => {
            log.warn(`missed-message notice for ${event.event_id} failed: ${String(err)}`);
          });
          settle(event.event_id);
          return;
        }
        processed.forget(event.event_id);
        await handle(run, event);
      }),
    );
  }

  return app;
}
