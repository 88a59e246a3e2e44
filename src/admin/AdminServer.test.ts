import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { EXIT_FAILED, EXIT_NEEDS_CONFIRMATION, EXIT_OK, runAdminCommand, runConsole } from './adminCli.js';
import { AdminClient } from './AdminClient.js';
import { AdminServer, type AdminCommands } from './AdminServer.js';

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
