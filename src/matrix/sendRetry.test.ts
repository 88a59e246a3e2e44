import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogLevel, LogService, MatrixClient } from '@vector-im/matrix-bot-sdk';
import { MatrixGateway } from './MatrixGateway.js';
import { backoffDelays, isHomeserverUnreachable, SEND_RETRY_DELAYS_MS } from './sendRetry.js';
import { Metrics } from '../metrics/Metrics.js';

/**
 * The gateway's sends through the real client library against a fake homeserver on a local
 * port that is closed (ECONNREFUSED, as during an outage) until the test opens it.
 */

const ROOM = '!room:localhost';
const USER = '@persona:localhost';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

class FakeHomeserver {
  readonly puts: string[] = [];
  private server: Server | null = null;
  constructor(
    readonly port: number,
    private readonly handler: Handler = (_req, res) => res.end(JSON.stringify({ event_id: '$sent' })),
  ) {}
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.method === 'PUT') this.puts.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      this.handler(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function gatewayFor(port: number, opts: ConstructorParameters<typeof MatrixGateway>[2]): MatrixGateway {
  const client = new MatrixClient(`http://127.0.0.1:${port}`, 'as_token');
  return new MatrixGateway({ getIntent: () => ({ matrixClient: client }) } as never, '@bot:localhost', opts);
}

const txnOf = (url: string): string => decodeURIComponent(url.split('?')[0]!.split('/').pop()!);

let homeserver: FakeHomeserver | null = null;
beforeAll(() => LogService.setLevel(LogLevel.ERROR));
afterEach(async () => {
  await homeserver?.stop();
  homeserver = null;
});

test('a send refused twice (homeserver down) goes out once it is back, with the same txnId', async () => {
  const port = await freePort();
  homeserver = new FakeHomeserver(port);
  const waits: number[] = [];
  let dropped = 0;
  const gateway = gatewayFor(port, {
    sendRetryDelaysMs: [10, 20, 40],
    // The homeserver comes back during the second wait.
    sleep: async (ms) => {
      waits.push(ms);
      if (waits.length === 2) await homeserver!.start();
    },
    onSendDropped: () => dropped++,
  });

  const eventId = await gateway.sendEvent(USER, ROOM, 'm.room.message', { msgtype: 'm.text', body: 'hi' }, 'answer-1');

  expect(eventId).toBe('$sent');
  expect(waits).toEqual([10, 20]);
  expect(homeserver.puts).toHaveLength(1);
  expect(txnOf(homeserver.puts[0]!)).toMatch(/^personas\.k\./);
  expect(dropped).toBe(0);
});

test('a send waiting out a long backoff goes out as soon as the homeserver answers again', async () => {
  const port = await freePort();
  let up = false;
  let probes = 0;
  // A proxy in front of a restarting homeserver: 503 to everything until it is back.
  homeserver = new FakeHomeserver(port, (req, res) => {
    if (req.url?.startsWith('/_matrix/client/versions')) probes++;
    if (!up) {
      res.statusCode = 503;
      res.end('<html>Service Unavailable</html>');
    } else if (req.method === 'PUT') res.end(JSON.stringify({ event_id: '$sent' }));
    else res.end(JSON.stringify({ versions: ['v1.11'] }));
  });
  await homeserver.start();
  // Without the probe the retry would come a minute later (the test would time out).
  const gateway = gatewayFor(port, { sendRetryDelaysMs: [60_000], recoveryProbeEveryMs: 10 });

  const sending = gateway.sendEvent(USER, ROOM, 'm.room.message', { msgtype: 'm.text', body: 'hi' }, 'answer-1');
  while (homeserver.puts.length === 0 || probes === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  up = true;

  await expect(sending).resolves.toBe('$sent');
  expect(homeserver.puts).toHaveLength(2);
  expect(new Set(homeserver.puts.map(txnOf)).size).toBe(1);
});

test('every retry of a send repeats its txnId (the homeserver de-duplicates by it)', async () => {
  const port = await freePort();
  let calls = 0;
  // Two 503s from a proxy in front of a restarting homeserver, then the event is accepted.
  homeserver = new FakeHomeserver(port, (_req, res) => {
    calls++;
    if (calls <= 2) {
      res.statusCode = 503;
      res.end('<html>Service Unavailable</html>');
    } else res.end(JSON.stringify({ event_id: '$sent' }));
  });
  await homeserver.start();
  const gateway = gatewayFor(port, { sendRetryDelaysMs: [0, 0, 0], sleep: async () => {} });

  await expect(gateway.sendEvent(USER, ROOM, 'm.room.message', { msgtype: 'm.text', body: 'hi' })).resolves.toBe('$sent');

  expect(homeserver.puts).toHaveLength(3);
  expect(new Set(homeserver.puts.map(txnOf)).size).toBe(1);
});

test('in an encrypted room, encrypting (which needs the homeserver too) is retried like the send, and the ciphertext is made once', async () => {
  const port = await freePort();
  const bodies: string[] = [];
  let puts = 0;
  // A proxy answering 503 for the first PUT, then the homeserver takes it.
  homeserver = new FakeHomeserver(port, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      if (++puts === 1) {
        res.statusCode = 503;
        res.end('<html>Service Unavailable</html>');
      } else res.end(JSON.stringify({ event_id: '$sent' }));
    });
  });
  await homeserver.start();
  const gateway = gatewayFor(port, { sendRetryDelaysMs: [0, 0, 0], sleep: async () => {} });
  let encryptions = 0;
  gateway.setEncryptor(async () => {
    // The first try cannot reach the homeserver for the room members' device keys.
    if (++encryptions === 1) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8008'), { code: 'ECONNREFUSED' });
    return { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: `c${encryptions}` };
  });

  await expect(gateway.sendEvent(USER, ROOM, 'm.room.message', { msgtype: 'm.text', body: 'hi' }, 'answer-1')).resolves.toBe('$sent');

  expect(encryptions).toBe(2);
  expect(homeserver.puts).toHaveLength(2);
  expect(homeserver.puts.every((url) => url.includes('/send/m.room.encrypted/'))).toBe(true);
  expect(new Set(homeserver.puts.map(txnOf)).size).toBe(1);
  // The retry repeats the same ciphertext (a second encryption would be a second message index).
  expect(bodies.map((b) => (JSON.parse(b) as { ciphertext: string }).ciphertext)).toEqual(['c2', 'c2']);
  expect(gateway.sending).toBe(0);
});

