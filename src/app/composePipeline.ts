/**
 * The composition of the event pipeline (part of the composition root, compose.ts): the steps
 * every pushed event goes through, in this order, and the context worked out once per event.
 */
import { BotCommandStep } from '../commands/BotCommandStep.js';
import type { CommandTable, HelpWhere } from '../commands/CommandTable.js';
import type { BridgeConfig } from '../config/Config.js';
import type { EndToEndEncryption } from '../crypto/EndToEndEncryption.js';
import { EncryptionDisabledHandler, type UndecryptableNotices } from '../crypto/UndecryptableNotices.js';
import type { Dispatcher } from '../dispatch/Dispatcher.js';
import { rateLimitNotice } from '../dispatch/messages.js';
import type { RateLimiter } from '../dispatch/RateLimiter.js';
import { FeedbackStep } from '../feedback/FeedbackStep.js';
import type { FeedbackStore } from '../feedback/FeedbackStore.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import type { MessageRecorder } from '../memory/MessageRecorder.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import type { MemoryWriteGuard } from '../memory/MemoryWriteGuard.js';
import type { AnswerTimelines } from '../metrics/AnswerTimeline.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { PersonaManager } from '../personas/PersonaManager.js';
import { PersonaMembershipHandler } from '../personas/PersonaMembershipHandler.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import { DedupeStep } from '../pipeline/DedupeStep.js';
import { EventPipeline } from '../pipeline/EventPipeline.js';
import type { EventStep } from '../pipeline/EventStep.js';
import { InboundEvents } from '../pipeline/InboundEvent.js';
import { RoomMembershipStep } from '../pipeline/RoomMembershipStep.js';
import type { RoomQueue } from '../pipeline/RoomQueue.js';
import type { FirstMessages } from '../portability/FirstMessages.js';
import type { AnswerControls } from '../reply/AnswerControls.js';
import type { PersonaResponder } from '../reply/PersonaResponder.js';
import { ReactionControlStep } from '../reply/ReactionControlStep.js';
import { RoomSettingsStep } from '../rooms/RoomSettingsStep.js';
import type { RoomSettingsStore } from '../rooms/RoomSettingsStore.js';
import type { RoomVoice } from '../rooms/RoomVoice.js';
import type { SceneDirector } from '../scenes/SceneDirector.js';
import type { GroupCommit } from '../store/GroupCommit.js';
import type { ProcessedEventStore } from '../store/ProcessedEventStore.js';
import type { ReceivedMessages } from '../store/ReceivedMessages.js';
import { ApprovalStep } from '../tools/ApprovalStep.js';
import type { ToolApprovals } from '../tools/ToolApprovals.js';

export interface PipelineParts {
  config: BridgeConfig;
  botUserId: string;
  isAdmin(userId: string): boolean;
  isOurUser(userId: string): boolean;
  isPersonaUserId(userId: string): boolean;
  processed: ProcessedEventStore;
  received: ReceivedMessages;
  commits: GroupCommit;
  memoryWrites: MemoryWriteGuard;
  metrics: Metrics | null;
  timelines: AnswerTimelines;
  encryption: EndToEndEncryption | null;
  undecryptable: UndecryptableNotices;
  matrix: MatrixGateway;
  members: RoomMembers;
  voice: RoomVoice;
  roomSettings: RoomSettingsStore;
  commands: CommandTable;
  /** The kind of room a command comes from (composeCommands' commandWhere). */
  commandWhere(roomId: string): Promise<HelpWhere>;
  commandQueue: RoomQueue;
  personas: PersonaStore;
  personaMatrix: PersonaManager;
  firstMessages: FirstMessages;
  memory: MemoryStore;
  feedback: FeedbackStore;
  controls: AnswerControls;
  recorder: MessageRecorder;
  responder: PersonaResponder;
  approvals: ToolApprovals;
  personBudget: RateLimiter;
  scenes: SceneDirector;
  dispatcher: Dispatcher;
}

