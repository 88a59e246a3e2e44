import { deserializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * A stdio MCP server's output split into JSON-RPC messages (one per line), in linear time.
 * The SDK's own ReadBuffer concatenates its whole buffer with every chunk and searches it from
 * the start each time, which is quadratic: a 10 MB result came in ~8 KB chunks and took 7 s of
 * CPU in Buffer.concat alone (measured). This keeps the chunks of the line being read and joins
 * them once its newline arrives. Same interface and limit as the SDK's (it replaces it).
 */
export class LineReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly lines: Buffer[] = [];

  constructor(private readonly maxBufferSize: number) {}

  append(chunk: Buffer): void {
    let rest = chunk;
    for (let newline = rest.indexOf(0x0a); newline !== -1; newline = rest.indexOf(0x0a)) {
      this.chunks.push(rest.subarray(0, newline));
      this.lines.push(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks));
      this.chunks = [];
      this.size = 0;
      rest = rest.subarray(newline + 1);
    }
    if (rest.length === 0) return;
    this.size += rest.length;
    if (this.size > this.maxBufferSize) {
      this.clear();
      throw new Error(`ReadBuffer exceeded maximum size of ${this.maxBufferSize} bytes`);
    }
    this.chunks.push(rest);
  }

  readMessage(): JSONRPCMessage | null {
    const line = this.lines.shift();
    if (line === undefined) return null;
    return deserializeMessage(line.toString('utf8').replace(/\r$/, ''));
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.lines.length = 0;
  }
}
