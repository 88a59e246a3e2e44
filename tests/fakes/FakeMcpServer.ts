/**
 * A real MCP server written with the official SDK, for tests: its tools cover what the tool
 * loop must cope with. Run it over stdio in its own process (`fakeMcpStdio.ts`, as the bridge
 * starts any MCP server) or over Streamable HTTP in the test's process.
 *
 * Tools:
 * - `get_forecast {city}`: "Forecast for CITY: sunny, 21 °C";
 * - `echo {text}`: the text back (a test's payload: commands, mentions);
 * - `big {bytes}`: that many characters of text;
 * - `hang`: never answers;
 * - `crash`: the process exits (stdio) without answering;
 * - `fail`: an error result;
 * - `picture`: a small PNG;
 * - `add_tool {name}`: a new tool of that name appears (notifications/tools/list_changed);
 * - `send_email {to, text}`: "sent to TO" (an action one would want approved).
 *
 * Every call is appended as one JSON line `{tool, arguments, pid}` to the file named by the
 * environment variable FAKE_MCP_LOG (stdio), so a test counts how often a tool really ran.
 */
import { appendFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** A 1x1 PNG. */
export const TINY_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==';

const objectSchema = (properties: Record<string, unknown> = {}) => ({ type: 'object' as const, properties });

const BASE_TOOLS = [
  { name: 'get_forecast', description: 'The weather forecast for a city.', inputSchema: objectSchema({ city: { type: 'string' } }) },
  { name: 'echo', description: 'Returns the text it is given.', inputSchema: objectSchema({ text: { type: 'string' } }) },
  { name: 'big', description: 'Returns that many characters.', inputSchema: objectSchema({ bytes: { type: 'number' } }) },
  { name: 'hang', description: 'Never returns.', inputSchema: objectSchema() },
  { name: 'crash', description: 'Makes the server exit.', inputSchema: objectSchema() },
  { name: 'fail', description: 'Always fails.', inputSchema: objectSchema() },
  { name: 'picture', description: 'A small picture.', inputSchema: objectSchema() },
  { name: 'add_tool', description: 'Adds a tool.', inputSchema: objectSchema({ name: { type: 'string' } }) },
  { name: 'send_email', description: 'Sends an e-mail.', inputSchema: objectSchema({ to: { type: 'string' }, text: { type: 'string' } }) },
];

export interface FakeMcpOptions {
  /** Where each call is logged as a JSON line (default: FAKE_MCP_LOG, else nowhere). */
  callLog?: string;
  /** Called for each call (in-process servers). */
  onCall?: (tool: string, args: Record<string, unknown>) => void;
}

export function createFakeMcpServer(options: FakeMcpOptions = {}): Server {
  const server = new Server({ name: 'fake-mcp', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  const tools = [...BASE_TOOLS];
  const callLog = options.callLog ?? process.env.FAKE_MCP_LOG;
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const name = request.params.name;
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    if (callLog) appendFileSync(callLog, `${JSON.stringify({ tool: name, arguments: args, pid: process.pid })}\n`);
    options.onCall?.(name, args);
    const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
    switch (name) {
      case 'get_forecast':
        return text(`Forecast for ${String(args.city ?? 'nowhere')}: sunny, 21 °C`);
      case 'echo':
        return text(String(args.text ?? ''));
      case 'big':
        return text('x'.repeat(Math.max(0, Math.min(Number(args.bytes) || 0, 64 * 1024 * 1024))));
      case 'hang':
        return new Promise<never>(() => undefined);
      case 'crash':
        setImmediate(() => process.exit(3));
        return new Promise<never>(() => undefined);
      case 'fail':
        return { content: [{ type: 'text' as const, text: 'the fake tool failed on purpose' }], isError: true };
      case 'picture':
        return { content: [{ type: 'image' as const, data: TINY_PNG_BASE64, mimeType: 'image/png' }] };
      case 'send_email':
        return text(`sent to ${String(args.to ?? 'nobody')}`);
      case 'add_tool': {
        const added = String(args.name ?? 'added');
        tools.push({ name: added, description: `Added at run time: ${added}.`, inputSchema: objectSchema() });
        await server.sendToolListChanged();
        return text(`added ${added}`);
      }
      default: {
        if (tools.some((t) => t.name === name)) return text(`${name} ran`);
        return { content: [{ type: 'text' as const, text: `unknown tool ${name}` }], isError: true };
      }
    }
  });
  return server;
}
