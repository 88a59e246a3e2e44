import { request as httpRequest } from 'node:http';
import { checkAccess } from './access.js';
import { describeError, MAX_BODY_BYTES } from './httpErrors.js';
import { buildIngress } from './Ingress.js';
import { IngressAppService } from './IngressAppService.js';

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
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        // One connection per request: none is left open for close() to wait on.
        headers: { 'content-type': 'application/json', connection: 'close', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      },
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

const shaped = (id: string, type = 'm.room.message') => ({ room_id: '!r:hs', type, event_id: id, sender: '@a:hs', origin_server_ts: 1, content: {} });

/**
 * The real listener (matrix-appservice's AppService behind the ingress), with stages 4 and 5
 * recording what they see and when, and the library's emitted events standing for stage 6.
 */
describe('the ingress', () => {
  let as: IngressAppService;
  let port: number;
  /** Stage by stage, what happened to each transaction, in order. */
  const trail: string[] = [];
  const events: unknown[] = [];
  let refuseNextRecord = false;

  beforeAll(async () => {
    as = new IngressAppService(TOKEN, (library, deliver) => {
      library.get('/boom', () => {
        throw new Error('secret install path /opt/app/src/x.ts');
      });
      return buildIngress({
        hsToken: TOKEN,
        health: [{ name: 'database', check: () => ({ name: 'database', status: 'pass', detail: 'writable' }) }],
        metrics: null,
        decrypt: async (txn) => {
          const toDevice = txn['de.sorunome.msc2409.to_device'];
          trail.push(`decrypt ${Array.isArray(toDevice) ? toDevice.length : 0} to-device, sees ${((txn.events as unknown[] | undefined) ?? []).length} event(s)`);
        },
        inbox: {
          record: (recorded) => {
            if (refuseNextRecord) {
              refuseNextRecord = false;
              throw new Error('database or disk is full');
            }
            trail.push(`persist ${recorded.map((e) => e.event_id).join(',')}`);
            return recorded;
          },
        },
        deliver,
        library,
      });
    });
    as.on('event', (e: { event_id?: unknown }) => {
      events.push(e);
      trail.push(`enqueue ${String(e.event_id)}`);
    });
    await as.listen(0, '127.0.0.1', 10);
    port = as.port!;
  });
  afterAll(async () => {
    await as.close();
  });
  beforeEach(() => {
    trail.length = 0;
    events.length = 0;
  });

  test('a transaction runs its stages in order: shape, decrypt, persist, enqueue', async () => {
    const body = { events: [shaped('$a'), null, shaped('$b', 'm.room.member')], 'de.sorunome.msc2409.to_device': [{ type: 'm.room_key' }] };
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/order1', { token: TOKEN, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    // Decryption already saw the malformed event dropped; only the message is persisted; then
    // the library emits what is left, to the bridge's queue.
    expect(trail).toEqual(['decrypt 1 to-device, sees 2 event(s)', 'persist $a', 'enqueue $a', 'enqueue $b']);
  });

  test("the events go to the bridge as the library's handler emitted them: per type too, the ephemeral ones, and a retried transaction not again", async () => {
    const typed: string[] = [];
    const onMessage = (e: Record<string, unknown>) => void typed.push(`message ${String(e.event_id)}`);
    const onReceipt = (e: Record<string, unknown>) => void typed.push(`ephemeral ${String(e.type)}`);
    const onTyping = (e: Record<string, unknown>) => void typed.push(`typing ${String(e.type)}`);
    as.on('type:m.room.message', onMessage);
    as.on('ephemeral', onReceipt);
    as.on('ephemeral_type:m.typing', onTyping);
    try {
      const body = JSON.stringify({ events: [shaped('$r1')], 'de.sorunome.msc2409.ephemeral': [{ type: 'm.typing', content: {} }] });
      for (let i = 0; i < 2; i++) {
        const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/retried1', { token: TOKEN, body });
        expect([res.status, res.body]).toEqual([200, '{}']);
      }
      expect(typed).toEqual(['message $r1', 'ephemeral m.typing', 'typing m.typing']);
      expect(trail).toEqual(['decrypt 0 to-device, sees 1 event(s)', 'persist $r1', 'enqueue $r1', 'decrypt 0 to-device, sees 1 event(s)', 'persist $r1']);
    } finally {
      as.off('type:m.room.message', onMessage);
      as.off('ephemeral', onReceipt);
      as.off('ephemeral_type:m.typing', onTyping);
    }
  });

  test('a transaction that cannot be persisted is refused (503) and never enqueued', async () => {
    refuseNextRecord = true;
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/full1', { token: TOKEN, body: JSON.stringify({ events: [shaped('$c')] }) });
    expect(res.status).toBe(503);
    expect(trail).toEqual(['decrypt 0 to-device, sees 1 event(s)']);
    expect(events).toEqual([]);
  });

  test('/health is ours (not the library\'s plain OK), and open', async () => {
    const res = await send(port, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok', checks: { database: { ok: true, detail: 'writable' } } });
  });

  test('without a token: 401 JSON before the body is read, nothing delivered', async () => {
    const res = await send(port, 'PUT', '/_matrix/app/v1/transactions/t1', { body: JSON.stringify({ events: [{ room_id: '!r', type: 'm.room.message', event_id: '$e', sender: '@a:hs' }] }) });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ errcode: 'M_UNAUTHORIZED', error: 'Missing access token' });
    expect(trail).toEqual([]);
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
    expect(trail).toEqual([]);
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
