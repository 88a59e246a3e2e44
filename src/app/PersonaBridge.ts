import type { Bridge } from 'matrix-appservice-bridge';
import type { IngressAppService } from '../ingress/IngressAppService.js';
import { getLogger } from '../logging.js';
import { serveMetrics, type MetricsListener } from '../metrics/metricsEndpoint.js';
import { DEDUPE_RETENTION_MS } from '../pipeline/DedupeStep.js';
import { drainAll, type Drainable } from './drain.js';
import type { Services } from './Services.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('PersonaBridge');

/** How long a shutdown waits for work in progress (answers, commands, summaries). */
const SHUTDOWN_GRACE_MS = 10_000;

export interface PersonaBridgeParts {
  services: Services;
  bridge: Bridge;
  /** The listener: the ingress's stages, then matrix-appservice's routes (ingress/). */
  appservice: IngressAppService;
  port: number;
}

/**
 * The running application: starts listening and provisioning, and stops in order (no new
 * transactions, then every queue drained, then the database closed). Built by compose().
 */
export class PersonaBridge {
  readonly services: Services;
  private readonly bridge: Bridge;
  private readonly appservice: IngressAppService;
  private readonly port: number;
  private pruneTimer: NodeJS.Timeout | null = null;
  /** The separate /metrics listener when `metrics.port` is set. */
  private metricsListener: MetricsListener | null = null;
  private stopRequested = false;

  constructor(parts: PersonaBridgeParts) {
    this.services = parts.services;
    this.bridge = parts.bridge;
    this.appservice = parts.appservice;
    this.port = parts.port;
  }

  /** True once stop() was called: events still arriving or queued are dropped. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  async start(): Promise<void> {
    const { config, processed, metrics, lifecycle, members, encryption } = this.services;
    processed.pruneOlderThan(Date.now() - DEDUPE_RETENTION_MS);
    this.pruneTimer = setInterval(() => {
      processed.pruneOlderThan(Date.now() - DEDUPE_RETENTION_MS);
      // Rooms are also forgotten as others are used; this catches a bridge that went quiet.
      members.sweep();
    }, 3600_000);
    this.pruneTimer.unref();
    // MCP servers start alongside (one that fails or is slow holds up nothing: it keeps retrying).
    const toolsStarted = this.services.tools.servers.start();

    // The crypto store is loaded before the first transaction's keys arrive.
    await encryption?.start();
    await this.bridge.initialise();
    // Before the first transaction: what the last process left is answered first in its room.
    this.services.events.holdPending();
    await this.bridge.listen(this.port, config.appservice.bind, 10, this.appservice);
    if (metrics && config.metrics.port !== undefined) {
      this.metricsListener = await serveMetrics(metrics, config.metrics.bind, config.metrics.port);
      log.info(`metrics on http://${config.metrics.bind}:${this.metricsListener.port}/metrics`);
    }
    log.info(`listening on ${config.appservice.bind}:${this.port} for ${config.homeserver.url}`);
    await this.setUpBot();
    await lifecycle.provisionFiles(config.personas.directory);
    // Devices for those who have none yet, in the background (joins of encrypted rooms wait for
    // the joining user's device; personas spawned later get theirs when first invited).
    await encryption?.prepareDevices();
    // Personas and devices exist now, tool servers are up or failed once: what the last process
    // left unanswered can be answered.
    await toolsStarted;
    await this.services.events.resumePending();
    await this.services.admin.start();
  }

  /** Registers the bot user (idempotent) and sets its displayname only when it differs. */
  private async setUpBot(): Promise<void> {
    const { matrix, botUserId, config } = this.services;
    await matrix.register(botUserId);
    if ((await matrix.getDisplayName(botUserId)) !== config.appservice.bot_displayname) {
      await matrix.setDisplayName(botUserId, config.appservice.bot_displayname);
    }
  }

  async stop(): Promise<void> {
    if (this.stopRequested) return;
    this.stopRequested = true;
    // Events still arriving or queued are left pending for the next start.
    this.services.events.stop();
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.services.memoryWrites.stop();
    // Answers not started yet stay pending (resumed by the next start) instead of racing the grace period.
    this.services.dispatcher.stopTakingWork();
    // A restart ends every scene (each room is told); the turn being written is cancelled.
    this.services.scenes.stopAll();
    await this.services.admin.stop().catch((err: unknown) => log.warn(`closing the admin socket: ${describeError(err)}`));
    await this.bridge.close().catch((err: unknown) => log.warn(`closing HTTP listener: ${describeError(err)}`));
    await this.metricsListener?.close().catch((err: unknown) => log.warn(`closing metrics listener: ${describeError(err)}`));
    // No new transactions arrive now; let work already started finish (it needs the
    // database), but never hold a shutdown hostage to a slow model.
    const { eventQueue, commandQueue, dispatcher, summarizer, matrix, db, media } = this.services;
    const drainables: Drainable[] = [
      { name: 'room events', busy: () => eventQueue.activeRooms > 0, idle: () => eventQueue.idle() },
      { name: 'bot commands', busy: () => commandQueue.activeRooms > 0, idle: () => commandQueue.idle() },
      { name: 'answers', busy: () => dispatcher.busy, idle: () => dispatcher.idle() },
      { name: 'summaries', busy: () => summarizer.busy, idle: () => summarizer.idle() },
      { name: 'image descriptions', busy: () => media.busy, idle: () => media.idle() },
      { name: 'sends', busy: () => matrix.sending > 0, idle: () => matrix.idle() },
    ];
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => (graceTimer = setTimeout(() => resolve('timeout'), SHUTDOWN_GRACE_MS)));
    if ((await Promise.race([drainAll(drainables), graceOver])) === 'timeout') {
      log.warn(`work still in progress after ${SHUTDOWN_GRACE_MS / 1000} s; stopping anyway`);
    }
    clearTimeout(graceTimer);
    await this.services.tools.servers.stop().catch((err: unknown) => log.warn(`stopping the tool servers: ${describeError(err)}`));
    await this.services.encryption?.stop().catch((err: unknown) => log.error('saving the crypto store failed', { error: err }));
    // Writes queued in the last moment (a settled event's pending row) are committed, not lost.
    this.services.commits.flush();
    db.close();
    log.info('stopped');
  }
}
