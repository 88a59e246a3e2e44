import { createConnection, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import { LineReader, type AdminRequest, type AdminResponse } from './adminProtocol.js';

export interface ReceivedFile {
  name: string;
  mimetype: string;
  data: Buffer;
}

export interface RunResult {
  ok: boolean;
  output: string[];
  files?: ReceivedFile[];
  /** The question a destructive command asks; run again with `yes` to go ahead. */
  confirm?: string;
  error?: string;
  /** The command's result as data (asked with `json`). */
  data?: Record<string, unknown>;
}

/** Who is at the console, for the bridge's log: the OS user and process (the socket is 0600, so it is the bridge's user or root). */
export function consoleIdentity(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): the uid still says who.
  }
  return `${user} (uid ${process.getuid?.() ?? '?'}, pid ${process.pid})`;
}

/** One connection to the bridge's admin socket. */
export class AdminClient {
  private nextId = 1;
  private readonly pending = new Map<number, { onResponse: (r: AdminResponse) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    const reader = new LineReader(64 * 1024 * 1024);
    socket.on('data', (chunk: string) => {
      for (const line of reader.push(chunk)) {
        const response = JSON.parse(line) as AdminResponse;
        this.pending.get(response.id)?.onResponse(response);
      }
    });
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the bridge closed the admin connection')));
  }

  static connect(path: string): Promise<AdminClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new AdminClient(socket)));
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? 'is the bridge running with this config?'
            : err.code === 'EACCES'
              ? 'permission denied: run as the user the bridge runs as (or root)'
              : err.message;
        reject(new Error(`cannot reach the bridge's admin socket ${path}: ${why}`));
      });
    });
  }

  run(
    line: string,
    options: { json?: boolean; yes?: boolean; onOutput?: (text: string) => void; onFile?: (file: ReceivedFile) => void } = {},
  ): Promise<RunResult> {
    const output: string[] = [];
    const files: ReceivedFile[] = [];
    // The console's folder: relative paths in the command (an import) mean the admin's, not the bridge's.
    const request = { id: 0, op: 'run' as const, line, json: options.json ?? false, yes: options.yes ?? false, who: consoleIdentity(), cwd: process.cwd() };
    return this.request(request, (r, done) => {
      if (r.type === 'output') {
        output.push(r.text);
        options.onOutput?.(r.text);
      } else if (r.type === 'file') {
        const file = { name: r.name, mimetype: r.mimetype, data: Buffer.from(r.data, 'base64') };
        files.push(file);
        options.onFile?.(file);
      } else if (r.type === 'done') {
        done({
          ok: r.ok,
          output,
          ...(files.length ? { files } : {}),
          ...(r.confirm ? { confirm: r.confirm } : {}),
          ...(r.error ? { error: r.error } : {}),
          ...(r.data ? { data: r.data } : {}),
        });
      }
    });
  }

  completions(): Promise<{ commands: string[]; personas: string[] }> {
    return this.request({ id: 0, op: 'complete' }, (r, done) => {
      if (r.type === 'completions') done({ commands: r.commands, personas: r.personas });
    });
  }

  close(): void {
    this.socket.end();
  }

  private request<T>(request: AdminRequest, handle: (r: AdminResponse, done: (value: T) => void) => void): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const done = (value: T) => {
        this.pending.delete(id);
        resolve(value);
      };
      this.pending.set(id, { onResponse: (r) => handle(r, done), reject });
      this.socket.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }
}
