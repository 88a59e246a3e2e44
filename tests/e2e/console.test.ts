// The admin console against the running bridge on a real Synapse: `admin <command>` from a
// shell (the built CLI, as cron or Ansible would run it) with exit codes and --json, and the
// interactive console completing a persona name, driven through a pseudo-terminal.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { builtFile, readState, startTestBridge, type TestBridge } from './helpers/index.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('admin console', () => {
  let tb: TestBridge;
  let configPath: string;
  let main: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(readState().runDir, 'console-'));
    const personasDir = join(dir, 'personas');
    mkdirSync(personasDir);
    writeFileSync(join(personasDir, 'fern.yaml'), 'name: Fern\nprompt: You are Fern, a cheerful botanist.\n');
    writeFileSync(join(personasDir, 'mags.yaml'), 'name: Mags\nprompt: You are Mags, a grumpy pirate cook.\n');
    tb = await startTestBridge({ personasDir });
    configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify(tb.config));
    main = builtFile('main.js');
  });
  afterAll(() => tb?.stop());

  const admin = (...words: string[]) => run(process.execPath, [main, 'admin', '-c', configPath, '-f', tb.slot.registrationFile, ...words]);

  test('`admin persona list` prints the personas and exits 0', async () => {
    const result = await admin('persona', 'list');
    expect(result.code).toBe(0);
    // Nothing but the libraries' deprecation notices on stderr.
    expect(result.stderr.split('\n').filter((l) => l && !/DeprecationWarning|trace-deprecation/.test(l))).toEqual([]);
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
    expect(unknown.stdout).toContain("Unknown command '!frobnicate'");
  });

  test('--json prints one object', async () => {
    const result = await admin('--json', 'persona', 'show', 'Mags');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as { ok: boolean; output: string[] };
    expect(parsed.ok).toBe(true);
    expect(parsed.output.join('\n')).toContain('Prompt: You are Mags, a grumpy pirate cook.');
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
});