export function composePipeline(parts: PipelineParts): { pipeline: EventPipeline; inbound: InboundEvents } {
  const { config, botUserId, isAdmin, commits, processed, memoryWrites, metrics, encryption, matrix, members, commands, commandQueue, personas, memory, controls } = parts;
  const steps: EventStep[] = [
    new DedupeStep(
      { markProcessed: (eventId, roomId) => commits.run(() => processed.markProcessed(eventId, roomId)), has: (eventId) => processed.has(eventId) },
      memoryWrites,
      parts.received,
    ),
    { name: 'metrics', handle: (event) => metrics?.eventReceived(event.type) },
    // Every later step sees the decrypted event; devices for our users before they join.
    ...(encryption ? [encryption] : []),
    new RoomMembershipStep(members, { userId: botUserId, join: (roomId) => matrix.join(botUserId, roomId) }),
    // Before commands and the dispatcher: both read the room's settings.
    new RoomSettingsStep(parts.roomSettings),
    new BotCommandStep({
      table: commands,
      botUserId,
      isAdmin,
      where: parts.commandWhere,
      queue: commandQueue,
      reply: async (from, roomId, text, html) => void (await matrix.sendNotice(from, roomId, text, html)),
      sendFile: async (from, roomId, file) => {
        const url = await matrix.uploadContent(file.data, file.mimetype, file.name);
        const info = { mimetype: file.mimetype, size: file.data.length };
        await matrix.sendEvent(from, roomId, 'm.room.message', { msgtype: 'm.file', body: file.name, filename: file.name, url, info });
      },
    }),
    new PersonaMembershipHandler(personas, parts.personaMatrix, parts.isPersonaUserId, (personaId, roomId, inviter) =>
      parts.firstMessages.greet(personaId, roomId, inviter).then(() => undefined),
    ),
    ...(encryption ? [] : [new EncryptionDisabledHandler(parts.undecryptable)]),
    // Before the dispatcher: a message is remembered before anyone answers it.
    parts.recorder,
    // 👍 👎 ⭐ on answers, withdrawn by redaction; a reply to a 👎-ed answer is its reason.
    new FeedbackStep({ feedback: parts.feedback, memory, personas, isOurUser: parts.isOurUser, isAdmin, isCommand: (body) => commands.classify(body) !== null }),
    // Stop (🛑, !stop) acts before the room's answer queue, which is busy with the answer to stop.
    new ReactionControlStep({
      controls,
      isAdmin,
      // On the command queue: drained at shutdown like the rest, and off the room's event queue.
      regenerate: (request) => void commandQueue.run(request.event.room_id, () => parts.responder.respond(request)).catch(() => undefined),
      stopScene: (roomId) => parts.scenes.stop(roomId),
      stopSceneAt: (roomId, eventId) => parts.scenes.stopAt(roomId, eventId, (id) => controls.isActive(id)),
      charge: (personId, roomId) => {
        const decision = parts.personBudget.hit(personId);
        if (decision === 'limited-notify') void parts.voice.notice(roomId, rateLimitNotice(config.dispatch.user_rate_limit, commands.prefix)).catch(() => undefined);
        return decision === 'allowed';
      },
      isStopCommand: (body) => {
        const parsed = commands.parse(body, 'persona');
        return parsed.kind === 'command' && parsed.command.name === 'stop';
      },
    }),
    // ✅/❌ and !approve/!deny decide a waiting tool call before the room's answer queue, which that call holds.
    new ApprovalStep({
      approvals: parts.approvals,
      isAdmin,
      decisionCommand: (body) => {
        const parsed = commands.parse(body, 'persona');
        const name = parsed.kind === 'command' ? parsed.command.name : null;
        return name === 'approve' || name === 'deny' ? name : null;
      },
    }),
    // Last: its answers start right away, so everything else must have seen the event first.
    parts.dispatcher,
  ];
  // What every step needs to know about an event, worked out once per event (pipeline/InboundEvent).
  const inbound = new InboundEvents({ botUserId, isOurUser: parts.isOurUser, personas, classify: (body) => commands.classify(body), members, voice: parts.voice });
  const pipeline = new EventPipeline(steps, {
    inbound,
    onStepFailed: (step) => metrics?.stepFailed(step),
    afterStep: (step, event) => parts.timelines.lap(event.event_id, step),
  });
  return { pipeline, inbound };
}
