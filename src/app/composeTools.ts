/**
 * The composition of personas' tools (part of the composition root, compose.ts): the MCP
 * servers, the built-in tools, the catalogue that offers them and the loop that runs a
 * persona's calls inside an answer.
 */
import type { BridgeConfig } from '../config/Config.js';
import type { LlmRouter } from '../llm/LlmRouter.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import type { MessageSearch } from '../memory/MessageSearch.js';
import type { NoteStore } from '../memory/NoteStore.js';
import type { Metrics } from '../metrics/Metrics.js';
import { relationFor } from '../reply/replyContent.js';
import type { Db } from '../store/Database.js';
import { ImageTools, MemoryTools, type ToolImageSender } from '../tools/builtinTools.js';
import { ToolAnswering } from '../tools/ToolAnswering.js';
import { ToolApprovals } from '../tools/ToolApprovals.js';
import { ToolCatalog } from '../tools/ToolCatalog.js';
import { approvalPatterns } from '../tools/toolConfig.js';
import { ToolLoop } from '../tools/ToolLoop.js';
import { ToolRunStore } from '../tools/ToolRunStore.js';
import { ToolServers } from '../tools/ToolServers.js';

export interface ToolParts {
  config: BridgeConfig;
  db: Db;
  matrix: MatrixGateway;
  llm: LlmRouter;
  metrics: Metrics | null;
  search: MessageSearch;
  notes: NoteStore;
  /**
   * Whether an answer may take one more round of tool calls: within the daily caps, and the
   * round charged to the person the answer is for (one budget per person).
   */
  mayContinue(personaId: string, userId: string | null): boolean;
}

export interface Tools {
  servers: ToolServers;
  catalog: ToolCatalog;
  approvals: ToolApprovals;
  /** What the persona responder completes its answers with. */
  answering: ToolAnswering;
}

export function composeTools({ config, db, matrix, llm, metrics, search, notes, mayContinue }: ToolParts): Tools {
  const servers = new ToolServers(config.tools.mcp_servers, (server) => ({
    onRestart: () => metrics?.toolServerRestarted(server),
  }));
  const runs = new ToolRunStore(db);
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
  const catalog = new ToolCatalog(
    [
      new MemoryTools({ search, notes }),
      ...(config.images.generation ? [new ImageTools(config.images.generation, { sendImage })] : []),
      ...servers.connections,
    ],
    { servers: Object.fromEntries(config.tools.mcp_servers.map((s) => [s.name, s.approval])), patterns: approvalPatterns(config.tools) },
  );
  const answering = new ToolAnswering({
    catalog,
    llm,
    notes: runs,
    loop: new ToolLoop({
      catalog,
      llm,
      approvals,
      runs,
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
    mayContinue,
  });
  return { servers, catalog, approvals, answering };
}
