// scripts/local-stack.sh as a newcomer runs it: one command brings up its own Synapse, the
// bridge and the seed personas, prints a login; a Matrix client logs in with it and a seed
// persona answers a DM through the (fake) LLM; Ctrl-C stops everything it started; a second
// run reuses the same tokens and password. The stack gets its own Synapse, ports and state
// folder, so it never touches the e2e run's homeserver.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { FakeOpenAI, answeredText } from '../fakes/FakeOpenAI.js';
import { freePort } from './helpers/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
// A fresh account's first sync makes matrix-js-sdk warn about every default push rule it adds.
(sdkLogger as unknown as { setLevel?: (level: string) => void }).setLevel?.('error');
/** The first run may build the Synapse chroot when the cache is cold; usually it takes seconds. */
const START_TIMEOUT_MS = 240_000;

interface Stack {
  child: ChildProcess;
  output: () => string;
  login: { homeserverUrl: string; userId: string; password: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the script as a newcomer does, or (`terminal`) in a terminal of its own, a pty made by
 * util-linux `script`, where Ctrl-C (a ^C typed into it) signals every process of the
 * foreground group at once: the script, the bridge and whatever carries the bridge's output.
 */
function startStack(env: Record<string, string>, opts: { terminal?: boolean } = {}): Promise<Stack> {
  // `script` runs the command with $SHELL -c (dash when SHELL is unset, as on CI), and dash
  // does not exec it: that extra shell would die of the ^C itself (exit 130) whatever the
  // script does. `exec` leaves the script alone in the terminal, as when a person types it.
  const command = `exec bash ${join(ROOT, 'scripts/local-stack.sh')}`;
  const child = opts.terminal
    ? spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('bash', [join(ROOT, 'scripts/local-stack.sh')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // A terminal ends lines with \r\n.
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise<Stack>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local-stack printed no login within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8').replace(/\r/g, '');
      const homeserverUrl = /^ {2}Homeserver URL: (\S+)$/m.exec(output)?.[1];
      const userId = /^ {2}User: +(\S+)$/m.exec(output)?.[1];
      const password = /^ {2}Password: +(\S+)$/m.exec(output)?.[1];
      if (homeserverUrl && userId && password && output.includes('The local stack is up.')) {
        clearTimeout(timer);
        resolve({ child, output: () => output, login: { homeserverUrl, userId, password }, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`local-stack exited (code ${code}) before printing a login:\n${output}`));
    });
  });
}

/** Every process below pid (children, their children...), from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  for (const entry of pids) {
    try {
      // Fields after the command name (which may contain spaces) start after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), entry]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A logged-in, syncing matrix-js-sdk client for the printed login, as any Matrix app would do. */
async function clientFor(login: Stack['login']): Promise<sdk.MatrixClient> {
  const localpart = login.userId.slice(1).split(':')[0]!;
  const anonymous = sdk.createClient({ baseUrl: login.homeserverUrl });
  const session = await anonymous.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: localpart }, password: login.password });
  const client = sdk.createClient({ baseUrl: login.homeserverUrl, accessToken: session.access_token, userId: session.user_id, deviceId: session.device_id });
  const prepared = new Promise<void>((resolve) => client.on(sdk.ClientEvent.Sync, (state) => state === sdk.SyncState.Prepared && resolve()));
  await client.startClient({ initialSyncLimit: 10 });
  await prepared;
  return client;
}

/** Resolves with the first timeline event the predicate accepts (already there or arriving). */
function waitForTimeline(client: sdk.MatrixClient, roomId: string, predicate: (e: sdk.MatrixEvent) => boolean, what: string): Promise<sdk.MatrixEvent> {
  return new Promise((resolve, reject) => {
    const seen = client.getRoom(roomId)?.getLiveTimeline().getEvents().find(predicate);
    if (seen) return resolve(seen);
    const timer = setTimeout(() => {
      client.off(sdk.RoomEvent.Timeline, onEvent);
      reject(new Error(`timed out waiting for ${what}`));
    }, 60_000);
    const onEvent = (event: sdk.MatrixEvent, room: sdk.Room | undefined): void => {
      if (room?.roomId !== roomId || !predicate(event)) return;
      clearTimeout(timer);
      client.off(sdk.RoomEvent.Timeline, onEvent);
      resolve(event);
    };
    client.on(sdk.RoomEvent.Timeline, onEvent);
  });
}

