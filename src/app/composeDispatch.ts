/**
 * The composition of dispatch (part of the composition root, compose.ts): the dispatcher,
 * which decides who answers a message and queues the answers, and the scenes (`!converse`),
 * whose turns run on the dispatcher's answer queue and count against its turn budget.
 */
import { runCommand } from '../commands/CommandRunner.js';
import type { CommandTable } from '../commands/CommandTable.js';
import { runUnaddressedCommand } from '../commands/unaddressedCommands.js';
import type { BridgeConfig } from '../config/Config.js';
import { Dispatcher } from '../dispatch/Dispatcher.js';
import type { RateLimiter } from '../dispatch/RateLimiter.js';
import { DEFAULT_TALKATIVENESS } from '../dispatch/speakerOrder.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import { threadRootId } from '../matrix/relations.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import type { AnswerTimelines } from '../metrics/AnswerTimeline.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import type { EventHandling } from '../pipeline/EventHandling.js';
import type { PersonaResponder } from '../reply/PersonaResponder.js';
import { noticeContent } from '../reply/replyContent.js';
import { talkativenessIn } from '../rooms/roomSettings.js';
import type { RoomSettingsStore } from '../rooms/RoomSettingsStore.js';
import type { RoomVoice } from '../rooms/RoomVoice.js';
import { RunningScenes } from '../scenes/RunningScenes.js';
import { SceneDirector } from '../scenes/SceneDirector.js';

export interface DispatchParts {
  config: BridgeConfig;
  botUserId: string;
  isAdmin(userId: string): boolean;
  personBudget: RateLimiter;
  memory: MemoryStore;
  /** Settles an event once its answers are written. */
  events: Pick<EventHandling, 'settle'>;
  timelines: AnswerTimelines;
  personas: PersonaStore;
  responder: PersonaResponder;
  members: RoomMembers;
  metrics: Metrics | null;
  roomSettings: RoomSettingsStore;
  /** Persona commands (`!forget`) are run from it; it may still be filling. */
  commands: CommandTable;
  matrix: MatrixGateway;
  voice: RoomVoice;
}

export function composeDispatch(parts: DispatchParts): { dispatcher: Dispatcher; scenes: SceneDirector } {
  const { config, personBudget, events, roomSettings, personas, matrix, voice, responder } = parts;
  const prefix = config.commands.prefix;
  // What the dispatcher asks of the scenes, kept up to date by the director built after it.
  const runningScenes = new RunningScenes();
  const dispatcher = new Dispatcher({
    rateLimiter: personBudget,
    lastPersonIn: (roomId) => parts.memory.lastPersonIn(roomId),
    // Its answers written, an event is no longer pending.
    onSettled: (eventId) => events.settle(eventId),
    timelines: parts.timelines,
    config: config.dispatch,
    botUserId: parts.botUserId,
    personas,
    responder,
    members: parts.members,
    onLoopSuppressed: () => parts.metrics?.loopSuppressed(),
    turnLimitFor: (roomId) => roomSettings.get(roomId).turn_budget,
    orderOf: (roomId) => roomSettings.get(roomId).order ?? 'mention',
    talkativenessIn: (roomId, persona) => talkativenessIn(roomSettings.get(roomId), persona) ?? DEFAULT_TALKATIVENESS,
    joinedAtIn: (roomId) => personas.joinedAtIn(roomId),
    commandPrefix: prefix,
    silencedIn: (roomId, persona) => roomSettings.silencedIn(roomId, persona),
    scenes: runningScenes,
    // The persona answers its commands with a notice, in the thread / as a reply like an answer.
    runPersonaCommand: (request) =>
      runCommand(
        {
          table: parts.commands,
          isAdmin: parts.isAdmin,
          reply: async (roomId, text) => {
            const relation = { eventId: request.event.event_id, threadRootId: request.threadRootId };
            await matrix.sendEvent(request.persona.userId, roomId, 'm.room.message', noticeContent(text, relation));
          },
        },
        request.event,
        String(request.event.content.body),
        { persona: request.persona, isDirect: request.isDirect, threadRootId: request.threadRootId },
      ),
    // A persona command that names no persona in a group room: for the bridge, in the room's voice.
    runUnaddressedCommand: (event, speakers) =>
      runUnaddressedCommand(
        {
          table: parts.commands,
          isAdmin: parts.isAdmin,
          voice,
          reply: async (from, command, text) => {
            const relation = { eventId: command.event_id, threadRootId: threadRootId(command.content) };
            await matrix.sendEvent(from, command.room_id, 'm.room.message', noticeContent(text, relation));
          },
        },
        event,
        String(event.content.body),
        speakers,
      ),
    sendNotice: (userId, roomId, text) => matrix.sendNotice(userId, roomId, text),
    voice,
    fetchSender: async (roomId, eventId, asUserId) => {
      const event = await matrix.getEvent(asUserId, roomId, eventId);
      return typeof event.sender === 'string' ? event.sender : null;
    },
  });
  // Scenes (`!converse`): turns on the dispatcher's answer queue, counted by its turn budget.
  const scenes = new SceneDirector({
    running: runningScenes,
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
    commandPrefix: prefix,
  });
  return { dispatcher, scenes };
}
