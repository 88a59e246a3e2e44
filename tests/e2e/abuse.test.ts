// The appservice port as an attacker who can reach it sees it, against the built bridge in a
// process of its own (its log output is what is checked) on the real Synapse: forged log
// lines, pre-authentication work, error pages, the appservice ping, metrics on their own port.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtBridgeConfig, claimSlot, freePort, newUser, readState, writeBridgeConfig, type TestUser } from './helpers/index.js';
import { runBridge, waitForOutput, type BridgeRun } from './helpers/bridgeProcess.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with a complete body. */
function send(url: string, method: string, opts: { token?: string; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const req = httpRequest(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Streams `chunks` as a chunked PUT body (no Content-Length) on a raw socket, reading the
 * answer independently of the writing: a server that answers early and closes makes the
 * writes fail, which must not hide its answer. Resolves when the server closes.
 */
function streamBody(port: number, path: string, chunkCount: number, chunk: string, token?: string): Promise<{ status: number; body: string; bytesSent: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let bytesSent = 0;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const [head = '', body = ''] = received.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), body, bytesSent });
    });
    socket.write(
      `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n` +
        `${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`,
    );
    let sent = 0;
    const frame = `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`;
    const pump = (): void => {
      while (sent < chunkCount && !socket.destroyed) {
        sent++;
        bytesSent += chunk.length;
        if (!socket.write(frame)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!socket.destroyed) socket.end('0\r\n\r\n');
    };
    pump();
  });
}