test('a refusal (403 M_FORBIDDEN) is not retried', async () => {
  const port = await freePort();
  homeserver = new FakeHomeserver(port, (_req, res) => {
    res.statusCode = 403;
    res.end(JSON.stringify({ errcode: 'M_FORBIDDEN', error: 'not in room' }));
  });
  await homeserver.start();
  let slept = 0;
  let dropped = 0;
  const gateway = gatewayFor(port, { sendRetryDelaysMs: [0, 0, 0], sleep: async () => void slept++, onSendDropped: () => dropped++ });

  await expect(gateway.sendEvent(USER, ROOM, 'm.room.message', { msgtype: 'm.text', body: 'hi' })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });

  expect(homeserver.puts).toHaveLength(1);
  expect(slept).toBe(0);
  expect(dropped).toBe(0);
});

test('a send is dropped after the last retry, counted in the metrics', async () => {
  const port = await freePort(); // nothing ever listens: every attempt is refused
  const metrics = new Metrics({ processMetrics: false });
  const waits: number[] = [];
  const gateway = gatewayFor(port, {
    sendRetryDelaysMs: [1, 2],
    sleep: async (ms) => void waits.push(ms),
    onSendDropped: () => metrics.sendDropped(),
  });

  await expect(gateway.sendEvent(USER, ROOM, 'm.room.message', { msgtype: 'm.text', body: 'hi' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });

  expect(waits).toEqual([1, 2]);
  expect(gateway.sending).toBe(0);
  expect((await metrics.render()).body).toMatch(/^personas_sends_dropped_total 1$/m);
});

test('the default retry schedule doubles up to 30 s and stops at two minutes', () => {
  expect(SEND_RETRY_DELAYS_MS).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 29_000]);
  expect(SEND_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0)).toBe(120_000);
  expect(backoffDelays(100, 150, 300)).toEqual([100, 150, 50]);
});

test('only unreachable-homeserver failures count as retryable', () => {
  expect(isHomeserverUnreachable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
  expect(isHomeserverUnreachable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  expect(isHomeserverUnreachable(new Error('wrapped', { cause: { code: 'ETIMEDOUT' } }))).toBe(true);
  for (const statusCode of [502, 503, 504]) expect(isHomeserverUnreachable({ statusCode })).toBe(true);
  for (const statusCode of [400, 403, 404, 413, 429, 500]) expect(isHomeserverUnreachable({ statusCode, errcode: 'M_X' })).toBe(false);
  expect(isHomeserverUnreachable(new Error('bad'))).toBe(false);
  expect(isHomeserverUnreachable(null)).toBe(false);
});
