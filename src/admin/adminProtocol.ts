/**
 * The admin endpoint's wire format: one JSON object per line over a unix socket, both ways.
 *
 * client -> server: `{"id":1,"op":"run","line":"persona list","json":false,"yes":false,"who":"root (pid 42)"}`
 *                   `{"id":2,"op":"complete"}`
 * server -> client: zero or more `{"id":1,"type":"output","text":"..."}` and
 *                   `{"id":1,"type":"file","name":"x.card.json","mimetype":"...","data":"<base64>"}`, then
 *                   `{"id":1,"type":"done","ok":true}` (or with `"confirm":"..."` when a
 *                   destructive command waits for `yes`; with `"data":{...}`, the command's
 *                   result as data, when the request had `"json":true`), or for `complete`:
 *                   `{"id":2,"type":"completions","commands":[...],"personas":[...]}`.
 */
export type AdminRequest =
  | { id: number; op: 'run'; line: string; json?: boolean; yes?: boolean; who?: string; cwd?: string }
  | { id: number; op: 'complete' };

export type AdminResponse =
  | { id: number; type: 'output'; text: string }
  | { id: number; type: 'file'; name: string; mimetype: string; data: string }
  | { id: number; type: 'done'; ok: boolean; confirm?: string; error?: string; data?: Record<string, unknown> }
  | { id: number; type: 'completions'; commands: string[]; personas: string[] };

/** Longest request line accepted: a command line, never a file (imports from the console pass a path). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Splits a byte stream into lines, refusing a line longer than `max` (a client that never sends \n). */
export class LineReader {
  private buffer = '';

  constructor(private readonly max: number) {}

  push(chunk: string): string[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop()!;
    if (this.buffer.length > this.max) throw new Error(`request longer than ${this.max} bytes`);
    return lines.filter((l) => l.trim().length > 0);
  }
}

export function parseRequest(line: string): AdminRequest {
  const value: unknown = JSON.parse(line);
  if (typeof value !== 'object' || value === null) throw new Error('request is not an object');
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'number') throw new Error('request has no numeric id');
  if (r.op === 'complete') return { id: r.id, op: 'complete' };
  if (r.op === 'run' && typeof r.line === 'string') {
    return {
      id: r.id,
      op: 'run',
      line: r.line,
      json: r.json === true,
      yes: r.yes === true,
      ...(typeof r.who === 'string' ? { who: r.who.slice(0, 200) } : {}),
      ...(typeof r.cwd === 'string' && r.cwd.startsWith('/') ? { cwd: r.cwd } : {}),
    };
  }
  throw new Error(`unknown op ${JSON.stringify(r.op)}`);
}
