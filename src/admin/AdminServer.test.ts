import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { EXIT_FAILED, EXIT_NEEDS_CONFIRMATION, EXIT_OK, runAdminCommand, runConsole } from './adminCli.js';
import { AdminClient } from './AdminClient.js';
import { MAX_REQUEST_BYTES } from './adminProtocol.js';
import { AdminServer, DEFAULT_ADMIN_LIMITS, type AdminCommands } from './AdminServer.js';

/** A command handler that records who ran what: `fail` fails, `purge` wants confirmation. */
function fakeCommands() {
  const ran: Array<{ line: string; who: string; yes: boolean }> = [];
  const commands: AdminCommands = {
    async run(line, { yes, who }, out) {
      const write = (t: string) => out.text(t);
      ran.push({ line, who, yes });
      if (line === 'fail') {
        write('it went wrong');
        return { ok: false };
      }
      if (line === 'throw') throw new Error('boom');
      if (line === 'persona list') {
        write('1 persona:\nZoë — @persona_zoe:hs — model m — 2 rooms');
        return { ok: true, data: { personas: [{ id: 'zoe', name: 'Zoë', model: 'm', rooms: 2, state: 'active' }] } };
      }
      if (line.startsWith('purge') && !yes) return { ok: false, confirm: 'Delete all memory?' };
      if (line === 'export') {
        out.file({ name: '../../etc/evil.card.json', mimetype: 'application/json', data: Buffer.from('{"a":1}') });
        return { ok: true };
      }
      write(`ran ${line}`);
      write('second line');
      return { ok: true };
    },
    completions: () => ({ commands: ['persona list', 'purge memory'], personas: ['Zoë'] }),
  };
  return { commands, ran };
}

function streams() {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c.toString()));
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c.toString()));
  return { io: { stdout, stderr }, out: () => out.join(''), err: () => err.join('') };
}