describe('scripts/local-stack.sh', () => {
  let llm: FakeOpenAI;
  let env: Record<string, string>;
  let stateDir: string;
  let running: Stack | null = null;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => `Fern here. You said: ${answeredText(req)}`);
    stateDir = mkdtempSync(join(tmpdir(), 'personas-localstack-'));
    env = {
      PERSONAS_LOCAL_DIR: stateDir,
      PERSONAS_SYNAPSE_PORT: String(await freePort()),
      PERSONAS_APPSERVICE_PORT: String(await freePort()),
      PERSONAS_LLM_URL: llm.baseUrl,
      PERSONAS_LLM_MODEL: 'fake-model',
    };
  });
  afterAll(async () => {
    // A failed test must not leave a Synapse behind.
    if (running && running.child.exitCode === null) {
      if (running.child.stdin) running.child.stdin.write('\x03');
      else running.child.kill('SIGINT');
      await running.exited;
    }
    await llm?.stop();
  });

  /**
   * Ctrl-C (SIGINT to the script, or typed into its terminal), and proof that the bridge shut
   * down cleanly and that it, Synapse and every helper process are gone.
   */
  async function stopAndVerify(stack: Stack, how: 'signal' | 'terminal' = 'signal'): Promise<void> {
    const synapsePid = Number(readFileSync(join(stateDir, 'synapse', 'synapse.pid'), 'utf8'));
    const helpers = descendants(stack.child.pid!);
    expect(helpers.length).toBeGreaterThan(0); // at least the bridge
    expect(alive(synapsePid)).toBe(true);
    if (how === 'terminal') stack.child.stdin!.write('\x03');
    else stack.child.kill('SIGINT');
    expect(await stack.exited).toEqual({ code: 0, signal: null });
    running = null;
    expect(stack.output()).toMatch(/stopping the bridge[\s\S]*the bridge stopped cleanly[\s\S]*stopping Synapse/);
    // The bridge's own clean shutdown, in its log, and its admin socket gone with it.
    const bridgeLog = readFileSync(join(stateDir, 'bridge.log'), 'utf8');
    expect(bridgeLog).toMatch(/SIG(INT|TERM) received, shutting down[\s\S]*\[PersonaBridge\] stopped/);
    expect(bridgeLog).not.toMatch(/EPIPE|Uncaught|uncaught/);
    expect(existsSync(join(stateDir, 'admin.sock'))).toBe(false);
    expect(helpers.filter(alive)).toEqual([]);
    expect(alive(synapsePid)).toBe(false);
    expect(existsSync(join(stateDir, 'synapse', 'synapse.pid'))).toBe(false);
    await expect(fetch(`http://127.0.0.1:${env.PERSONAS_APPSERVICE_PORT}/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${env.PERSONAS_SYNAPSE_PORT}/_matrix/client/versions`)).rejects.toThrow();
  }

  test(
    'starts everything, a seed persona answers a DM from the printed admin, Ctrl-C stops it all',
    async () => {
      const stack = (running = await startStack(env));
      expect(stack.login).toEqual({ homeserverUrl: `http://127.0.0.1:${env.PERSONAS_SYNAPSE_PORT}`, userId: '@admin:localhost', password: expect.stringMatching(/^[0-9a-f]{24}$/) });
      expect(stack.output()).toContain('@persona_fern:localhost');
      // The bridge's log (rooms, people, what they wrote) is for this user alone.
      expect(statSync(join(stateDir, 'bridge.log')).mode & 0o777).toBe(0o600);

      const client = await clientFor(stack.login);
      try {
        const fern = '@persona_fern:localhost';
        const { room_id: roomId } = await client.createRoom({ invite: [fern], is_direct: true, preset: sdk.Preset.TrustedPrivateChat });
        await waitForTimeline(client, roomId, (e) => e.getType() === 'm.room.member' && e.getStateKey() === fern && e.getContent().membership === 'join', 'Fern to join');
        await client.sendTextMessage(roomId, 'Is my cactus thirsty?');
        const answer = await waitForTimeline(client, roomId, (e) => e.getSender() === fern && e.getType() === 'm.room.message', 'an answer from Fern');
        // The first answer to a person in a direct chat says it is an AI (disclosure: first_contact, the default).
        expect(answer.getContent().body).toBe('Fern here. You said: Is my cactus thirsty?\n\nℹ️ Fern is an AI character run by localhost: its answers are written by a language model.');
        expect(llm.requests.at(-1)!.model).toBe('fake-model');
      } finally {
        client.stopClient();
      }
      await stopAndVerify(stack);
    },
    START_TIMEOUT_MS + 120_000,
  );

  test(
    'a second run, in a terminal, reuses the config, registration tokens and password; Ctrl-C there stops the bridge cleanly',
    async () => {
      const registration = readFileSync(join(stateDir, 'registration.yaml'), 'utf8');
      const password = readFileSync(join(stateDir, 'admin-password'), 'utf8');
      const stack = (running = await startStack(env, { terminal: true }));
      expect(stack.output()).toContain(`reusing ${join(stateDir, 'config.yaml')}`);
      expect(stack.login.password).toBe(password);
      expect(readFileSync(join(stateDir, 'registration.yaml'), 'utf8')).toBe(registration);
      // The same password still logs in: the account was kept, not re-created.
      (await clientFor(stack.login)).stopClient();
      await stopAndVerify(stack, 'terminal');
    },
    START_TIMEOUT_MS + 60_000,
  );
});
