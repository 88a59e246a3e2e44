import { chmodSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
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
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly commands: AdminCommands,
  ) {}

  async start(): Promise<void> {
    if (Buffer.byteLength(this.path) > MAX_SOCKET_PATH) {
      throw new Error(`admin socket path ${this.path} is longer than ${MAX_SOCKET_PATH} bytes, which unix sockets do not allow; set admin.socket to a shorter path`);
    }
    await this.removeStale();
    const privateDir = mkdtempSync(join(dirname(this.path), '.admin-'));
    const tmpPath = join(privateDir, 's');
    const server = createServer((socket) => this.serve(socket));
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
    for (const socket of this.sockets) socket.destroy();
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
    this.sockets.add(socket);
    socket.setEncoding('utf8');
    const reader = new LineReader(MAX_REQUEST_BYTES);
    const send = (response: AdminResponse) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
    };
    // One request at a time per connection, in order.
    let queue = Promise.resolve();
    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch (err) {
        log.warn(`admin socket: ${(err as Error).message}; closing the connection`);
        socket.destroy();
        return;
      }
      for (const line of lines) queue = queue.then(() => this.handle(line, send));
    });
    socket.on('error', (err) => log.debug(`admin socket connection error: ${err.message}`));
    socket.on('close', () => this.sockets.delete(socket));
  }

  private async handle(line: string, send: (r: AdminResponse) => void): Promise<void> {
    let request: AdminRequest;
    try {
      request = parseRequest(line);
    } catch (err) {
      send({ id: -1, type: 'done', ok: false, error: `bad request: ${(err as Error).message}` });
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
