import { getLogger } from '../logging.js';
import { McpConnection, type McpConnectionOptions } from './McpConnection.js';
import type { McpServerConfig } from './toolConfig.js';

const log = getLogger('ToolServers');

/**
 * The configured MCP servers (tools.mcp_servers): started with the bridge, each on its own
 * (one that fails does not hold up the others or the bridge), stopped with it.
 */
export class ToolServers {
  readonly connections: McpConnection[];

  constructor(configs: readonly McpServerConfig[], options: (server: string) => McpConnectionOptions = () => ({})) {
    this.connections = configs.map((config) => new McpConnection(config, options(config.name)));
  }

  /** Starts every server; resolves once each is ready or has failed once (it keeps retrying). */
  async start(): Promise<void> {
    if (this.connections.length === 0) return;
    await Promise.all(this.connections.map((c) => c.start()));
    const failed = this.connections.filter((c) => c.status().state !== 'ready');
    log.info(`tool servers: ${this.connections.length - failed.length} of ${this.connections.length} ready${failed.length ? ` (not: ${failed.map((c) => c.server).join(', ')})` : ''}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.stop()));
  }
}