describe('admin socket', () => {
  let dir: string;
  let server: AdminServer;
  let ran: ReturnType<typeof fakeCommands>['ran'];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adm-'));
    const fake = fakeCommands();
    ran = fake.ran;
    server = new AdminServer(join(dir, 'admin.sock'), fake.commands);
    await server.start();
  });
  afterEach(() => server.stop());

  test('the socket is mode 0600', () => {
    expect(statSync(server.path).mode & 0o777).toBe(0o600);
    expect(statSync(server.path).isSocket()).toBe(true);
  });

  test('a command runs with its output streamed, recorded with who ran it', async () => {
    const client = await AdminClient.connect(server.path);
    const result = await client.run('ping');
    client.close();
    expect(result).toEqual({ ok: true, output: ['ran ping', 'second line'] });
    expect(ran[0]!.who).toMatch(/^console:\S+ \(uid \d+, pid \d+\)$/);
  });

  test('completions come from the bridge', async () => {
    const client = await AdminClient.connect(server.path);
    expect(await client.completions()).toEqual({ commands: ['persona list', 'purge memory'], personas: ['Zoë'] });
    client.close();
  });

  test('admin exits 0 on success, 1 on failure, 2 when a destructive command lacks --yes', async () => {
    const ok = streams();
    expect(await runAdminCommand(server.path, ['persona', 'list'], { json: false, yes: false }, ok.io)).toBe(EXIT_OK);
    expect(ok.out()).toBe('1 persona:\nZoë — @persona_zoe:hs — model m — 2 rooms\n');

    const failed = streams();
    expect(await runAdminCommand(server.path, ['fail'], { json: false, yes: false }, failed.io)).toBe(EXIT_FAILED);
    expect(failed.out()).toBe('it went wrong\n');

    const thrown = streams();
    expect(await runAdminCommand(server.path, ['throw'], { json: true, yes: false }, thrown.io)).toBe(EXIT_FAILED);
    expect(JSON.parse(thrown.out())).toEqual({ ok: false, data: null, output: [], error: 'boom' });

    const unconfirmed = streams();
    expect(await runAdminCommand(server.path, ['purge', 'memory', '--all'], { json: false, yes: false }, unconfirmed.io)).toBe(EXIT_NEEDS_CONFIRMATION);
    expect(unconfirmed.err()).toBe('Delete all memory?\nNothing was done: add --yes to go ahead.\n');
    const confirmed = streams();
    expect(await runAdminCommand(server.path, ['purge', 'memory', '--all'], { json: true, yes: true }, confirmed.io)).toBe(EXIT_OK);
    expect(JSON.parse(confirmed.out())).toEqual({ ok: true, data: null, output: ['ran purge memory --all', 'second line'] });
    expect(ran.map((r) => [r.line, r.yes])).toEqual([
      ['persona list', false],
      ['fail', false],
      ['throw', false],
      ['purge memory --all', false],
      ['purge memory --all', true],
    ]);
  });

  test('--json gives the command\'s data as data; without it the data does not travel', async () => {
    const json = streams();
    expect(await runAdminCommand(server.path, ['persona', 'list'], { json: true, yes: false }, json.io)).toBe(EXIT_OK);
    const parsed = JSON.parse(json.out()) as { ok: boolean; data: { personas: Array<Record<string, unknown>> } };
    expect(parsed.ok).toBe(true);
    expect(parsed.data.personas).toEqual([{ id: 'zoe', name: 'Zoë', model: 'm', rooms: 2, state: 'active' }]);
    const client = await AdminClient.connect(server.path);
    expect(await client.run('persona list')).not.toHaveProperty('data');
    client.close();
  });

  test('the console with piped input and output: plain lines, no prompt, no terminal escapes; a question is not answered by the next line', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (c: Buffer) => (printed += c.toString()));
    input.end('persona list\npurge memory --all\nfail\n');
    expect(await runConsole(server.path, { input, output })).toBe(EXIT_OK);
    expect(printed).toBe(
      '1 persona:\nZoë — @persona_zoe:hs — model m — 2 rooms\n' +
        'Delete all memory?\nNothing was done: add --yes to the command to go ahead.\n' +
        'it went wrong\n',
    );
    expect(printed).not.toContain('\x1b');
    expect(ran.map((r) => [r.line, r.yes])).toEqual([
      ['persona list', false],
      ['purge memory --all', false],
      ['fail', false],
    ]);
  });

  test('files come back and are written under their base name only', async () => {
    const s = streams();
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    expect(await runAdminCommand(server.path, ['export'], { json: false, yes: false, outDir: out }, s.io)).toBe(EXIT_OK);
    expect(s.out()).toBe(`Wrote ${join(out, 'evil.card.json')}\n`);
    expect(readFileSync(join(out, 'evil.card.json'), 'utf8')).toBe('{"a":1}');
  });

  test('words with spaces reach the bridge quoted', async () => {
    const s = streams();
    await runAdminCommand(server.path, ['persona', 'show', 'Ada Lovelace'], { json: false, yes: false }, s.io);
    expect(ran[0]!.line).toBe('persona show "Ada Lovelace"');
  });

  test('a second bridge refuses the live socket; a stale socket file is replaced', async () => {
    await expect(new AdminServer(server.path, fakeCommands().commands).start()).rejects.toThrow(/another bridge already listens/);
    const stalePath = join(dir, 'stale.sock');
    writeFileSync(stalePath, '');
    const second = new AdminServer(stalePath, fakeCommands().commands);
    await second.start();
    await second.stop();
  });

  test('a socket left by a bridge that was killed (no clean shutdown) is replaced at start', async () => {
    const path = join(dir, 'crashed.sock');
    // A process listening on the path, killed outright: the socket file stays, nobody answers.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((up) => child.stdout.once('data', () => up()));
    child.kill('SIGKILL');
    await new Promise<void>((gone) => child.once('exit', () => gone()));
    expect(statSync(path).isSocket()).toBe(true);
    const replacement = new AdminServer(path, fakeCommands().commands);
    await replacement.start();
    const s = streams();
    expect(await runAdminCommand(path, ['ping'], { json: false, yes: false }, s.io)).toBe(EXIT_OK);
    await replacement.stop();
    expect(existsSync(path)).toBe(false);
  });

  test('no bridge: a clear error and exit 1', async () => {
    const s = streams();
    expect(await runAdminCommand(join(dir, 'none.sock'), ['ping'], { json: false, yes: false }, s.io)).toBe(EXIT_FAILED);
    expect(s.err()).toMatch(/cannot reach the bridge's admin socket .*none\.sock: is the bridge running with this config\?/);
  });
});

