import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import type { RegistrationFile } from '../src/registration.js';
import { cpuSecondsOfPid, peakRssOfPid, rssOfPid } from './machine.js';

/** The bridge as the benchmarks drive it: a URL to PUT transactions to, and its memory. */
export interface BridgeUnderTest {
  /** The appservice listener, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** The token a homeserver authenticates its transactions with. */
  readonly hsToken: string;
  /** Resident set size of the process the bridge runs in (bytes). */
  rssBytes(): number;
  /** The highest resident set size since the process started (bytes). */
  peakRssBytes(): number;
  /** CPU time the process has used so far (s). */
  cpuSeconds(): number;
  /** What the bridge reported about its runtime (node flags, heap limit), or null. */
  runtimeLine(): string | null;
  /** Null while running; how it ended otherwise (e.g. "signal SIGABRT", "exit code 134"). */
  exited(): string | null;
  /** The last lines of the bridge's log, for reports of a crash. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface BridgeProcessOptions {
  /** dist/main.js */
  mainJs: string;
  /** Where config, registration and the log go. */
  dir: string;
  config: Record<string, unknown>;
  registration: RegistrationFile;
  /** Extra node flags, e.g. ['--cpu-prof'] (the benchmark takes them from BENCH_BRIDGE_NODE_ARGS). */
  nodeArgs?: string[];
  /** Extra environment, e.g. PERSONAS_RUNTIME_TUNING=off for Node's own defaults. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/**
 * The real bridge in its own process, started the way an admin starts it
 * (`node dist/main.js -c config.yaml -f registration.yaml`), its output going to a log file.
 */
export class BridgeProcess implements BridgeUnderTest {
  readonly hsToken: string;
  readonly logFile: string;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    registration: RegistrationFile,
    logFile: string,
  ) {
    this.hsToken = registration.hs_token;
    this.logFile = logFile;
  }

  static async start(opts: BridgeProcessOptions): Promise<BridgeProcess> {
    const configFile = join(opts.dir, 'config.yaml');
    const registrationFile = join(opts.dir, 'registration.yaml');
    const logFile = join(opts.dir, 'bridge.log');
    writeFileSync(configFile, stringify(opts.config));
    writeFileSync(registrationFile, stringify(opts.registration), { mode: 0o600 });
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.mainJs, '-c', configFile, '-f', registrationFile], {
      cwd: opts.dir,
      stdio: ['ignore', log, log],
      // As an admin starts it: whatever tunes this process must not leak into the bridge.
      env: { ...withoutRuntimeSettings(process.env), NODE_ENV: 'production', ...opts.env },
    });
    closeSync(log);
    const appservice = opts.config.appservice as { bind?: string; port: number };
    const bridge = new BridgeProcess(child, `http://${appservice.bind ?? '127.0.0.1'}:${appservice.port}`, opts.registration, logFile);
    await bridge.waitHealthy(opts.startTimeoutMs ?? 60_000);
    return bridge;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  rssBytes(): number {
    return rssOfPid(this.pid);
  }

  peakRssBytes(): number {
    return peakRssOfPid(this.pid);
  }

  cpuSeconds(): number {
    return cpuSecondsOfPid(this.pid);
  }

  runtimeLine(): string | null {
    try {
      // The log file is shared by the bridges of one run: this one's line is the last.
      const lines = readFileSync(this.logFile, 'utf8').match(/runtime: .*/g);
      return lines?.at(-1)?.replace(/\s*\{"module".*$/, '') ?? null;
    } catch {
      return null;
    }
  }

  exited(): string | null {
    if (this.child.signalCode !== null) return `signal ${this.child.signalCode}`;
    if (this.child.exitCode !== null) return `exit code ${this.child.exitCode}`;
    return null;
  }

  /** The last lines of the bridge's log, for error messages. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the bridge exited during start (${this.child.exitCode ?? this.child.signalCode}):\n${this.logTail()}`);
      }
      try {
        const res = await fetch(`${this.url}/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await this.stop();
    throw new Error(`the bridge did not become healthy within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** SIGTERM (the bridge's graceful shutdown), SIGKILL if it does not exit within 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Without the node and allocator settings of the benchmark's own environment. */
function withoutRuntimeSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _nodeOptions, MALLOC_ARENA_MAX: _arenas, PERSONAS_RUNTIME_TUNING: _tuning, ...rest } = env;
  return rest;
}
