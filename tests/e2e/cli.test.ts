// The built entry point as an admin runs it (`node dist/main.js -c CONFIG -f REG`), against
// the real Synapse: a bad config is refused with its key path; a good one starts, answers a
// user, and shuts down cleanly on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import BetterSqlite3 from 'better-sqlite3';
import { builtFile, claimSlot, newUser, readState, type TestUser } from './helpers/index.js';


interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function runBridge(args: string[]): Run {
  const child = spawn(process.execPath, [builtFile('main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, output: () => out, exited };
}

async function waitForOutput(run: Run, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null) throw new Error(`bridge exited (${run.child.exitCode}) before ${pattern}:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the built CLI on a real Synapse', () => {
  const state = readState();
  const slot = claimSlot();
  const dir = mkdtempSync(join(tmpdir(), 'personas-cli-'));
  const dbPath = join(dir, 'personas.db');
  const config = {
    homeserver: { url: state.synapse.baseUrl, domain: state.domain },
    appservice: { bind: '127.0.0.1', port: slot.port, bot_localpart: slot.botLocalpart, persona_prefix: slot.personaPrefix },
    admins: [] as string[],
    database: { path: dbPath },
    llm: { base_url: 'http://127.0.0.1:9/v1', model: 'test-model' },
    personas: { directory: mkdtempSync(join(dir, 'personas-')) },
  };
  let bob: TestUser;

  afterAll(() => bob?.stop());

  test('a config with a wrong type and an unknown key is refused, naming both key paths', async () => {
    const badPath = join(dir, 'bad.yaml');
    writeFileSync(badPath, stringify({ ...config, appservice: { ...config.appservice, port: 'ninety' }, dispatch: { loop_treshold: 3 } }));
    const run = runBridge(['-c', badPath, '-f', slot.registrationFile]);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain("Config error at 'appservice.port': must be of type integer");
    expect(run.output()).toContain("Config error at 'dispatch.loop_treshold': unknown key");
  });

  test('starts, answers !ping, and exits 0 on SIGTERM with the listener and database closed', async () => {
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify(config));
    const run = runBridge(['-c', configPath, '-f', slot.registrationFile]);
    try {
      await waitForOutput(run, /bridge ready/);
      bob = await newUser();
      const botUserId = `@${slot.botLocalpart}:${state.domain}`;
      const roomId = await bob.createRoom({ invite: [botUserId], isDirect: true });
      await bob.waitForMembership(roomId, botUserId, 'join');
      await bob.sendText(roomId, '!ping');
      await bob.waitForMessage(roomId, (e) => e.sender === botUserId && /^Pong!/.test(e.content.body ?? ''));
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/SIGTERM received, shutting down/);
    await expect(fetch(`http://127.0.0.1:${slot.port}/health`)).rejects.toThrow();
    // Closed cleanly: SQLite checkpoints and removes the -wal file only when the last
    // connection is closed, so a process that exited with the database open leaves it behind.
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    const db = new BetterSqlite3(dbPath);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT COUNT(*) AS n FROM processed_events').get()).toEqual({ n: expect.any(Number) });
    db.close();
  });
});
