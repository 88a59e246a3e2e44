import { AppService, AppServiceRegistration, Bridge, type Request, type WeakEvent } from 'matrix-appservice-bridge';
import { botUserId, type BridgeConfig } from './config/Config.js';
import { CommandTable } from './bot/CommandTable.js';
import { runCommand } from './bot/CommandRunner.js';
import { personaCommands } from './bot/personaCommands.js';
import { coreCommands } from './bot/coreCommands.js';
import { installHealthEndpoint } from './http/health.js';
import { installTransactionFilter } from './http/transactionFilter.js';
import { getLogger } from './logging.js';
import { asRoomEvent, messageBody, type RoomEvent } from './matrix/events.js';
import { isEdit } from './matrix/relations.js';
import { MatrixSender } from './matrix/MatrixSender.js';
import { createDispatcher } from './dispatch/createDispatcher.js';
import type { Dispatcher } from './dispatch/Dispatcher.js';
import { llmMetricsOptions, personaRoomCount, responderMetricsHooks } from './metrics/bridgeHooks.js';
import { Metrics } from './metrics/Metrics.js';
import { installMetricsEndpoint } from './metrics/metricsEndpoint.js';
import { homeserverHealthCheck } from './probes/homeserverHealth.js';
import { RoomMembers } from './matrix/RoomMembers.js';
import { RoomQueue } from './matrix/RoomQueue.js';
import { PersonaLifecycle } from './personas/PersonaLifecycle.js';
import { PersonaManager } from './personas/PersonaManager.js';
import { PersonaMembershipHandler } from './personas/PersonaMembershipHandler.js';
import { PersonaStore } from './personas/PersonaStore.js';
import type { Responder } from './dispatch/Responder.js';
import { createReplyPipeline, type ReplyPipeline } from './reply/createReplyPipeline.js';
import { EncryptionDisabledHandler, SqliteNoticeLedger, UndecryptableNotices, type NoticeLedger } from './crypto/UndecryptableNotices.js';
import { openDatabase, type Db, type Migration } from './store/Database.js';
import { ProcessedEventStore } from './store/ProcessedEventStore.js';

const log = getLogger('PersonaBridge');

/** How long processed event ids are kept: far longer than Synapse keeps retrying a transaction. */
const DEDUPE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** How long a shutdown waits for answers in progress. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface PersonaBridgeOptions {
  config: BridgeConfig;
  registration: AppServiceRegistration;
  /** Overrides config.appservice.port (the Cli's -p). */
  port?: number;
  migrations?: Migration[];
}

/**
 * One step of event handling. Handlers run in order for every event that survived
 * validation and de-duplication; a handler's failure is logged and does not stop the next.
 */
export interface EventHandler {
  readonly name: string;
  handle(event: RoomEvent): Promise<void>;
}

/**
 * The application: owns the database, the matrix-appservice-bridge Bridge and the handler
 * pipeline every pushed event goes through.
 */
