import type { BridgeConfig } from '../config/Config.js';
import { LlmClient, type LlmClientOptions } from '../llm/LlmClient.js';
import type { MatrixSender } from '../matrix/MatrixSender.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import { MemoryStore } from '../memory/MemoryStore.js';
import { MessageRecorder } from '../memory/MessageRecorder.js';
import { Summarizer } from '../memory/Summarizer.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import type { Db } from '../store/Database.js';
import { isMemoryCommand, MemoryCommands } from './MemoryCommands.js';
import { PersonaResponder, type PersonaResponderDeps } from './PersonaResponder.js';

/** The parts of the application (PersonaBridge) the reply pipeline is built from. */
export interface ReplyPipelineHost {
  readonly config: BridgeConfig;
  readonly botUserId: string;
  /** Throws until the bridge has started; only used once events flow. */
  readonly database: Db;
  readonly sender: Pick<MatrixSender, 'sendEvent' | 'setTyping' | 'sendReadReceipt'>;
  readonly members: Pick<RoomMembers, 'ensureLoaded' | 'joined' | 'displayName' | 'isJoined'>;
  readonly personas: PersonaDirectory;
  readonly commands: { isCommand(body: string): boolean };
  isAdmin(userId: string): boolean;
  isOurUser(userId: string): boolean;
}

export interface ReplyPipeline {
  llm: LlmClient;
  memory: MemoryStore;
  summarizer: Summarizer;
  /** Event handler recording conversation; register it before the dispatcher. */
  recorder: MessageRecorder;
  responder: PersonaResponder;
  /** `!forget` / `!summary`: the dispatcher's PersonaCommandHook. */
  memoryCommands: MemoryCommands;
}

/** Builds LLM access, memory, summaries, the responder and the memory commands. */
export function createReplyPipeline(
  host: ReplyPipelineHost,
  llmOptions: LlmClientOptions = {},
  responderHooks: Pick<PersonaResponderDeps, 'onReplied'> = {},
): ReplyPipeline {
  const { config } = host;
  const llm = new LlmClient(config.llm, llmOptions);
  const memory = new MemoryStore(() => host.database);
  const summarizer = new Summarizer({
    memory,
    llm,
    summarizeAfterMessages: config.memory.summarize_after_messages,
    contextTokens: config.memory.context_tokens,
  });
  const recorder = new MessageRecorder({
    memory,
    members: host.members,
    personas: host.personas,
    isOurUser: (userId) => host.isOurUser(userId),
    isCommand: (body) => host.commands.isCommand(body) || isMemoryCommand(body),
  });
  const responder = new PersonaResponder({
    llm,
    memory,
    summarizer,
    matrix: host.sender,
    members: host.members,
    personas: host.personas,
    botUserId: host.botUserId,
    contextTokens: config.memory.context_tokens,
    ...responderHooks,
  });
  const memoryCommands = new MemoryCommands({
    memory,
    personas: host.personas,
    members: host.members,
    isAdmin: (userId) => host.isAdmin(userId),
    sendEvent: (userId, roomId, type, content) => host.sender.sendEvent(userId, roomId, type, content),
    summarizeAfterMessages: config.memory.summarize_after_messages,
  });
  return { llm, memory, summarizer, recorder, responder, memoryCommands };
}
