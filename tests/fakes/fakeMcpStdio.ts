/**
 * The fake MCP server (FakeMcpServer.ts) over stdio, in a process of its own, as the bridge
 * starts any MCP server: `node --import ./tools/register-ts.mjs tests/fakes/fakeMcpStdio.ts`.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createFakeMcpServer } from './FakeMcpServer.js';

const server = createFakeMcpServer();
await server.connect(new StdioServerTransport());
