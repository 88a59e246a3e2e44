/**
 * How tests run the fake MCP server (tests/fakes/FakeMcpServer.ts): over stdio in its own
 * process, configured as the bridge configures any stdio server, or over Streamable HTTP on a
 * local port in the test's process.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createFakeMcpServer, type FakeMcpOptions } from '../fakes/FakeMcpServer.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A `tools.mcp_servers` entry that starts the fake server over stdio; each call logged to `callLog`. */
export function fakeMcpStdioConfig(name: string, callLog: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    command: process.execPath,
    args: ['--import', `${REPO}tools/register-ts.mjs`, `${REPO}tests/fakes/fakeMcpStdio.ts`],
    env: { FAKE_MCP_LOG: callLog },
    cwd: REPO,
    ...extra,
  };
}

export interface FakeMcpHttp {
  url: string;
  stop(): Promise<void>;
}

/** The fake server over Streamable HTTP (stateless: one server and transport per request). */
export async function startFakeMcpHttp(options: FakeMcpOptions = {}): Promise<FakeMcpHttp> {
  const http: HttpServer = createServer((req, res) => {
    const server = createFakeMcpServer(options);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    stop: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
