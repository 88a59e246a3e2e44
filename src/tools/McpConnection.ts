import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { getLogger } from '../logging.js';
import type { McpServerConfig } from './toolConfig.js';
import { LineReader } from './lineReader.js';
import { mcpOutput } from './mcpOutput.js';
import { errorOutput, type ToolCallContext, type ToolOutput, type ToolServerState, type ToolServerStatus, type ToolSource, type ToolSpec } from './Tool.js';
import { qualifiedName } from './toolNames.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('McpConnection');

/**
 * Bytes one message from a server may take (a tool result included). Beyond it the stdio
 * transport drops the connection (the server is started again) and an HTTP response is cut
 * off: either way the call fails with an error, the bridge keeps its memory. Results are cut
 * much shorter for the model anyway (tools.result_tokens).
 */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/** Tools listed per server at most (pages of tools/list followed until then). */
const MAX_TOOLS = 500;
/** Backoff between restarts: doubling from the first, up to the last; reset after a minute up. */
export const RESTART_BACKOFF = { firstMs: 1000, maxMs: 60_000, stableMs: 60_000 };
/** Connecting (start, initialize, first tools/list) may take this long. */
const CONNECT_TIMEOUT_MS = 30_000;

export interface McpConnectionOptions {
  /** Called when the server's tool list changed (listed again after notifications/tools/list_changed, or after a restart). */
  onToolsChanged?: () => void;
  /** Called after each call with its outcome and duration (metrics). */
  onCall?: (tool: string, outcome: 'ok' | 'error', ms: number) => void;
  /** Called each time the server is started (connected) again after it died or failed. */
  onRestart?: () => void;
  backoff?: { firstMs: number; maxMs: number; stableMs: number };
}

/**
 * One MCP server through the official SDK: a stdio server is started as a child process, an
 * HTTP one reached over Streamable HTTP. It is connected at start and again, with backoff,
 * whenever it dies or its connection fails; its tools are listed on connecting and again when
 * it says they changed. Nothing here throws at the bridge: a server that fails is a state
 * (`status()`), and its calls are error results.
 */
export class McpConnection implements ToolSource {
  readonly server: string;
  private client: Client | null = null;
  private toolList: ToolSpec[] = [];
  private state: ToolServerState = 'stopped';
  private error: string | null = null;
  private since = Date.now();
  private restarts = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stableTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  /** Bumped per connection: callbacks of an old one change nothing. */
  private generation = 0;
  private readonly backoff: { firstMs: number; maxMs: number; stableMs: number };

  constructor(
    private readonly config: McpServerConfig,
    private readonly options: McpConnectionOptions = {},
  ) {
    this.server = config.name;
    this.backoff = options.backoff ?? RESTART_BACKOFF;
  }

