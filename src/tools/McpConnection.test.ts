import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeMcpStdioConfig, startFakeMcpHttp } from '../../tests/support/fakeMcp.js';
import { McpConnection } from './McpConnection.js';
import type { McpServerConfig } from './toolConfig.js';
import type { ToolCallContext } from './Tool.js';

const context = (over: Partial<ToolCallContext> = {}): ToolCallContext => ({
  personaId: '@p:hs',
  personaName: 'Ada',
  roomId: '!r:hs',
  requester: '@bob:hs',
  threadRootId: null,
  isDirect: true,
  eventId: '$e',
  signal: new AbortController().signal,
  timeoutMs: 10_000,
  ...over,
});

function stdioConfig(callLog: string): McpServerConfig {
  return { ...fakeMcpStdioConfig('weather', callLog), headers: {}, approval: 'never' } as McpServerConfig;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('McpConnection over stdio (the fake server in its own process)', () => {
  const callLog = join(mkdtempSync(join(tmpdir(), 'mcp-')), 'calls.jsonl');
  let changes = 0;
  const connection = new McpConnection(stdioConfig(callLog), { onToolsChanged: () => changes++, backoff: { firstMs: 50, maxMs: 200, stableMs: 60_000 } });
  beforeAll(() => connection.start(), 30_000);
  afterAll(() => connection.stop());

  test('lists the tools at start and calls one', async () => {
    expect(connection.status()).toMatchObject({ server: 'weather', kind: 'stdio', state: 'ready', error: null });
    expect(connection.tools().map((t) => t.qualified)).toContain('weather/get_forecast');
    const output = await connection.call('get_forecast', { city: 'Paris' }, context());
    expect(output).toEqual({ text: 'Forecast for Paris: sunny, 21 °C', isError: false, images: [] });
    expect(readFileSync(callLog, 'utf8')).toContain('"get_forecast"');
  });

  test('an error result, a picture, and a call that never returns (timed out, not hung)', async () => {
    expect(await connection.call('fail', {}, context())).toMatchObject({ isError: true, text: 'the fake tool failed on purpose' });
    expect((await connection.call('picture', {}, context())).images).toHaveLength(1);
    const hung = await connection.call('hang', {}, context({ timeoutMs: 300 }));
    expect(hung).toMatchObject({ isError: true, text: expect.stringContaining('did not answer') });
  });

  test('notifications/tools/list_changed lists the tools again', async () => {
    const before = changes;
    await connection.call('add_tool', { name: 'new_tool' }, context());
    await until('the new tool', () => connection.tools().some((t) => t.name === 'new_tool'));
    expect(changes).toBeGreaterThan(before);
  });

  test('a server that dies is started again (restarts counted) and works', async () => {
    const crashed = await connection.call('crash', {}, context());
    expect(crashed.isError).toBe(true);
    await until('the restart', () => connection.status().restarts >= 1 && connection.status().state === 'ready');
    expect((await connection.call('get_forecast', { city: 'Oslo' }, context())).text).toContain('Oslo');
  }, 30_000);
});

describe('McpConnection failures', () => {
  test('a command that does not exist is a failed state with the reason, retried, never thrown', async () => {
    const connection = new McpConnection({ name: 'nope', command: '/nonexistent/mcp-server', args: [], env: {}, headers: {}, approval: 'never' } as McpServerConfig, {
      backoff: { firstMs: 60_000, maxMs: 60_000, stableMs: 60_000 },
    });
    await connection.start();
    expect(connection.status()).toMatchObject({ state: 'failed', error: expect.stringMatching(/ENOENT|not found|spawn/i), restarts: 0 });
    expect(connection.tools()).toEqual([]);
    expect(await connection.call('x', {}, context())).toMatchObject({ isError: true, text: expect.stringContaining('not available') });
    await connection.stop();
    expect(connection.status().state).toBe('stopped');
  });
});

describe('McpConnection over Streamable HTTP', () => {
  test('lists and calls', async () => {
    const http = await startFakeMcpHttp();
    const connection = new McpConnection({ name: 'web', url: http.url, args: [], env: {}, headers: { authorization: 'Bearer x' }, approval: 'never' } as McpServerConfig);
    try {
      await connection.start();
      expect(connection.status()).toMatchObject({ kind: 'http', state: 'ready' });
      expect((await connection.call('echo', { text: 'hello' }, context())).text).toBe('hello');
    } finally {
      await connection.stop();
      await http.stop();
    }
  });
});

describe('--check', () => {
  test('a working server passes with its tools, a broken one fails with the reason', async () => {
    const { checkToolServers } = await import('../doctor/toolChecks.js');
    const callLog = join(mkdtempSync(join(tmpdir(), 'mcp-')), 'calls.jsonl');
    const results = await checkToolServers({
      tools: { mcp_servers: [stdioConfig(callLog), { name: 'broken', command: '/nonexistent/server', args: [], env: {}, headers: {}, approval: 'never' }] } as never,
    });
    expect(results[0]).toMatchObject({ name: 'tool server weather', status: 'pass', detail: expect.stringContaining('get_forecast') });
    expect(results[1]).toMatchObject({ name: 'tool server broken', status: 'fail', detail: expect.stringContaining('ENOENT') });
  }, 30_000);
});
