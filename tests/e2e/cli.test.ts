// The built entry point as an admin runs it (`node dist/main.js -c CONFIG -f REG`), against
// the real Synapse: a bad config is refused with its key path; a good one starts, answers a
// user, and shuts down cleanly on SIGTERM.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { jest } from '@jest/globals';
import { RUNTIME_DEFAULTS } from '../../src/runtime/runtimePlan.js';
import { runBridge as runBuiltBridge, waitForOutput, type BridgeRun } from './helpers/bridgeProcess.js';
import { builtBridgeConfig, claimSlot, newUser, readState, writeBridgeConfig, type TestUser } from './helpers/index.js';

// Each test starts the built bridge in a process of its own, waiting up to a minute for it.
jest.setTimeout(150_000);


/** The built bridge, with the environment the test gives instead of the runner's runtime settings. */
function runBridge(args: string[], env: NodeJS.ProcessEnv = {}): BridgeRun {
  return runBuiltBridge(args, { ...withoutRuntimeSettings(process.env), ...env });
}

/** The test runner's own NODE_OPTIONS or MALLOC_ARENA_MAX must not decide what the bridge runs with. */
function withoutRuntimeSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _nodeOptions, MALLOC_ARENA_MAX: _arenas, PERSONAS_RUNTIME_TUNING: _tuning, ...rest } = env;
  return rest;
}

/** What the bridge logs about the process it runs in (src/runtime/launch.ts describeRuntime). */
function runtimeLine(run: BridgeRun): { pid: number; heapLimitMiB: number; flags: string; arenas: string } {
  const m = /runtime: pid (\d+); V8 heap limit (\d+) MiB; node flags (.*?); MALLOC_ARENA_MAX=(\S+)/.exec(run.output());
  if (!m) throw new Error(`no runtime line in:\n${run.output()}`);
  return { pid: Number(m[1]), heapLimitMiB: Number(m[2]), flags: m[3]!, arenas: m[4]! };
}

// Bounded generously: on a loaded 2-core machine a start has taken over 30 s; speed is the benchmark's business.
const START_WAIT_MS = 60_000;

describe('the built CLI on a real Synapse', () => {
  const state = readState();
  const slot = claimSlot();
  const dir = mkdtempSync(join(tmpdir(), 'personas-cli-'));
  const dbPath = join(dir, 'personas.db');
  const config = builtBridgeConfig({ slot, databasePath: dbPath, personasDir: mkdtempSync(join(dir, 'personas-')), llmBaseUrl: 'http://127.0.0.1:9/v1' });
  let bob: TestUser;

  afterAll(() => bob?.stop());

  test('a config with a wrong type and an unknown key is refused, naming both key paths', async () => {
    const badPath = writeBridgeConfig(dir, { ...config, appservice: { ...(config.appservice as object), port: 'ninety' }, dispatch: { loop_treshold: 3 } }, 'bad.yaml');
    const run = runBridge(['-c', badPath, '-f', slot.registrationFile]);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain("Config error at 'appservice.port': must be of type integer");
    expect(run.output()).toContain("Config error at 'dispatch.loop_treshold': unknown key");
  });

  test('starts, answers !ping, and exits 0 on SIGTERM with the listener and database closed', async () => {
    const configPath = writeBridgeConfig(dir, config);
    const run = runBridge(['-c', configPath, '-f', slot.registrationFile]);
    try {
      await waitForOutput(run, /bridge ready/, START_WAIT_MS);
      // Started as `node dist/main.js`, it re-executed itself (same pid) with the memory defaults.
      const runtime = runtimeLine(run);
      expect(runtime.pid).toBe(run.child.pid);
      expect(runtime.flags).toBe(`--max-old-space-size=${RUNTIME_DEFAULTS.maxHeapMb} --max-semi-space-size=${RUNTIME_DEFAULTS.semiSpaceMb}`);
      expect(runtime.arenas).toBe('2');
      // V8's limit is the old-space cap plus the young generation (a few semi-spaces).
      expect(runtime.heapLimitMiB).toBeGreaterThanOrEqual(RUNTIME_DEFAULTS.maxHeapMb);
      expect(runtime.heapLimitMiB).toBeLessThan(RUNTIME_DEFAULTS.maxHeapMb + 64);
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
    // No library's deprecation warning at start (htmlencode 0.0.4's util._extend, DEP0060, was printed twice).
    expect(run.output()).not.toMatch(/DeprecationWarning|DEP0\d+/);
    await expect(fetch(`http://127.0.0.1:${slot.port}/health`)).rejects.toThrow();
    // Closed cleanly: SQLite checkpoints and removes the -wal file only when the last
    // connection is closed, so a process that exited with the database open leaves it behind.
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    const db = new BetterSqlite3(dbPath);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT COUNT(*) AS n FROM processed_events').get()).toEqual({ n: expect.any(Number) });
    db.close();
  });

  describe('runtime settings', () => {
    /** Starts the bridge until it reports its runtime, then stops it (it need not finish starting). */
    async function runtimeOf(runtime: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv = {}) {
      const runDir = mkdtempSync(join(dir, 'runtime-'));
      const configPath = writeBridgeConfig(runDir, { ...config, database: { path: join(runDir, 'personas.db') }, ...(runtime ? { runtime } : {}) });
      const run = runBridge(['-c', configPath, '-f', slot.registrationFile], env);
      try {
        await waitForOutput(run, /runtime: pid/, START_WAIT_MS);
        return runtimeLine(run);
      } finally {
        run.child.kill('SIGKILL');
        await run.exited;
      }
    }

    test("the admin's runtime.max_heap_mb and semi_space_mb reach V8", async () => {
      const runtime = await runtimeOf({ max_heap_mb: 300, semi_space_mb: 4 });
      expect(runtime.flags).toBe('--max-old-space-size=300 --max-semi-space-size=4');
      expect(runtime.heapLimitMiB).toBeGreaterThanOrEqual(300);
      expect(runtime.heapLimitMiB).toBeLessThan(300 + 64);
    });

    test('a heap flag in NODE_OPTIONS wins over the config; an explicit MALLOC_ARENA_MAX is kept', async () => {
      const runtime = await runtimeOf({ max_heap_mb: 300 }, { NODE_OPTIONS: '--max-old-space-size=700', MALLOC_ARENA_MAX: '4' });
      expect(runtime.flags).toBe(`--max-semi-space-size=${RUNTIME_DEFAULTS.semiSpaceMb}`);
      expect(runtime.heapLimitMiB).toBeGreaterThanOrEqual(700);
      expect(runtime.arenas).toBe('4');
    });

    test('runtime.tune_memory: false and PERSONAS_RUNTIME_TUNING=off start node untouched', async () => {
      for (const [runtime, env] of [[{ tune_memory: false }, {}], [undefined, { PERSONAS_RUNTIME_TUNING: 'off' }]] as const) {
        const result = await runtimeOf(runtime, env);
        expect(result.flags).toBe('(none)');
        expect(result.arenas).toBe('(unset)');
      }
    });
  });
});
