/**
 * The composition root: the one place that knows every service and wires them with explicit
 * constructor dependencies, each built after what it needs: the database (migrated) first,
 * then stores, metrics, the event handling, Matrix access, models, personas, encryption,
 * replies, dispatch and scenes, the command table, the event pipeline, and last the ingress.
 * Each area's wiring is in a compose*.ts beside this file.
 */
import { resolve as resolvePath } from 'node:path';
import type { AppServiceRegistration } from 'matrix-appservice-bridge';
import { AdminServer } from '../admin/AdminServer.js';
import { ConsoleCommands } from '../admin/ConsoleCommands.js';
import { CommandTable } from '../commands/CommandTable.js';
import { adminSocketPath, botUserId as botUserIdOf, type BridgeConfig } from '../config/Config.js';
import { configuredSecrets } from '../config/secrets.js';
import { FeedbackStore } from '../feedback/FeedbackStore.js';
import { buildIngress } from '../ingress/Ingress.js';
import { IngressAppService } from '../ingress/IngressAppService.js';
import { resolveBackends } from '../llm/backends.js';
import { LlmRouter } from '../llm/LlmRouter.js';
import { getLogger } from '../logging.js';
import { LoreStore } from '../lore/LoreStore.js';
import { MemoryStore } from '../memory/MemoryStore.js';
import { MessageIndex } from '../memory/MessageIndex.js';
import { MessageSearch } from '../memory/MessageSearch.js';
import { NoteStore } from '../memory/NoteStore.js';
import { AnswerTimelines } from '../metrics/AnswerTimeline.js';
import { llmMetricsOptions, personaRoomCount } from '../metrics/bridgeHooks.js';
import { Metrics } from '../metrics/Metrics.js';
import { metricsRoute } from '../metrics/metricsEndpoint.js';
import { DescriptionStore } from '../people/DescriptionStore.js';
import { DisclosureStore } from '../people/DisclosureStore.js';
import { PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import { PersonaManager } from '../personas/PersonaManager.js';
import { PersonaStore } from '../personas/PersonaStore.js';
import { EventHandling } from '../pipeline/EventHandling.js';
import { RoomQueue } from '../pipeline/RoomQueue.js';
import { FirstMessages } from '../portability/FirstMessages.js';
import { PersonaCardStore } from '../portability/PersonaCardStore.js';
import { databaseHealthCheck } from '../probes/databaseHealth.js';
import { homeserverHealthCheck } from '../probes/homeserverHealth.js';
import { registerSecret } from '../redaction.js';
import { openDatabase, probeWrite, type Db, type Migration } from '../store/Database.js';
import { GroupCommit } from '../store/GroupCommit.js';
import { PendingEventStore } from '../store/PendingEventStore.js';
import { ProcessedEventStore } from '../store/ProcessedEventStore.js';
import { ReceivedMessages } from '../store/ReceivedMessages.js';
import { addCommands, commandWhere } from './composeCommands.js';
import { composeDispatch } from './composeDispatch.js';
import { composeEncryption } from './composeEncryption.js';
import { composeMatrix } from './composeMatrix.js';
import { composePipeline } from './composePipeline.js';
import { composeReplies } from './composeReplies.js';
import { composeMedia } from '../media/composeMedia.js';
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
  const startedAt = Date.now();

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

  // --- Metrics ---
  const metrics = config.metrics.enabled ? new Metrics() : null;
  // Where each message's time goes until its model request leaves (started by the transaction inbox).
  const timelines = new AnswerTimelines();

  // --- Events: each one's turn on its room's queue through the pipeline (served below), and what is still pending ---
  const eventQueue = new RoomQueue();
  const events = new EventHandling({
    queue: eventQueue,
    pending,
    // Nothing waits for it (see GroupCommit.later); committed with or after the message's own writes.
    commitLater: (write) => commits.later(write),
    received,
    timelines,
    maxEventAgeMs: config.dispatch.max_event_age_seconds * 1000,
  });

  // --- Matrix: the library's bridge, the gateway, membership, the room's voice and settings ---
  const { bridge, matrix, members, voice, roomSettings, pingAppservice } = composeMatrix({ config, registration, botUserId, personas, metrics, events });

  // --- Models ---
  const llm = new LlmRouter(resolveBackends(config.llm), (backend) => ({
    promptCap: config.memory.context_tokens,
    maxAnswerChars: config.llm.max_answer_chars,
    ...llmMetricsOptions(metrics, backend),
  }));

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

  // --- Encryption ---
  const { undecryptable, encryption } = composeEncryption({ config, db, botUserId, isOurUser, matrix, members, voice, personas, metrics, pingAppservice });

  // --- Replies: usage, the per-person budget, summaries, memory writes, tools, the responder ---
  // --- Media: images, files and voice for personas ---
  const media = composeMedia({ config, db, matrix, memory, llm, metrics, encryption });

  const replies = composeReplies({
    ...{ config, db, botUserId, isAdmin, llm, metrics, matrix, members, voice, personas },
    ...{ memory, search, notes, descriptions, disclosures, feedback, cards, lore, commits, media, pingAppservice },
  });
  const { personBudget, summarizer, memoryWrites, tools, controls, recorder, responder } = replies;

  // --- Dispatch and scenes; the command table they run persona commands from (filled below) ---
  const commands = new CommandTable(config.commands.prefix);
  const where = commandWhere({ botUserId, members, voice, roomSettings, prefix: commands.prefix });
  const commandQueue = new RoomQueue();
  const { dispatcher, scenes } = composeDispatch({
    ...{ config, botUserId, isAdmin, personBudget, memory, events, timelines, personas, responder },
    ...{ members, metrics, roomSettings, commands, isAdmin, matrix, voice },
  });

  // --- Commands ---
  addCommands(commands, {
    ...{ config, db, botUserId, isOurUser, startedAt, where, matrix, members, voice, roomSettings, personas, lifecycle, cards, lore, llm },
    ...{ memory, search, notes, summarizer, descriptions, disclosures, feedback, controls, tools, dispatcher, scenes, personBudget, eventQueue },
    usage: replies.usage,
  });
  const admin = new AdminServer(adminSocketPath(config), new ConsoleCommands(commands, () => personas.list().map((p) => p.name)));
  metrics?.observe({
    activePersonas: () => personas.list().length,
    rooms: () => personaRoomCount(personas),
    feedback: () => feedback.allCounts(),
    toolServers: () => tools.catalog.status().map((s) => ({ server: s.server, ready: s.state === 'ready' })),
  });

  // --- The event pipeline: every pushed event goes through its steps, in order (composePipeline.ts) ---
  const { pipeline, inbound } = composePipeline({
    ...{ config, botUserId, isAdmin, isOurUser, isPersonaUserId, processed, received, commits, memoryWrites, metrics, timelines, encryption },
    ...{ undecryptable, matrix, members, voice, roomSettings, commands, commandWhere: where, commandQueue, personas, personaMatrix, firstMessages, memory, feedback },
    ...{ controls, recorder, responder },
    ...{ approvals: tools.approvals, personBudget, scenes, dispatcher },
  });
  events.serve({ pipeline, inbound, answers: dispatcher });

  const services: Services = {
    ...{ config, db, botUserId, startedAt, matrix, members, personas, lifecycle, memory, llm, summarizer, responder, dispatcher, scenes, commands, admin },
    ...{ metrics, processed, pending, received, commits, memoryWrites, timelines, events, media, encryption, eventQueue, commandQueue, isAdmin, isOurUser },
    tools: { servers: tools.servers, catalog: tools.catalog, approvals: tools.approvals },
  };

  // --- The way in: the appservice listener, every route and a transaction's stages in order (ingress/) ---
  const hsToken = registration.getHomeserverToken() ?? '';
  const appservice = new IngressAppService(hsToken, (library, deliver) =>
    buildIngress({
      hsToken,
      health: [databaseHealthCheck({ path: config.database.path, probeWrite: () => probeWrite(db) }), homeserverHealthCheck(config.homeserver.url)],
      metrics: metrics && config.metrics.port === undefined ? metricsRoute(metrics) : null,
      decrypt: encryption ? (transaction) => encryption.handleTransaction(transaction) : null,
      inbox: {
        record: (arrived) => received.receive(arrived),
        recorded: () => memoryWrites.succeeded(),
        timelines,
        // Refused: the homeserver keeps the messages and redelivers them; each room where a
        // person wrote hears once that answers wait for space.
        refused: (refused, err) =>
          void memoryWrites.refused(
            refused.filter((e) => !isOurUser(e.sender)).map((e) => e.room_id),
            err,
          ),
      },
      deliver,
      library,
    }),
  );
  return new PersonaBridge({ services, bridge, appservice, port: opts.port ?? config.appservice.port });
}