  /** Connects (never rejects: a failure schedules a retry); resolves once connected or failed once. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.retryTimer = this.stableTimer = null;
    await this.closeClient();
    this.setState('stopped', null);
  }

  tools(): ToolSpec[] {
    return this.state === 'ready' ? this.toolList : [];
  }

  status(): ToolServerStatus {
    return {
      server: this.server,
      kind: this.config.url ? 'http' : 'stdio',
      state: this.state,
      tools: this.toolList.length,
      restarts: this.restarts,
      error: this.error,
      since: this.since,
    };
  }

  async call(tool: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolOutput> {
    const client = this.client;
    const startedAt = Date.now();
    if (!client || this.state !== 'ready') {
      return errorOutput(`The tool server ${this.server} is not available right now (${this.state}${this.error ? `: ${this.error}` : ''}).`);
    }
    const timeoutMs = Math.min(context.timeoutMs, (this.config.timeout_seconds ?? Infinity) * 1000);
    try {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, {
        signal: context.signal,
        timeout: timeoutMs,
        maxTotalTimeout: timeoutMs,
      });
      const output = mcpOutput(result);
      this.options.onCall?.(tool, output.isError ? 'error' : 'ok', Date.now() - startedAt);
      return output;
    } catch (err) {
      if (context.signal.aborted) throw context.signal.reason instanceof Error ? context.signal.reason : new Error('cancelled');
      this.options.onCall?.(tool, 'error', Date.now() - startedAt);
      const message = describeError(err);
      const timedOut = /timed? ?out/i.test(message);
      return errorOutput(timedOut ? `The tool ${qualifiedName(this.server, tool)} did not answer within ${Math.round(timeoutMs / 1000)} s.` : `The tool ${qualifiedName(this.server, tool)} failed: ${message}`);
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.setState(this.restarts > 0 || this.attempt > 0 ? 'restarting' : 'starting', this.error);
    try {
      const [{ Client }, transport] = await Promise.all([import('@modelcontextprotocol/sdk/client/index.js'), this.newTransport()]);
      const client = new Client(
        { name: 'matrix-appservice-personas', version: '1' },
        {
          capabilities: {},
          listChanged: { tools: { autoRefresh: false, onChanged: () => void this.refreshTools(generation) } },
        },
      );
      client.onclose = () => this.lost(generation, 'the connection closed');
      client.onerror = (err) => log.debug(`${this.server}: ${err.message}`);
      this.client = client;
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      if (generation !== this.generation) return;
      this.toolList = await this.listTools(client);
      if (generation !== this.generation) return;
      this.setState('ready', null);
      log.info(`tool server ${this.server} ready: ${this.toolList.length} tool(s)`);
      this.options.onToolsChanged?.();
      // Up for a while: the next failure starts the backoff over.
      this.stableTimer = setTimeout(() => (this.attempt = 0), this.backoff.stableMs);
      this.stableTimer.unref();
    } catch (err) {
      if (generation !== this.generation) return;
      // Closing fires onclose: that connection's callbacks must not schedule a second retry.
      this.generation++;
      await this.closeClient();
      this.retry(`${describeError(err)}`);
    }
  }

  private async newTransport(): Promise<Transport> {
    if (this.config.url) {
      const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
      return new StreamableHTTPClientTransport(new URL(this.config.url), {
        requestInit: { headers: this.config.headers },
        fetch: boundedFetch(MAX_MESSAGE_BYTES),
      });
    }
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const transport = new StdioClientTransport({
      command: this.config.command!,
      args: this.config.args,
      env: this.config.env,
      ...(this.config.cwd ? { cwd: this.config.cwd } : {}),
      stderr: 'pipe',
      maxBufferSize: MAX_MESSAGE_BYTES,
    });
    // The SDK's line splitting is quadratic in a message's size (see LineReader).
    const internals = transport as unknown as { _readBuffer?: { append?: unknown } };
    if (typeof internals._readBuffer?.append === 'function') internals._readBuffer = new LineReader(MAX_MESSAGE_BYTES);
    // A server's own log lines, at debug: they may hold anything, secrets included.
    transport.stderr?.on('data', (chunk: Buffer) => log.debug(`${this.server} stderr: ${chunk.toString('utf8').slice(0, 2000).trimEnd()}`));
    return transport;
  }

  private async listTools(client: Client): Promise<ToolSpec[]> {
    const tools: ToolSpec[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: CONNECT_TIMEOUT_MS });
      for (const tool of page.tools) {
        if (tools.length >= MAX_TOOLS) break;
        tools.push({
          qualified: qualifiedName(this.server, tool.name),
          server: this.server,
          name: tool.name,
          description: (tool.description ?? tool.title ?? '').slice(0, 1024),
          parameters: (tool.inputSchema as Record<string, unknown> | undefined) ?? { type: 'object', properties: {} },
        });
      }
      cursor = page.nextCursor;
    } while (cursor && tools.length < MAX_TOOLS);
    return tools;
  }

  private async refreshTools(generation: number): Promise<void> {
    const client = this.client;
    if (!client || generation !== this.generation) return;
    try {
      const tools = await this.listTools(client);
      if (generation !== this.generation) return;
      this.toolList = tools;
      log.info(`tool server ${this.server} changed its tools: ${tools.length} now`);
      this.options.onToolsChanged?.();
    } catch (err) {
      log.warn(`tool server ${this.server}: listing its changed tools failed: ${describeError(err)}`);
    }
  }

  /** The connection of `generation` closed: unless stopping, start again after the backoff. */
  private lost(generation: number, why: string): void {
    if (generation !== this.generation || this.stopped) return;
    this.generation++;
    this.client = null;
    this.retry(why);
  }

  private retry(why: string): void {
    if (this.stopped) return;
    if (this.stableTimer) clearTimeout(this.stableTimer);
    const delay = Math.min(this.backoff.maxMs, this.backoff.firstMs * 2 ** this.attempt);
    this.attempt++;
    this.setState('failed', why);
    log.warn(`tool server ${this.server} failed (${why}); starting it again in ${Math.round(delay / 1000)} s`);
    this.options.onToolsChanged?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.restarts++;
      this.options.onRestart?.();
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private async closeClient(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.close().catch(() => undefined);
  }

  private setState(state: ToolServerState, error: string | null): void {
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.error = error;
  }
}

/**
 * fetch whose response bodies stop at `maxBytes`: an HTTP server sending a huge result fails
 * that request instead of filling the bridge's memory.
 */
function boundedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    let seen = 0;
    const limited = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) controller.error(new Error(`the server's response is larger than ${maxBytes} bytes`));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(limited, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
