// The built bridge as an admin runs it (`node dist/main.js -c CONFIG -f REG`), in a process
// of its own: for what only a real process shows (its log output, exit codes, kill -9).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { builtFile } from './built.js';
import { logsDir } from './logScan.js';
import { readState } from './state.js';
import { waitUntil } from './wait.js';

export interface BridgeRun {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

export function runBridge(args: string[], env: NodeJS.ProcessEnv = process.env): BridgeRun {
  const child = spawn(process.execPath, [builtFile('main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  // Kept for the run's secrets scan (helpers/logScan.ts).
  const kept = createWriteStream(join(logsDir(readState().runDir), `process-${child.pid ?? 'unstarted'}-${Date.now()}.log`));
  const keep = (d: Buffer): void => {
    out += d.toString();
    kept.write(d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('close', () => kept.end());
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, output: () => out, exited };
}

/**
 * The built bridge on one config and registration, as a test that kills it needs: start()
 * resolves once it says it is ready, kill() sends SIGKILL and waits for the exit.
 */
export function killableBridge(args: string[]): { start(): Promise<void>; kill(): Promise<void>; stop(): Promise<void> } {
  let run: BridgeRun | null = null;
  return {
    async start() {
      run = runBridge(args);
      await waitForOutput(run, /bridge ready/, 60_000);
    },
    async kill() {
      run?.child.kill('SIGKILL');
      await run?.exited;
      run = null;
    },
    async stop() {
      run?.child.kill('SIGTERM');
      await run?.exited;
      run = null;
    },
  };
}

/** Waits until the bridge has written `pattern`; fails at once when it exits before. */
export async function waitForOutput(run: BridgeRun, pattern: RegExp, timeoutMs?: number): Promise<void> {
  let exited = false;
  await waitUntil(
    () => {
      if (pattern.test(run.output())) return true;
      exited = run.child.exitCode !== null;
      return exited;
    },
    `${pattern} in the bridge output`,
    timeoutMs,
  ).catch((err: unknown) => {
    // What the bridge last said tells why it never got there.
    throw new Error(`${err instanceof Error ? err.message : String(err)}; its output ended:\n${tail(run)}`);
  });
  if (exited) throw new Error(`bridge exited (${run.child.exitCode}) before ${pattern}; its output ended:\n${tail(run)}`);
}

const tail = (run: BridgeRun): string => run.output().split('\n').slice(-30).join('\n');
