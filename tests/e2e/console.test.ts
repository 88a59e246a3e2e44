// The admin console against the running bridge on a real Synapse: `admin <command>` from a
// shell (the built CLI, as cron or Ansible would run it) with exit codes and --json, and the
// interactive console completing a persona name, driven through a pseudo-terminal.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FakeOpenAI } from '../fakes/FakeOpenAI.js';
import { builtFile, newUser, readState, startTestBridge, waitUntil, type TestBridge } from './helpers/index.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd?: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, ...(cwd ? { cwd } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('admin console', () => {
  let tb: TestBridge;
  let llm: FakeOpenAI;
  let configPath: string;
  let main: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(readState().runDir, 'console-'));
    const personasDir = join(dir, 'personas');
    mkdirSync(personasDir);
    writeFileSync(join(personasDir, 'fern.yaml'), 'name: Fern\nprompt: You are Fern, a cheerful botanist.\n');
    writeFileSync(join(personasDir, 'mags.yaml'), 'name: Mags\nprompt: You are Mags, a grumpy pirate cook.\n');
    llm = (await FakeOpenAI.start()).respondWith((req) => `still here (${req.messages.at(-1)?.content})`);
    tb = await startTestBridge({ personasDir, llmBaseUrl: llm.baseUrl });
    configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify(tb.config));
    main = builtFile('main.js');
  });
  afterAll(async () => {
    await tb?.stop();
    await llm?.stop();
  });

  const admin = (...words: string[]) => run(process.execPath, [main, 'admin', '-c', configPath, '-f', tb.slot.registrationFile, ...words]);

  test('`admin persona list` prints the personas and exits 0', async () => {
    const result = await admin('persona', 'list');
    expect(result.code).toBe(0);
    // Nothing on stderr: no library's deprecation notice either (htmlencode's util._extend was one).
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('2 personas:');
    expect(result.stdout).toContain(`Fern — ${tb.personaUserId('fern')}`);
    expect(result.stdout).toContain(`Mags — ${tb.personaUserId('mags')}`);
  });

  test('a failing command exits non-zero with its message', async () => {
    const missing = await admin('persona', 'show', 'Nobody');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("No persona named 'Nobody'");
    const unknown = await admin('frobnicate');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('Unknown command !frobnicate.');
  });

  test('--json is data: persona list gives objects a script can use, and every read command gives data', async () => {
    const list = await admin('--json', 'persona', 'list');
    expect(list.code).toBe(0);
    const parsed = JSON.parse(list.stdout) as { ok: boolean; data: { personas: Array<Record<string, unknown>> }; output: string[] };
    expect(parsed.ok).toBe(true);
    const model = tb.config.llm.model;
    expect(parsed.data.personas).toEqual([
      { id: 'fern', name: 'Fern', userId: tb.personaUserId('fern'), model, modelSetting: null, rooms: 0, state: 'active' },
      { id: 'mags', name: 'Mags', userId: tb.personaUserId('mags'), model, modelSetting: null, rooms: 0, state: 'active' },
    ]);
    const show = JSON.parse((await admin('--json', 'persona', 'show', 'Mags')).stdout) as { data: { persona: Record<string, unknown> } };
    expect(show.data.persona).toMatchObject({ id: 'mags', name: 'Mags', prompt: 'You are Mags, a grumpy pirate cook.', roomIds: [], tools: [] });
    // The other commands a script reads: each an object under data, not text in a string.
    const data = new Map<string, unknown>();
    for (const words of [['status'], ['rooms'], ['lore', 'list'], ['usage'], ['ping'], ['help'], ['feedback', 'Mags']]) {
      const result = JSON.parse((await admin('--json', ...words)).stdout) as { ok: boolean; data: unknown };
      expect({ words, ok: result.ok, data: result.data === null ? 'null' : typeof result.data }).toEqual({ words, ok: true, data: 'object' });
      data.set(words.join(' '), result.data);
    }
    expect(data.get('status')).toMatchObject({ personas: ['Fern', 'Mags'], encryption: tb.config.encryption.enabled, models: [{ label: model }] });
    expect(data.get('rooms')).toEqual({ rooms: [] });
    // A failed command: ok false, data null, the reason in output.
    const missing = JSON.parse((await admin('--json', 'persona', 'show', 'Nobody')).stdout) as { ok: boolean; data: unknown; output: string[] };
    expect(missing).toMatchObject({ ok: false, data: null });
    expect(missing.output.join('\n')).toContain("No persona named 'Nobody'");
    // One process per command (node's start is most of it on a loaded machine).
  }, 180_000);

  test('the console reads piped commands and writes plain lines: no prompt, no terminal escapes', async () => {
    const piped = await new Promise<Ran>((resolve) => {
      const child = execFile(process.execPath, [main, 'console', '-c', configPath], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
      child.stdin!.end('persona list\nrooms\n');
    });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(`2 personas:\nFern — ${tb.personaUserId('fern')} — model ${tb.config.llm.model} — 0 rooms\nMags — ${tb.personaUserId('mags')} — model ${tb.config.llm.model} — 0 rooms\nNo rooms with personas.\n`);
    expect(piped.stdout).not.toContain('\x1b');
  });

  test('rooms, and destructive commands that ask first (exit 2) unless --yes', async () => {
    const rooms = await admin('rooms');
    expect(rooms).toMatchObject({ code: 0, stdout: 'No rooms with personas.\n' });
    const unconfirmed = await admin('purge', 'memory', '--all');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('Delete 0 messages and 0 summaries of all rooms? This cannot be undone.\nNothing was done: add --yes to go ahead.');
    const confirmed = await admin('purge', 'memory', '--all', '--yes');
    expect(confirmed).toMatchObject({ code: 0, stdout: 'Deleted 0 messages and 0 summaries of all rooms.\n' });
    const noLogFile = await admin('logs', 'rotate');
    expect(noLogFile.code).toBe(1);
    expect(noLogFile.stdout).toContain('No log file is configured');
  });

  test('backfill fills memory from the homeserver history after a purge, and repeating it adds nothing', async () => {
    const carol = await newUser();
    const fern = tb.personaUserId('fern');
    const room = await carol.createRoom({ invite: [fern, tb.botUserId], name: 'Greenhouse' });
    await carol.waitForMembership(room, fern, 'join');
    await carol.waitForMembership(room, tb.botUserId, 'join');
    for (const text of ['the ferns need water', 'the orchid bloomed', 'moss on the north wall']) await carol.sendText(room, text);
    const remembered = () =>
      (tb.app.services.db.prepare('SELECT body FROM memory_messages WHERE room_id = ? ORDER BY id').all(room) as { body: string }[]).map((r) => r.body);
    await waitUntil(() => remembered().length === 3, 'the three messages remembered');

    expect(await admin('purge', 'memory', room, '--yes')).toMatchObject({ code: 0, stdout: `Deleted 3 messages and 0 summaries of ${room}.\n` });
    expect(remembered()).toEqual([]);
    const filled = await admin('backfill', room);
    expect(filled.code).toBe(0);
    expect(filled.stdout).toMatch(new RegExp(`^${room.replace(/[.$]/g, '\\$&')}: 3 messages filled in \\(of \\d+ events read\\)\n$`));
    expect(remembered()).toEqual(['the ferns need water', 'the orchid bloomed', 'moss on the north wall']);
    const again = await admin('backfill', '--all');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${room}: 0 messages filled in`);
    expect(remembered()).toHaveLength(3);
    carol.stop();
  });

  test('import from a file path and export into the current folder, from the shell', async () => {
    const dir = mkdtempSync(join(readState().runDir, 'cards-'));
    const card = join(dir, 'ivy.json');
    writeFileSync(card, JSON.stringify({ spec: 'chara_card_v2', spec_version: '2.0', data: { name: 'Ivy', description: '{{char}} tends the vines.' } }));
    // A relative path is the admin's, not the bridge's.
    const imported = await run(process.execPath, [main, 'admin', '-c', configPath, 'persona', 'import', 'ivy.json', '--id', 'ivy_vine'], dir);
    expect(imported).toMatchObject({ code: 0, stdout: `character card (chara_card_v2 2.0): created 1 persona: Ivy (${tb.personaUserId('ivy_vine')})\n` });
    const exported = await run(process.execPath, [main, 'admin', '-c', configPath, '--out', dir, 'persona', 'export', 'Ivy']);
    expect(exported.code).toBe(0);
    const localpart = tb.personaUserId('ivy_vine').slice(1).split(':')[0];
    expect(exported.stdout).toContain(`Wrote ${join(dir, `${localpart}.card.json`)}`);
    expect(JSON.parse(readFileSync(join(dir, `${localpart}.card.json`), 'utf8')).data).toMatchObject({ name: 'Ivy', description: 'Ivy tends the vines.' });
    const missing = await run(process.execPath, [main, 'admin', '-c', configPath, 'persona', 'import', 'nope.png'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe(`Nothing was imported: Cannot read ${join(dir, 'nope.png')}: ENOENT.\n`);
  });

  test('the console completes a persona name with Tab (through a pseudo-terminal)', async () => {
    const steps = [
      { expect: 'personas> ' },
      { send: 'persona sh\t' },
      { expect: 'persona show ' },
      { send: 'Fe\t' },
      { expect: 'persona show Fern ' },
      { send: '\r' },
      { expect: 'Prompt: You are Fern, a cheerful botanist\\.' },
      { send: 'exit\r' },
    ];
    const driver = join(import.meta.dirname, 'helpers', 'ptyDrive.py');
    const result = await run('python3', [driver, JSON.stringify(steps), '--', process.execPath, main, 'console', '-c', configPath]);
    expect(result.stdout).toContain('Fern (');
    expect(result.code).toBe(0);
  });

  test('a flood of requests on the admin socket (32 MiB, every answer read) leaves the bridge up and answering DMs (issue 22 #7)', async () => {
    const request = '{"id":1,"op":"complete"}\n';
    const flood = createConnection(tb.app.services.admin.path);
    await new Promise<void>((connected) => flood.once('connect', () => connected()));
    let answers = 0;
    flood.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) answers++;
    });
    // 1.3 million requests, written at once: the bridge takes them at its pace, the rest wait here.
    flood.write(request.repeat((32 * 1024 * 1024) / request.length));
    try {
      const carol = await newUser();
      const fern = tb.personaUserId('fern');
      const dm = await carol.openDm(fern);
      await carol.sendText(dm, 'anyone home during the flood?');
      await carol.waitForMessage(dm, (e) => e.sender === fern && /^still here \(.*anyone home during the flood\?/.test(e.content.body ?? ''), 60_000, "Fern's answer during the flood");
      carol.stop();
      // Another admin connection is served meanwhile (its own budget).
      expect(await admin('ping')).toMatchObject({ code: 0 });
      expect(answers).toBeGreaterThan(0);
      // The bridge holds a bounded queue; what it has not read stays in the client.
      const flooding = tb.app.services.admin.connectionStats().find((c) => c.handled > 0);
      expect(flooding).toBeDefined();
      expect(flooding!.pending).toBeLessThan(5000);
      expect(flood.writableLength).toBeGreaterThan(16 * 1024 * 1024);
      expect((await fetch(`${tb.appserviceUrl}/health`)).status).toBe(200);
    } finally {
      flood.destroy();
    }
  }, 180_000);
});
