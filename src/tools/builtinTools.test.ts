import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TINY_PNG_BASE64 } from '../../tests/fakes/FakeMcpServer.js';
import { ImageTools, MemoryTools } from './builtinTools.js';
import type { ToolCallContext } from './Tool.js';
import { describeToolServers } from './toolStatus.js';

const context = (over: Partial<ToolCallContext> = {}): ToolCallContext => ({
  personaId: '@ada:hs', personaName: 'Ada', roomId: '!r:hs', requester: '@bob:hs', threadRootId: null, isDirect: false, eventId: '$q', signal: new AbortController().signal, timeoutMs: 5000, ...over,
});

describe('memory tools', () => {
  test('search is scoped to the room and the persona; note follows !remember (group: for the room; DM: for the persona; limits)', async () => {
    const searched: unknown[] = [];
    const added: unknown[] = [];
    const tools = new MemoryTools({
      search: { search: (query, scope, n) => (searched.push({ query, scope, n }), [{ message: { body: 'the cake was lemon', ts: 0, displayName: 'Bob', sender: '@bob:hs' } }] as never) },
      notes: { forPersona: () => [], add: (note) => (added.push(note), { id: 7 }) as never },
    });
    expect((await tools.call('search', { query: 'cake' }, context())).text).toContain('Bob: the cake was lemon');
    expect(searched).toEqual([{ query: 'cake', scope: { roomId: '!r:hs', personaId: '@ada:hs' }, n: 5 }]);
    expect((await tools.call('note', { text: 'likes lemon' }, context())).text).toBe('Noted (#7).');
    await tools.call('note', { text: 'in a DM' }, context({ isDirect: true }));
    expect(added).toEqual([
      { roomId: '!r:hs', personaId: null, body: 'likes lemon', author: '@bob:hs', eventId: null },
      { roomId: '!r:hs', personaId: '@ada:hs', body: 'in a DM', author: '@bob:hs', eventId: null },
    ]);
    expect(await tools.call('note', { text: 'x'.repeat(501) }, context())).toMatchObject({ isError: true });
    expect(await tools.call('search', {}, context())).toMatchObject({ isError: true });
  });
});

describe('images/generate', () => {
  test('asks the endpoint, sends the picture to the room, tells the model it is there; a refusal is an error result', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    let refuse = false;
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        bodies.push({ path: req.url, auth: req.headers.authorization, ...(JSON.parse(text) as Record<string, unknown>) });
        res.writeHead(refuse ? 400 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(refuse ? { error: { message: 'unsafe prompt' } } : { data: [{ b64_json: TINY_PNG_BASE64 }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sent: Array<{ mimetype: string; description: string; size: number }> = [];
    const tools = new ImageTools(
      { base_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, api_key: 'sk-img', model: 'img-1', size: '512x512', timeout_seconds: 5 },
      { sendImage: async (_ctx, image) => (sent.push({ mimetype: image.mimetype, description: image.description, size: image.data.length }), '$img') },
    );
    try {
      const output = await tools.call('generate', { prompt: 'a lemon cake' }, context());
      expect(output).toMatchObject({ isError: false, text: expect.stringContaining('shown in the room ($img)') });
      expect(bodies[0]).toMatchObject({ path: '/v1/images/generations', auth: 'Bearer sk-img', model: 'img-1', prompt: 'a lemon cake', size: '512x512', n: 1 });
      expect(sent).toEqual([{ mimetype: 'image/png', description: 'a lemon cake', size: Buffer.from(TINY_PNG_BASE64, 'base64').length }]);
      refuse = true;
      expect(await tools.call('generate', { prompt: 'x' }, context())).toMatchObject({ isError: true, text: expect.stringContaining('HTTP 400: unsafe prompt') });
      expect(sent).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});

describe('describeToolServers', () => {
  test('one line per server: state, tools, restarts, the failure while not ready', () => {
    const lines = describeToolServers(
      [
        { server: 'memory', kind: 'builtin', state: 'ready', tools: 2, restarts: 0, error: null, since: 0 },
        { server: 'weather', kind: 'stdio', state: 'failed', tools: 3, restarts: 2, error: 'the connection closed', since: 1_000 },
      ],
      61_000,
    );
    expect(lines).toEqual(['memory (built-in): ready, 2 tools', 'weather (stdio): failed for 60 s, 3 tools, restarted 2×: the connection closed']);
  });
});
