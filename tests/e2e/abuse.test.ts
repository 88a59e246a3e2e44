// The appservice port as an attacker who can reach it sees it, against the built bridge in a
// process of its own (its log output is what is checked) on the real Synapse: forged log
// lines, pre-authentication work, error pages, the appservice ping, metrics on their own port.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { claimSlot, freePort, readState } from './helpers/index.js';
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

  beforeAll(async () => {
    metricsPort = await freePort();
    const config = {
      homeserver: { url: state.synapse.baseUrl, domain: state.domain },
      appservice: { bind: '127.0.0.1', port: slot.port, bot_localpart: slot.botLocalpart, persona_prefix: slot.personaPrefix },
      admins: [] as string[],
      database: { path: join(dir, 'data', 'personas.db') },
      llm: { base_url: 'http://127.0.0.1:9/v1', model: 'test-model' },
      personas: { directory: mkdtempSync(join(dir, 'personas-')) },
      metrics: { bind: '127.0.0.1', port: metricsPort },
      logging: { level: 'debug' },
    };
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify(config));
    run = runBridge(['-c', configPath, '-f', slot.registrationFile]);
    await waitForOutput(run, /bridge ready/);
  });

  afterAll(async () => {
    run?.child.kill('SIGTERM');
    await run?.exited;
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
});