describe('abuse of the appservice port (built bridge, real Synapse)', () => {
  const state = readState();
  const slot = claimSlot();
  const registration = parseYaml(readFileSync(slot.registrationFile, 'utf8')) as { id: string; as_token: string; hs_token: string };
  const dir = mkdtempSync(join(tmpdir(), 'personas-abuse-'));
  const base = `http://127.0.0.1:${slot.port}`;
  let metricsPort: number;
  let run: BridgeRun;
  let admin: TestUser;
  /** Serves a PNG header followed by 1.5 GB, generated as it is read, without Content-Length. */
  let hugeImages: Server;
  let hugeBytesSent = 0;

  beforeAll(async () => {
    metricsPort = await freePort();
    admin = await newUser();
    hugeImages = createServer((req, res) => {
      if (req.url === '/small.png') {
        res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(Buffer.from('89504e470d0a1a0a', 'hex'));
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      const pump = (): void => {
        while (hugeBytesSent < 1536 * 1024 * 1024) {
          hugeBytesSent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      req.on('close', () => res.destroy());
      pump();
    });
    hugeImages.listen(0, '127.0.0.1');
    await new Promise((r) => hugeImages.once('listening', r));
    const personasDir = mkdtempSync(join(dir, 'personas-'));
    writeFileSync(join(personasDir, 'ava.yaml'), 'name: Ava\nprompt: "You are Ava."\n');
    const config = builtBridgeConfig({
      slot,
      databasePath: join(dir, 'data', 'personas.db'),
      personasDir,
      llmBaseUrl: 'http://127.0.0.1:9/v1',
      sections: {
        admins: [admin.userId],
        metrics: { bind: '127.0.0.1', port: metricsPort },
        // The huge-avatar server below is on loopback.
        fetch: { allow_private_addresses: true },
        logging: { level: 'debug' },
      },
    });
    const configPath = writeBridgeConfig(dir, config);
    run = runBridge(['-c', configPath, '-f', slot.registrationFile]);
    await waitForOutput(run, /bridge ready/);
  });

  afterAll(async () => {
    admin?.stop();
    run?.child.kill('SIGTERM');
    await run?.exited;
    hugeImages?.closeAllConnections();
    hugeImages?.close();
  });

  test('a txnId carrying a newline and a fake record leaves no forged line in the log', async () => {
    const forged = 'abc\n2026-01-01T00:00:00.000Z error [PersonaBridge] FORGED by an attacker';
    const path = `/_matrix/app/v1/transactions/${encodeURIComponent(forged)}`;
    // Unauthenticated (refused before anything is logged) and authenticated with a malformed
    // event (the filter logs the txnId): neither may produce a line of the attacker's.
    expect((await send(base + path, 'PUT', { body: JSON.stringify({ events: [null] }) })).status).toBe(401);
    const ok = await send(base + path, 'PUT', { token: registration.hs_token, body: JSON.stringify({ events: [null] }) });
    expect(ok.status).toBe(200);
    await waitForOutput(run, /skipping 1 malformed event\(s\) in transaction abc/);
    expect(run.output()).toContain('transaction abc\\n2026-01-01T00:00:00.000Z error [PersonaBridge] FORGED');
    expect(run.output().split('\n').some((line) => /^\S* ?\S*error \[PersonaBridge\] FORGED/.test(line))).toBe(false);
  });

  test('an unauthenticated endless, deeply nested body gets a JSON 401 before it is read', async () => {
    const sentBefore = run.output().length;
    // 1 GB of '[' if it were all sent; the answer comes after the first few chunks.
    const res = await streamBody(slot.port, '/_matrix/app/v1/transactions/big', 16_384, '['.repeat(65_536));
    expect(res.status).toBe(401);
    expect(res.body).toContain(JSON.stringify({ errcode: 'M_UNAUTHORIZED', error: 'Missing access token' }));
    expect(res.bytesSent).toBeLessThan(16_384 * 65_536);
    // Nothing about the refused request (not even the request logger's line) was logged.
    expect(run.output().slice(sentBefore)).not.toContain('/transactions/big');
  });

  test('authenticated but oversized: JSON 413; errors never show a stack; no X-Powered-By', async () => {
    const res = await streamBody(slot.port, '/_matrix/app/v1/transactions/huge', 256, '['.repeat(65_536), registration.hs_token);
    expect(res.status).toBe(413);
    expect(res.body).toContain('"errcode":"M_TOO_LARGE"');
    const bad = await send(`${base}/_matrix/app/v1/transactions/bad`, 'PUT', { token: registration.hs_token, body: '{"events": [' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ errcode: 'M_NOT_JSON', error: 'Request body is not valid JSON' });
    expect(bad.body).not.toMatch(/node_modules|at /);
    expect(bad.headers['x-powered-by']).toBeUndefined();
    const unknown = await send(`${base}/nowhere`, 'GET', { token: registration.hs_token });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).errcode).toBe('M_UNRECOGNIZED');
  });

  test("Synapse's appservice ping reaches us", async () => {
    const res = await fetch(`${state.synapse.baseUrl}/_matrix/client/v1/appservice/${encodeURIComponent(registration.id)}/ping`, {
      method: 'POST',
      headers: { authorization: `Bearer ${registration.as_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ transaction_id: 'e2e-ping' }),
    });
    expect(res.status).toBe(200);
    expect(typeof ((await res.json()) as { duration_ms?: unknown }).duration_ms).toBe('number');
  });

  test('/metrics is served on its own (loopback) listener and no longer on the appservice port', async () => {
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP /m);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  // The bridge runs in a process of its own, so only its memory is measured (not this test's
  // stream server). Reading up to the 10 MB cap costs the cap itself plus the socket reads'
  // buffers until the garbage collector frees them; through fetch (undici, which copies each
  // chunk) that was 34-50 MiB, through node:http 18-22 MiB.
  test('a 1.5 GB avatar stream without Content-Length is aborted at the cap, RSS growing less than 30 MB', async () => {
    const status = () => readFileSync(`/proc/${run.child.pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status())?.[1]);
    const botUserId = `@${slot.botLocalpart}:${state.domain}`;
    const dm = await admin.createRoom({ invite: [botUserId], isDirect: true });
    await admin.waitForMembership(dm, botUserId, 'join');
    // Warm up the command and download paths (code loaded on first use: the HTTP client, the
    // upload) with a small avatar, so only the huge download is measured.
    const server = `http://127.0.0.1:${(hugeImages.address() as AddressInfo).port}`;
    const warm = await admin.sendText(dm, `!persona set Ava avatar ${server}/small.png`);
    await admin.waitForMessage(dm, (e) => e.sender === botUserId && admin.events(dm).indexOf(e) > admin.events(dm).findIndex((x) => x.event_id === warm), 60_000, 'the warm-up answer');
    // The peak (VmHWM) is reset to the current size, so it measures this download only.
    writeFileSync(`/proc/${run.child.pid}/clear_refs`, '5');
    const rssBefore = kib('VmRSS');
    const url = `${server}/huge.png`;
    const sent = await admin.sendText(dm, `!persona set Ava avatar ${url}`);
    const answer = await admin.waitForMessage(
      dm,
      (e) => e.sender === botUserId && admin.events(dm).indexOf(e) > admin.events(dm).findIndex((x) => x.event_id === sent),
      60_000,
      'the answer to the avatar change',
    );
    expect(answer.content.body).toMatch(/larger than/);
    process.stdout.write(`avatar stream: bridge RSS grew ${((kib('VmHWM') - rssBefore) / 1024).toFixed(1)} MiB\n`);
    // The peak, not the current size: nothing in between may have held the stream.
    const growthMiB = (kib('VmHWM') - rssBefore) / 1024;
    expect(growthMiB).toBeLessThan(30);
    expect(hugeBytesSent).toBeLessThan(1536 * 1024 * 1024);
  }, 120_000);
});
