import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppService } from 'matrix-appservice-bridge';
import { checkAccess, describeError, hardenAppservice, installTerminalHandlers, MAX_BODY_BYTES } from './hardening.js';
import { installTransactionFilter } from './transactionFilter.js';

const TOKEN = 'hs-secret';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so bodies can be streamed (chunked) and headers left out. */
function send(port: number, method: string, path: string, opts: { token?: string; body?: string | (() => AsyncIterable<string>) } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    // The server may answer and close before the body is sent: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    const { body } = opts;
    if (typeof body === 'function') {
      void (async () => {
        for await (const chunk of body()) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        req.end();
      })().catch(() => undefined);
    } else {
      req.end(body);
    }
  });
}

describe('appservice front door', () => {
  let as: AppService;
  let port: number;
  const events: unknown[] = [];

  beforeAll(async () => {
    as = new AppService({ homeserverToken: TOKEN, httpMaxSizeBytes: MAX_BODY_BYTES });
    hardenAppservice(as.expressApp, TOKEN);
    installTransactionFilter(as.expressApp);
    as.expressApp.get('/boom', () => {
      throw new Error('secret install path /opt/app/src/x.ts');
    });
    as.on('event', (e) => events.push(e));
    await as.listen(0, '127.0.0.1', 10);
    installTerminalHandlers(as.expressApp);
    port = ((as as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  });
  afterAll(async () => {
    (as as unknown as { server: { closeAllConnections(): void } }).server.closeAllConnections();
    await as.close();
  });

  test('without a token: 401 JSON before the body is read, nothing delivered', async () => {
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t1', { body: JSON.stringify({ events: [{ room_id: '!r', type: 'm.room.message', event_id: '$e', sender: '@a:hs' }] }) });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ errcode: 'M_UNAUTHORIZED', error: 'Missing access token' });
    expect(events).toHaveLength(0);
  });

  test('a wrong token: 403 JSON', async () => {
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t2', { token: 'nope', body: '{}' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).errcode).toBe('M_FORBIDDEN');
  });

  test('an unauthenticated, endless, deeply nested body is refused without reading it', async () => {
    let sent = 0;
    async function* endless(): AsyncIterable<string> {
      // 64 MB of '[' would be parsed (and fail) were it read; refused first, it never is.
      for (let i = 0; i < 1024; i++) {
        sent++;
        yield '['.repeat(64 * 1024);
      }
    }
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t3', { body: endless });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(sent).toBeLessThan(1024);
  });

  test('an authenticated body over the limit: 413 JSON', async () => {
    const big = JSON.stringify({ events: [], pad: 'x'.repeat(MAX_BODY_BYTES) });
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t4', { token: TOKEN, body: big });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ errcode: 'M_TOO_LARGE', error: `Request body larger than ${MAX_BODY_BYTES} bytes` });
  });

  test('authenticated invalid JSON: 400 M_NOT_JSON, no stack trace', async () => {
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t5', { token: TOKEN, body: '{"events": [' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ errcode: 'M_NOT_JSON', error: 'Request body is not valid JSON' });
  });

  test('authenticated deep nesting is an answer, not a crash', async () => {
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t6', { token: TOKEN, body: `{"events": ${'['.repeat(100_000)}${']'.repeat(100_000)}}` });
    expect(res.status).toBe(200);
  });

  test('a throwing route answers 500 JSON without the stack; unknown paths 404 JSON; no X-Powered-By', async () => {
    const boom = await send(port, 'GET', '/boom', { token: TOKEN });
    expect(boom.status).toBe(500);
    expect(boom.body).not.toMatch(/install path|\.ts|at /);
    expect(JSON.parse(boom.body)).toEqual({ errcode: 'M_UNKNOWN', error: 'Internal server error' });
    const unknown = await send(port, 'GET', '/nowhere', { token: TOKEN });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).errcode).toBe('M_UNRECOGNIZED');
    expect(boom.headers['x-powered-by']).toBeUndefined();
    expect(unknown.headers['x-powered-by']).toBeUndefined();
  });

  test('ping answers {} with the token, and needs it', async () => {
    const ok = await send(port, 'POST', '/_matrix/app/v1/ping', { token: TOKEN, body: '{"transaction_id":"x"}' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({});
    expect((await send(port, 'POST', '/_matrix/app/v1/ping', { body: '{}' })).status).toBe(401);
  });

  test('a valid transaction still reaches the appservice', async () => {
    const event = { room_id: '!r:hs', type: 'm.room.message', event_id: '$ok', sender: '@a:hs', content: {} };
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t7', { token: TOKEN, body: JSON.stringify({ events: [event, null] }) });
    expect(res.status).toBe(200);
    expect(events).toEqual([event]);
  });
});

describe('checkAccess / describeError', () => {
  test('only GET /health and /metrics are open', () => {
    expect(checkAccess('GET', '/health', null, TOKEN)).toBeNull();
    expect(checkAccess('GET', '/metrics', null, TOKEN)).toBeNull();
    expect(checkAccess('PUT', '/health', null, TOKEN)?.status).toBe(401);
    expect(checkAccess('GET', '/_matrix/app/v1/users/@a:hs', 'x', TOKEN)?.status).toBe(403);
    expect(checkAccess('GET', '/_matrix/app/v1/users/@a:hs', TOKEN, TOKEN)).toBeNull();
    // An empty configured token never matches (no accidental open door).
    expect(checkAccess('GET', '/x', '', '')?.status).toBe(403);
  });

  test('unknown errors are a plain 500', () => {
    expect(describeError(new Error('x'))).toEqual({ status: 500, errcode: 'M_UNKNOWN', error: 'Internal server error' });
    expect(describeError(null).status).toBe(500);
    expect(describeError({ status: 404 }).status).toBe(404);
  });
});
