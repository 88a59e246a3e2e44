import type { AdminServer } from '../admin/AdminServer.js';
import type { CommandTable } from '../commands/CommandTable.js';
import type { EndToEndEncryption } from '../crypto/EndToEndEncryption.js';
import type { BridgeConfig } from '../config/Config.js';
import type { Dispatcher } from '../dispatch/Dispatcher.js';
import type { LlmRouter } from '../llm/LlmRouter.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import type { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import type { Summarizer } from '../memory/Summarizer.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { AnswerTimelines } from '../metrics/AnswerTimeline.js';
import type { PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import type { EventHandling } from '../pipeline/EventHandling.js';
import type { RoomQueue } from '../pipeline/RoomQueue.js';
import type { PersonaResponder } from '../reply/PersonaResponder.js';
import type { SceneDirector } from '../scenes/SceneDirector.js';
import type { Db } from '../store/Database.js';
import type { GroupCommit } from '../store/GroupCommit.js';
import type { PendingEventStore } from '../store/PendingEventStore.js';
import type { ReceivedMessages } from '../store/ReceivedMessages.js';
import type { ProcessedEventStore } from '../store/ProcessedEventStore.js';
import type { ToolApprovals } from '../tools/ToolApprovals.js';
import type { ToolCatalog } from '../tools/ToolCatalog.js';
import type { ToolServers } from '../tools/ToolServers.js';
import type { PersonaMedia } from '../media/PersonaMedia.js';

/** Every long-lived service, for start/stop, tests and tools (an admin console) that drive the bridge from inside. */
export interface Services {
  readonly config: BridgeConfig;
  readonly db: Db;
  readonly botUserId: string;
  readonly startedAt: number;
  readonly matrix: MatrixGateway;
  readonly members: RoomMembers;
  readonly personas: PersonaStore;
  readonly lifecycle: PersonaLifecycle;
  readonly memory: MemoryStore;
  readonly llm: LlmRouter;
  readonly summarizer: Summarizer;
  readonly responder: PersonaResponder;
  readonly dispatcher: Dispatcher;
  /** Scenes (`!converse`): ended when the bridge stops, never resumed. */
  readonly scenes: SceneDirector;
  readonly commands: CommandTable;
  /** The admin console's endpoint (a unix socket running the command table). */
  readonly admin: AdminServer;
  /** Null when config.metrics.enabled is false. */
  readonly metrics: Metrics | null;
  readonly processed: ProcessedEventStore;
  /** Messages received but not yet answered (survive a crash; resumed at start). */
  readonly pending: PendingEventStore;
  /** Marks each message processed and pending as its transaction arrives (one write). */
  readonly received: ReceivedMessages;
  /** Per-event writes committed together (flushed at shutdown before the database closes). */
  readonly commits: GroupCommit;
  /** Failed database writes (full disk): one notice per room per fault, and the recovery. */
  readonly memoryWrites: MemoryWriteGuard;
  /** Each message's timeline until its model request leaves (started by the transaction inbox). */
  readonly timelines: AnswerTimelines;
  /** Each event's way through the pipeline; resumes what the previous process left pending (once, at start). */
  readonly events: EventHandling;
  /** Images, files and voice for personas (descriptions are written in the background). */
  readonly media: PersonaMedia;
  /** End-to-end encryption; null when config.encryption.enabled is false. */
  readonly encryption: EndToEndEncryption | null;
  /** Room events, one at a time per room; bot commands, likewise but off the event queue. */
  readonly eventQueue: RoomQueue;
  readonly commandQueue: RoomQueue;
  isAdmin(userId: string): boolean;
  /** True for the bot and every user in our exclusive namespace. */
  isOurUser(userId: string): boolean;
  /** MCP servers (started and stopped with the bridge), every tool source's status, waiting approvals. */
  readonly tools: { servers: ToolServers; catalog: ToolCatalog; approvals: ToolApprovals };
}
