import { chmodSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiter, type Interval } from 'limiter';
import { getLogger } from '../logging.js';
import type { CommandData } from '../commands/CommandTable.js';
import { describeError } from '../util/describeError.js';
import { LineReader, MAX_REQUEST_BYTES, parseRequest, type AdminRequest, type AdminResponse } from './adminProtocol.js';

const log = getLogger('AdminServer');

/** What the admin endpoint runs: the same command table as chat, as the built-in admin identity. */
export interface AdminCommands {
  /**
   * Runs one command line (without the chat prefix); `write` receives its output as it comes.
   * Resolves with whether it succeeded, or with a question when it is destructive and
   * `yes` was not given.
   */
  run(line: string, options: { json: boolean; yes: boolean; who: string; cwd?: string }, out: AdminOutput): Promise<{ ok: boolean; confirm?: string; data?: CommandData }>;
  /** Command words and persona names, for the console's tab completion. */
  completions(): { commands: string[]; personas: string[] };
}

/** Where a command's answers go: text lines, and files (exports) the console writes out. */
export interface AdminOutput {
  text(text: string): void;
  file(file: { name: string; mimetype: string; data: Buffer }): void;
}

/**
 * What one connection may cost the bridge. A script stuck in a loop (or a flood of
 * `{"op":"complete"}` lines, each answered with every command word) must not take the bridge
 * down: requests are taken at a bounded rate, and while requests wait or answers are not read
 * the socket is no longer read, so the client's writes block instead of the bridge's memory
 * growing (back-pressure).
 */
export interface AdminLimits {
  /** Requests run per interval, per connection; more wait their turn. */
  requests: { tokensPerInterval: number; interval: Interval };
  /** Requests read but not yet run before the socket stops being read. */
  maxPending: number;
  /** Bytes written but not yet taken by the client before the next request waits for them to be. */
  maxBufferedOutput: number;
  /** Connections at once (each console or `admin` command is one). */
  maxConnections: number;
}

export const DEFAULT_ADMIN_LIMITS: AdminLimits = {
  // Far more than a person typing or a script running commands one by one needs.
  requests: { tokensPerInterval: 50, interval: 'second' },
  maxPending: 64,
  maxBufferedOutput: 1024 * 1024,
  maxConnections: 16,
};

/** What a connection holds right now (for tests and the log). */
type QueueStats = Omit<AdminConnectionStats, 'bufferedOutput' | 'reading'>;

export interface AdminConnectionStats {
  /** Requests read, not yet run. */
  pending: number;
  /** Bytes of answers written, not yet taken by the client. */
  bufferedOutput: number;
  /** Requests run. */
  handled: number;
  /** What the next request waits for: the client to read its answers, or its turn (rate). */
  waiting: 'output' | 'rate' | null;
  /** False while the socket is not read (back-pressure). */
  reading: boolean;
}

/** Unix socket paths are limited to 107 bytes on Linux (sun_path). */
const MAX_SOCKET_PATH = 107;

/**
 * The local admin endpoint: a unix socket, mode 0600, so only the bridge's own OS user (and
 * root) can connect; there is no other authentication. It is created in a private directory
 * and then moved into place, so it is never reachable with looser permissions, not even for
 * the moment between bind and chmod.
 */
export class AdminServer {
  private server: Server | null = null;
  /** Each connection's queue; what its socket holds is read from the socket when asked. */
  private readonly sockets = new Map<Socket, QueueStats>();

  constructor(
    readonly path: string,
    private readonly commands: AdminCommands,
    private readonly limits: AdminLimits = DEFAULT_ADMIN_LIMITS,
  ) {}

  /** Each open connection's queue and unread output. */
  connectionStats(): AdminConnectionStats[] {
    return [...this.sockets.entries()].map(([socket, stats]) => ({ ...stats, bufferedOutput: socket.writableLength, reading: !socket.isPaused() }));
  }