export class PersonaBridge {
  readonly config: BridgeConfig;
  readonly bridge: Bridge;
  readonly botUserId: string;
  readonly commands = new CommandTable('!');
  readonly sender: MatrixSender;
  readonly members: RoomMembers;
  readonly startedAt = Date.now();
  /** The live personas (a PersonaDirectory) and their records; reads as empty until start(). */
  readonly personas = new PersonaStore();
  readonly personaLifecycle: PersonaLifecycle;
  /** LLM client, conversation memory, summaries and memory commands (`!forget`, `!summary`). */
  readonly replies: ReplyPipeline;
  /** Answers as a persona; the dispatcher calls it. */
  readonly responder: Responder;
  /** Decides which personas answer each message (DM and mention rules, loop guard, rate limit). */
  readonly dispatcher: Dispatcher;
  /** Prometheus metrics served on GET /metrics; null when config.metrics.enabled is false. */
  readonly metrics: Metrics | null;
  private db: Db | null = null;
  private processed: ProcessedEventStore | null = null;
  private noticeLedger: NoticeLedger | null = null;
  private readonly handlers: EventHandler[] = [];
  /** Each room's events are handled one at a time, in order; rooms in parallel. */
  private readonly roomQueue = new RoomQueue();
  private readonly appservice: AppService;
  private pruneTimer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly opts: PersonaBridgeOptions) {
    this.config = opts.config;
    this.botUserId = botUserId(this.config);
    this.bridge = new Bridge({
      homeserverUrl: this.config.homeserver.url,
      domain: this.config.homeserver.domain,
      registration: opts.registration,
      // Our own SQLite store replaces the bridge's NeDB stores.
      disableStores: true,
      disableContext: true,
      // Personas must see each other's messages (conversations between personas, loops).
      suppressEcho: false,
      // Events reach onEvent in arrival order; onEvent keeps each room in order itself
      // (RoomQueue). The library's per_room queue does not wait for a request to be resolved,
      // only for its (disabled) context, and walks every room it has ever seen on each event:
      // at 10,000 rooms that cost more than handling the event (BENCHMARKS.md).
      queue: { type: 'none', perRequest: true },
      controller: {
        onEvent: (request: Request<WeakEvent>) => this.onEvent(request),
        onLog: (text: string, isError: boolean) => (isError ? log.warn(text) : log.debug(text)),
      },
    });
    this.appservice = new AppService({ homeserverToken: opts.registration.getHomeserverToken() ?? '' });
    this.sender = new MatrixSender(this.bridge);
    this.members = new RoomMembers((roomId) => this.loadJoinedMembers(roomId));
    this.commands.add(...coreCommands(this));
    const personaMatrix = new PersonaManager(this.bridge, this.botUserId);
    this.personaLifecycle = new PersonaLifecycle({
      store: this.personas,
      matrix: personaMatrix,
      config: this.config,
      // Its summaries and forget horizons are its own; messages stay for the room's other personas.
      onDespawned: (userId) => this.replies.memory.forgetPersona(userId),
    });
    this.commands.add(...personaCommands({ lifecycle: this.personaLifecycle, store: this.personas }));
    const isPersonaUserId = (userId: string): boolean => userId !== this.botUserId && opts.registration.isUserMatch(userId, true);
    this.addHandler(new PersonaMembershipHandler(this.personas, personaMatrix, isPersonaUserId));
    this.metrics = this.config.metrics.enabled ? new Metrics() : null;
    const undecryptable = new UndecryptableNotices({
      ledger: () => {
        if (!this.noticeLedger) throw new Error('bridge not started');
        return this.noticeLedger;
      },
      speakerFor: (roomId) => this.speakerFor(roomId),
      sendNotice: (userId, roomId, text) => this.sender.sendNotice(userId, roomId, text),
      onUndecryptable: (reason) => this.metrics?.undecryptableEvent(reason),
      onNoticeSent: (reason) => this.metrics?.undecryptableNotice(reason),
    });
    this.addHandler(new EncryptionDisabledHandler(undecryptable, (userId) => this.isOurUser(userId)));
    this.metrics?.observe({ activePersonas: () => this.personas.list().length, rooms: () => personaRoomCount(this.personas) });
    this.replies = createReplyPipeline(this, llmMetricsOptions(this.metrics), responderMetricsHooks(this.metrics));
    this.responder = this.replies.responder;
    // Before the dispatcher: a message is remembered before anyone answers it.
    this.addHandler(this.replies.recorder);
    // Last: its answers start right away, so everything else must have seen the event first.
    this.dispatcher = createDispatcher(this, this.responder, this.replies.memoryCommands);
    this.addHandler(this.dispatcher);
    this.metrics?.observe({ suppressedLoops: () => this.dispatcher.stats.suppressedLoops });
  }

  get database(): Db {
    if (!this.db) throw new Error('bridge not started');
    return this.db;
  }

  addHandler(handler: EventHandler): void {
    this.handlers.push(handler);
  }

  isAdmin(userId: string): boolean {
    return this.config.admins.includes(userId);
  }

  /** True for the bot and every user in our exclusive namespace. */
  isOurUser(userId: string): boolean {
    return userId === this.botUserId || this.opts.registration.isUserMatch(userId, true);
  }

  async start(): Promise<void> {
    this.db = openDatabase(this.config.database.path, this.opts.migrations);
    this.processed = new ProcessedEventStore(this.db);
    this.personas.open(this.db);
    this.noticeLedger = new SqliteNoticeLedger(this.db);
    this.processed.pruneOlderThan(Date.now() - DEDUPE_RETENTION_MS);
    this.pruneTimer = setInterval(() => this.processed?.pruneOlderThan(Date.now() - DEDUPE_RETENTION_MS), 3600_000);
    this.pruneTimer.unref();

    installTransactionFilter(this.appservice.expressApp);
    installHealthEndpoint(this.appservice.expressApp, [
      { name: 'database', check: () => (this.database.prepare('SELECT 1 AS ok').get() ? 'ok' : 'no answer') },
      homeserverHealthCheck(this.config.homeserver.url),
    ]);
    if (this.metrics) installMetricsEndpoint(this.appservice.expressApp, this.metrics);
    await this.bridge.initialise();
    const port = this.opts.port ?? this.config.appservice.port;
    await this.bridge.listen(port, this.config.appservice.bind, 10, this.appservice);
    log.info(`listening on ${this.config.appservice.bind}:${port} for ${this.config.homeserver.url}`);
    await this.setUpBot();
    await this.personaLifecycle.provisionFiles(this.config.personas.directory);
  }

  /** Registers the bot user (idempotent) and sets its displayname only when it differs. */
  private async setUpBot(): Promise<void> {
    const intent = this.bridge.getIntent(this.botUserId);
    await intent.ensureRegistered(true);
    const profile = await intent.getProfileInfo(this.botUserId, 'displayname', false).catch(() => ({}) as { displayname?: string });
    if (profile.displayname !== this.config.appservice.bot_displayname) {
      await intent.setDisplayName(this.config.appservice.bot_displayname);
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.bridge.close().catch((err: unknown) => log.warn(`closing HTTP listener: ${String(err)}`));
    // No new transactions arrive now; let answers already being written finish (they need
    // the database), but never hold a shutdown hostage to a slow model.
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => (graceTimer = setTimeout(() => resolve('timeout'), SHUTDOWN_GRACE_MS)));
    if ((await Promise.race([this.dispatcher.idle(), graceOver])) === 'timeout') {
      log.warn(`answers still in progress after ${SHUTDOWN_GRACE_MS / 1000} s; stopping anyway`);
    }
    clearTimeout(graceTimer);
    this.db?.close();
    this.db = null;
    log.info('stopped');
  }

  private onEvent(request: Request<WeakEvent>): void {
    const event = asRoomEvent(request.getData());
    if (!event) {
      log.warn('skipping malformed event', { event: JSON.stringify(request.getData()).slice(0, 500) });
      request.resolve(undefined);
      return;
    }
    // A room's next event waits for this one: keep it short (validation, de-duplication,
    // bookkeeping). Slow work such as LLM calls is queued by the handlers themselves.
    this.roomQueue
      .run(event.room_id, () => this.handleEvent(event))
      .catch((err: unknown) => log.error(`handling ${event.event_id} in ${event.room_id} failed`, { error: err }))
      .finally(() => request.resolve(undefined));
  }

  /** The pipeline for one validated event; exposed for tests and benchmarks. */
  async handleEvent(event: RoomEvent): Promise<void> {
    if (this.stopping || !this.processed) return;
    if (!this.processed.markProcessed(event.event_id, event.room_id)) {
      log.debug(`skipping duplicate ${event.event_id}`);
      return;
    }
    this.metrics?.eventReceived(event.type);
    await this.handleMembership(event);
    await this.handleBotCommand(event);
    for (const handler of this.handlers) {
      try {
        await handler.handle(event);
      } catch (err) {
        log.error(`${handler.name} failed on ${event.event_id} in ${event.room_id}`, { error: err });
      }
    }
  }

  private async handleMembership(event: RoomEvent): Promise<void> {
    if (event.type !== 'm.room.member' || event.state_key === undefined) return;
    this.members.apply(event);
    if (event.state_key === this.botUserId && event.content.membership === 'invite') {
      log.info(`bot invited to ${event.room_id} by ${event.sender}; joining`);
      await this.bridge.getIntent(this.botUserId).join(event.room_id);
    }
  }

  private async handleBotCommand(event: RoomEvent): Promise<void> {
    const body = messageBody(event);
    if (body === null || this.isOurUser(event.sender) || !this.commands.isCommand(body)) return;
    if (isEdit(event.content)) return;
    await this.members.ensureLoaded(event.room_id).catch(() => undefined);
    if (!this.members.isJoined(event.room_id, this.botUserId)) return;
    await runCommand(
      {
        table: this.commands,
        isAdmin: (u) => this.isAdmin(u),
        reply: async (roomId, text, html) => {
          await this.sender.sendNotice(this.botUserId, roomId, text, html);
        },
      },
      event,
      body,
    );
  }

  /** Which of our users speaks for the bridge in a room: a persona there, else the bot if joined. */
  private async speakerFor(roomId: string): Promise<string | null> {
    const persona = this.personas.personasInRoom(roomId)[0];
    if (persona) return persona;
    await this.members.ensureLoaded(roomId).catch(() => undefined);
    return this.members.isJoined(roomId, this.botUserId) ? this.botUserId : null;
  }

  /**
   * Joined members via one of our users in the room: a persona recorded there, else the bot
   * (the homeserver refuses anyone not in the room).
   */
  private async loadJoinedMembers(roomId: string): Promise<Map<string, { displayName?: string }>> {
    // Personas recorded in the room first: most rooms with personas (every DM with one) do not
    // have the bot, and asking as the bot there costs a refused request for every room loaded.
    const candidates = [...this.personas.personasInRoom(roomId), this.botUserId];
    let lastError: unknown;
    for (const userId of candidates) {
      try {
        const client = this.bridge.getIntent(userId).matrixClient;
        const res = (await client.doRequest('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`)) as {
          joined: Record<string, { display_name?: string }>;
        };
        const out = new Map<string, { displayName?: string }>();
        for (const [id, info] of Object.entries(res.joined ?? {})) {
          out.set(id, info.display_name ? { displayName: info.display_name } : {});
        }
        return out;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(`cannot load members of ${roomId}`);
  }
}
