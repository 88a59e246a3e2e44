/**
 * The tools the bridge can run for a persona, whoever provides them: an MCP server
 * (McpConnection) or the bridge itself (built-in tools). The tool loop, the catalogue and the
 * status report only see these shapes.
 */

/** One tool as offered to the model. */
export interface ToolSpec {
  /** `server/tool`, as allow-lists and approvals name it. */
  qualified: string;
  server: string;
  name: string;
  description: string;
  /** JSON Schema of the arguments (an object schema). */
  parameters: Record<string, unknown>;
}

/** Who a call runs for, and where: built-in tools act in the persona's room. */
export interface ToolCallContext {
  personaId: string;
  personaName: string;
  roomId: string;
  /** Who the answer is for. */
  requester: string;
  threadRootId: string | null;
  /** A direct chat (two members): a note there is the persona's own. */
  isDirect: boolean;
  /** The message being answered. */
  eventId: string;
  signal: AbortSignal;
  timeoutMs: number;
}

export interface ToolImage {
  mimeType: string;
  /** Base64. */
  data: string;
}

/** What a call gave back: text for the model (an error's text too), and any pictures. */
export interface ToolOutput {
  text: string;
  isError: boolean;
  images: ToolImage[];
}

export type ToolServerState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

export interface ToolServerStatus {
  server: string;
  kind: 'stdio' | 'http' | 'builtin';
  state: ToolServerState;
  tools: number;
  /** Times it was started again after it died or its connection failed. */
  restarts: number;
  /** The last failure, while not ready. */
  error: string | null;
  /** When the state last changed (ms since epoch). */
  since: number;
}

/** A provider of tools under one server name. */
export interface ToolSource {
  readonly server: string;
  tools(): ToolSpec[];
  /** Never rejects for a tool's own failure (that is an error output); rejects only when cancelled. */
  call(tool: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolOutput>;
  status(): ToolServerStatus;
}

export function errorOutput(text: string): ToolOutput {
  return { text, isError: true, images: [] };
}

export function textOutput(text: string): ToolOutput {
  return { text, isError: false, images: [] };
}