  async start(): Promise<void> {
    if (Buffer.byteLength(this.path) > MAX_SOCKET_PATH) {
      throw new Error(`admin socket path ${this.path} is longer than ${MAX_SOCKET_PATH} bytes, which unix sockets do not allow; set admin.socket to a shorter path`);
    }
    await this.removeStale();
    const privateDir = mkdtempSync(join(dirname(this.path), '.admin-'));
    const tmpPath = join(privateDir, 's');
    const server = createServer((socket) => this.serve(socket));
    server.maxConnections = this.limits.maxConnections;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(tmpPath, () => resolve());
      });
      chmodSync(tmpPath, 0o600);
      renameSync(tmpPath, this.path);
    } catch (err) {
      server.close();
      throw err;
    } finally {
      rmSync(privateDir, { recursive: true, force: true });
    }
    this.server = server;
    log.info(`admin console endpoint on ${this.path} (mode 0600)`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets.keys()) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }

  /** A socket file left by a bridge that died is removed; one a running bridge answers on is not. */
  private async removeStale(): Promise<void> {
    const alive = await new Promise<boolean>((resolve) => {
      const probe = createConnection(this.path);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (alive) throw new Error(`another bridge already listens on the admin socket ${this.path}`);
    try {
      unlinkSync(this.path);
    } catch {
      // Nothing there.
    }
  }

  private serve(socket: Socket): void {
    const stats: QueueStats = { pending: 0, handled: 0, waiting: null };
    this.sockets.set(socket, stats);
    socket.setEncoding('utf8');
    const reader = new LineReader(MAX_REQUEST_BYTES);
    const limiter = new RateLimiter(this.limits.requests);
    const closed = new AbortController();
    const send = (response: AdminResponse) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
    };
    // One request at a time per connection, in order.
    const pending: string[] = [];
    let running = false;
    const runPending = async () => {
      if (running) return;
      running = true;
      try {
        while (pending.length > 0 && !closed.signal.aborted) {
          // Answers the client has not taken yet: no more work until it has.
          if (socket.writableLength > this.limits.maxBufferedOutput) {
            stats.waiting = 'output';
            await this.drained(socket);
          }
          while (!limiter.tryRemoveTokens(1)) {
            stats.waiting = 'rate';
            await sleep(Math.max(1, limiter.getWaitTime(1)), undefined, { signal: closed.signal });
          }
          stats.waiting = null;
          const line = pending.shift()!;
          stats.pending = pending.length;
          if (socket.isPaused() && pending.length <= this.limits.maxPending / 2) socket.resume();
          await this.handle(line, send);
          stats.handled++;
        }
      } catch (err) {
        if (!closed.signal.aborted) log.warn(`admin socket: ${describeError(err)}; closing the connection`);
        socket.destroy();
      } finally {
        running = false;
      }
    };
    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch (err) {
        log.warn(`admin socket: ${describeError(err)}; closing the connection`);
        socket.destroy();
        return;
      }
      pending.push(...lines);
      stats.pending = pending.length;
      if (pending.length >= this.limits.maxPending) socket.pause();
      void runPending();
    });
    socket.on('error', (err) => log.debug(`admin socket connection error: ${err.message}`));
    socket.on('close', () => {
      closed.abort();
      pending.length = 0;
      this.sockets.delete(socket);
    });
  }

  /** Resolves once the socket's written output has been taken by the client, or it closed. */
  private drained(socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.once('drain', done);
      socket.once('close', done);
    });
  }

  private async handle(line: string, send: (r: AdminResponse) => void): Promise<void> {
    let request: AdminRequest;
    try {
      request = parseRequest(line);
    } catch (err) {
      send({ id: -1, type: 'done', ok: false, error: `bad request: ${describeError(err)}` });
      return;
    }
    if (request.op === 'complete') {
      send({ id: request.id, type: 'completions', ...this.commands.completions() });
      return;
    }
    const who = `console:${request.who ?? 'unknown local user'}`;
    try {
      const result = await this.commands.run(
        request.line,
        { json: request.json ?? false, yes: request.yes ?? false, who, ...(request.cwd ? { cwd: request.cwd } : {}) },
        {
          text: (text) => send({ id: request.id, type: 'output', text }),
          file: (f) => send({ id: request.id, type: 'file', name: f.name, mimetype: f.mimetype, data: f.data.toString('base64') }),
        },
      );
      log.info(`admin console: ${who} ran ${JSON.stringify(request.line)}: ${result.confirm ? 'awaiting confirmation' : result.ok ? 'ok' : 'failed'}`);
      // Data only for --json: the text console and chat have the reply.
      const data = request.json && result.data ? { data: result.data } : {};
      send({ id: request.id, type: 'done', ok: result.ok, ...(result.confirm ? { confirm: result.confirm } : {}), ...data });
    } catch (err) {
      log.error(`admin console: ${who} ran ${JSON.stringify(request.line)}`, { error: err });
      send({ id: request.id, type: 'done', ok: false, error: describeError(err) });
    }
  }
}
