import type { BridgeConfig } from '../config/Config.js';
import { McpConnection } from '../tools/McpConnection.js';
import { fail, pass, type CheckResult } from '../probes/CheckResult.js';

/**
 * Each MCP server of tools.mcp_servers, started (stdio) or connected (HTTP) once and its tools
 * listed, then stopped: what the bridge would get at start. A server that fails fails the
 * check (the bridge itself would start, without its tools).
 */
export async function checkToolServers(config: Pick<BridgeConfig, 'tools'>): Promise<CheckResult[]> {
  return Promise.all(
    config.tools.mcp_servers.map(async (server) => {
      const name = `tool server ${server.name}`;
      // No retry within the check: one attempt says it.
      const connection = new McpConnection(server, { backoff: { firstMs: 3600_000, maxMs: 3600_000, stableMs: 3600_000 } });
      try {
        await connection.start();
        const status = connection.status();
        if (status.state !== 'ready') {
          return fail(name, `${server.url ?? server.command}: ${status.error ?? status.state}`, server.url ? 'is the server running at that URL, and are its headers right?' : 'does the command run on its own (same user, same working folder)?');
        }
        const tools = connection.tools().map((t) => t.name);
        return pass(name, `${tools.length} tool${tools.length === 1 ? '' : 's'}${tools.length ? `: ${tools.slice(0, 10).join(', ')}${tools.length > 10 ? ', …' : ''}` : ''}`);
      } finally {
        await connection.stop();
      }
    }),
  );
}