test('an over-long socket path is refused with the reason', async () => {
  const path = join(tmpdir(), 'x'.repeat(120), 'admin.sock');
  await expect(new AdminServer(path, fakeCommands().commands).start()).rejects.toThrow(/longer than 107 bytes/);
});

describe('admin socket floods (issue 22 #7)', () => {
  const COMPLETE = '{"id":1,"op":"complete"}\n';
  let dir: string;
  let server: AdminServer | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server?.stop();
  });

  function connect(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path, () => resolve(s)).once('error', reject);
      sockets.push(s);
    });
  }

  /** Resolves with the first `count` answer lines the socket receives. */
  function answers(socket: Socket, count: number): Promise<string[]> {
    return new Promise((resolve) => {
      const lines: string[] = [];
      let buffer = '';
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop()!;
        lines.push(...parts);
        if (lines.length >= count) {
          socket.off('data', onData);
          resolve(lines.slice(0, count));
        }
      };
      socket.on('data', onData);
    });
  }

  test('a client that floods requests and never reads its answers: the server stops reading, its queue and unread output stay bounded, others are served', async () => {
    dir = mkdtempSync(join(tmpdir(), 'adm-'));
    // Every completion ~8 KB, as with many personas; no rate limit, to see the buffers alone.
    const words = Array.from({ length: 400 }, (_, i) => `command-${i}-padding`);
    const limits = { ...DEFAULT_ADMIN_LIMITS, requests: { tokensPerInterval: 1e9, interval: 'second' as const }, maxBufferedOutput: 64 * 1024 };
    server = new AdminServer(join(dir, 'admin.sock'), { ...fakeCommands().commands, completions: () => ({ commands: words, personas: [] }) }, limits);
    await server.start();
    const flood = await connect(server.path);
    flood.pause();
    // 4 MiB of requests (160,000 of them, 1.3 GB of answers if all were run).
    const requests = 4 * 1024 * 1024 / COMPLETE.length;
    flood.write(COMPLETE.repeat(requests));
    await waitFor(() => server!.connectionStats()[0]?.waiting === 'output' && server!.connectionStats()[0]?.reading === false);
    const [stats] = server.connectionStats();
    expect(stats!.handled).toBeLessThan(requests / 10);
    expect(stats!.pending).toBeLessThanOrEqual(limits.maxPending + MAX_REQUEST_BYTES / COMPLETE.length);
    expect(stats!.bufferedOutput).toBeLessThanOrEqual(limits.maxBufferedOutput + 16 * 1024);
    // The rest of its requests wait in the client, not in the bridge.
    expect(flood.writableLength).toBeGreaterThan(0);

    const other = await AdminClient.connect(server.path);
    expect(await other.run('ping')).toEqual({ ok: true, output: ['ran ping', 'second line'] });
    other.close();
  });

  test('requests are taken at a bounded rate per connection; another connection is served meanwhile', async () => {
    dir = mkdtempSync(join(tmpdir(), 'adm-'));
    server = new AdminServer(join(dir, 'admin.sock'), fakeCommands().commands, { ...DEFAULT_ADMIN_LIMITS, requests: { tokensPerInterval: 3, interval: 'hour' } });
    await server.start();
    const flood = await connect(server.path);
    const first = answers(flood, 3);
    flood.write(COMPLETE.repeat(10));
    expect((await first).map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['completions', 'completions', 'completions']);
    // A later marker on another connection (its own budget) is answered; the flood's 4th is not.
    const other = await AdminClient.connect(server.path);
    expect(await other.completions()).toEqual({ commands: ['persona list', 'purge memory'], personas: ['Zoë'] });
    other.close();
    expect(server.connectionStats()).toContainEqual(expect.objectContaining({ handled: 3, pending: 7, waiting: 'rate' }));
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!condition()) throw new Error('condition not met within 20 s');
}
