import { once } from 'node:events';
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { keepAliveFetch } from './keepAliveFetch.js';

/** A local server answering with `handler`; the sockets it saw, to tell reuse apart. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (s) => sockets.add(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, sockets };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function started(handler: Parameters<typeof serve>[0]) {
  const s = await serve(handler);
  servers.push(s.server);
  return s;
}

const unused = (() => Promise.reject(new Error('the fallback was not expected'))) as typeof fetch;

describe('keepAliveFetch', () => {
  test('sends method, headers and body; answers status, headers and text, over one kept-alive connection', async () => {
    const seen: string[] = [];
    const s = await started((req, res, body) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${req.headers['content-type']} ${body}`);
      res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'r1' });
      res.end('{"ok":true}');
    });
    const f = keepAliveFetch({ fallback: unused });
    for (let i = 0; i < 2; i++) {
      const res = await f(`${s.url}/v1/chat?x=1`, { method: 'post', headers: new Headers({ Authorization: 'Bearer k', 'Content-Type': 'application/json' }), body: `{"n":${i}}` });
      expect([res.status, res.ok, res.headers.get('x-request-id')]).toEqual([201, true, 'r1']);
      expect(await res.json()).toEqual({ ok: true });
    }
    expect(seen).toEqual(['POST /v1/chat?x=1 Bearer k application/json {"n":0}', 'POST /v1/chat?x=1 Bearer k application/json {"n":1}']);
    expect(s.sockets.size).toBe(1);
  });

  test('a streamed body is read chunk by chunk as it comes (the SSE reader iterates it)', async () => {
    let sendRest: () => void = () => undefined;
    const s = await started((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      sendRest = () => res.end('data: two\n\n');
    });
    const res = await keepAliveFetch({ fallback: unused })(`${s.url}/`, { method: 'POST', body: '{}' });
    const got: string[] = [];
    for await (const chunk of res.body as unknown as AsyncIterable<Buffer>) {
      got.push(chunk.toString('utf8'));
      sendRest();
    }
    expect(got).toEqual(['data: one\n\n', 'data: two\n\n']);
  });

  test('a streamed body its reader stops iterating at its last event is read to its end: the connection is kept for the next request', async () => {
    let finish: () => void = () => undefined;
    const s = await started((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: [DONE]\n\n');
      finish = () => res.end();
    });
    const httpAgent = new Agent({ keepAlive: true });
    const f = keepAliveFetch({ fallback: unused, httpAgent });
    for (let i = 0; i < 2; i++) {
      const res = await f(`${s.url}/`, { method: 'POST', body: '{}' });
      const iterator = (res.body as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const freed = once(httpAgent, 'free');
      expect(String((await iterator.next()).value)).toBe('data: [DONE]\n\n');
      // As the openai client does once it has read [DONE], before the response's end has
      // arrived: a Node stream would destroy itself (and its connection) here.
      const stopped = iterator.return?.();
      finish();
      await stopped;
      await freed;
    }
    expect(s.sockets.size).toBe(1);
    httpAgent.destroy();
  });

  test('an error status is an answer, not a rejection', async () => {
    const s = await started((_req, res) => {
      res.writeHead(429, { 'retry-after': '2' });
      res.end('{"error":"slow down"}');
    });
    const res = await keepAliveFetch({ fallback: unused })(`${s.url}/`, { method: 'POST', body: '{}' });
    expect([res.ok, res.status, res.headers.get('retry-after'), await res.text()]).toEqual([false, 429, '2', '{"error":"slow down"}']);
  });

  test("an error's body the caller never reads does not hold the connection (the tokenizer's probe judges the status alone)", async () => {
    const s = await started((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"no such route"}');
    });
    const f = keepAliveFetch({ fallback: unused });
    expect((await f(`${s.url}/tokenize`, { method: 'POST', body: '{}' })).status).toBe(404);
    const again = await f(`${s.url}/tokenize`, { method: 'POST', body: '{}' });
    expect([again.status, await again.text()]).toEqual([404, '{"error":"no such route"}']);
    expect(s.sockets.size).toBe(1);
  });

  test('a compressed body is decompressed', async () => {
    const s = await started((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gzipSync('hello'));
    });
    expect(await (await keepAliveFetch({ fallback: unused })(`${s.url}/`)).text()).toBe('hello');
  });

  test('an unreachable server rejects as fetch does: TypeError("fetch failed") with the cause', async () => {
    const s = await started(() => undefined);
    const url = s.url;
    servers.splice(0);
    await new Promise((resolve) => s.server.close(resolve));
    const err = await keepAliveFetch({ fallback: unused })(`${url}/`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  test("aborted: before sending, waiting for the answer, or while the body is read, it fails with the signal's reason", async () => {
    let answer: ServerResponse | null = null;
    const s = await started((_req, res) => {
      answer = res;
      res.writeHead(200);
      res.write('part');
    });
    const f = keepAliveFetch({ fallback: unused });
    const before = new AbortController();
    before.abort(new Error('stopped before'));
    await expect(f(`${s.url}/`, { signal: before.signal })).rejects.toThrow('stopped before');

    const reading = new AbortController();
    const res = await f(`${s.url}/`, { signal: reading.signal });
    const iterator = (res.body as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    expect(String((await iterator.next()).value)).toBe('part');
    reading.abort(new Error('stopped while reading'));
    await expect(iterator.next()).rejects.toThrow('stopped while reading');
    expect(answer).not.toBeNull();

    const hang = await started(() => undefined);
    const waiting = new AbortController();
    const pending = f(`${hang.url}/`, { signal: waiting.signal });
    await once(hang.server, 'request');
    waiting.abort(new Error('stopped while waiting'));
    await expect(pending).rejects.toThrow('stopped while waiting');
  });

  test('what it does not do itself goes to the built-in fetch: redirects, non-string bodies', async () => {
    const s = await started((_req, res) => {
      res.writeHead(307, { location: '/elsewhere' });
      res.end();
    });
    const asked: string[] = [];
    const fallback = (async (input: string | URL | Request) => {
      asked.push(String(input));
      return new Response('from fetch');
    }) as typeof fetch;
    const f = keepAliveFetch({ fallback });
    expect(await (await f(`${s.url}/moved`, { method: 'POST', body: '{}' })).text()).toBe('from fetch');
    expect(await (await f(`${s.url}/form`, { method: 'POST', body: new URLSearchParams({ a: '1' }) })).text()).toBe('from fetch');
    expect(asked).toEqual([`${s.url}/moved`, `${s.url}/form`]);
  });
});
