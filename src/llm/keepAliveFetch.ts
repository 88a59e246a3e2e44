import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * The `fetch` the openai client is given: the model request over node:http(s) with kept-alive
 * connections instead of Node's built-in fetch (undici). Per request, undici's fetch builds a
 * Request, a web ReadableStream per body and a chain of promises, and keeps about a fifth of
 * what it allocates alive through the next scavenge: with an instant model its allocations
 * made the bridge's longest young-generation pauses, and the request leaves ~1.5 ms later than
 * over node:http (bench/analysis.ts). The response is what the openai client reads of one
 * (status, headers, `text()`, and the body as an async iterable of chunks, which its SSE
 * reader takes as it is).
 *
 * Kept as fetch's: a rejection is a TypeError('fetch failed') with the cause; an abort rejects
 * (or fails the body being read) with the signal's reason; a compressed body is decompressed.
 * What this does not do itself goes to the built-in fetch: a body that is not a string or
 * bytes (streams, forms), and a redirect (asked again there, which follows it).
 */
export function keepAliveFetch(options: { fallback?: typeof fetch; httpAgent?: HttpAgent } = {}): typeof fetch {
  const fallback = options.fallback ?? fetch;
  const agents = { 'http:': options.httpAgent ?? new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const body = init?.body ?? null;
    const protocol = url.protocol === 'http:' || url.protocol === 'https:' ? url.protocol : null;
    if (typeof input === 'object' && !(input instanceof URL)) return fallback(input, init);
    if (!protocol || !(body === null || typeof body === 'string' || body instanceof Uint8Array)) return fallback(input, init);
    const headers = outgoingHeaders(init?.headers);
    const signal = init?.signal ?? null;
    const method = (init?.method ?? 'GET').toUpperCase();
    // Not sent again when a kept-alive connection turns out closed (neither is fetch's POST):
    // the server may have had it; the caller's retries (LlmClient's, counted) decide.
    const res = await send(url, protocol, agents[protocol], method, headers, body, signal);
    if (REDIRECTS.has(res.statusCode ?? 0) && res.headers.location) {
      res.resume();
      return fallback(input, init);
    }
    const response = new NodeResponse(url.href, res, decoded(res), signal);
    // An error's body is read now, while it is small and the connection can still go back to
    // the pool: a caller that judges the status alone (the tokenizer's probe) never reads it,
    // and its unread body would hold the connection for as long as the server keeps it open.
    if (!response.ok) await response.buffer();
    return response as unknown as Response;
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function outgoingHeaders(given: RequestInit['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (given) for (const [name, value] of new Headers(given)) out[name] = value;
  return out;
}

function send(
  url: URL,
  protocol: 'http:' | 'https:',
  agent: HttpAgent,
  method: string,
  headers: OutgoingHttpHeaders,
  body: string | Uint8Array | null,
  signal: AbortSignal | null,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const request = protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method, headers, agent });
    const onAbort = () => req.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('response', (res) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(res);
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(signal.reason);
      else reject(new TypeError('fetch failed', { cause: err }));
    });
    req.end(body ?? undefined);
  });
}

/** The body as sent, decompressed when the server compressed it (fetch does the same). */
function decoded(res: IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : null;
  if (!decoder) return res;
  res.on('error', (err) => decoder.destroy(err));
  return res.pipe(decoder);
}

function ignore(): void {}

/** The part of a fetch Response the openai client reads. */
class NodeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly redirected = false;
  readonly type = 'basic';
  /** What the openai client iterates (its SSE reader takes any async iterable). */
  readonly body: AsyncIterable<Buffer>;

  constructor(
    readonly url: string,
    res: IncomingMessage,
    private stream: Readable,
    signal: AbortSignal | null,
  ) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? '';
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) this.headers.append(name, v);
      else if (value !== undefined) this.headers.set(name, value);
    }
    this.body = { [Symbol.asyncIterator]: () => keptIterator(this.stream) };
    // A failure reaches whoever reads the body (its iterator rethrows it); a body nobody reads
    // any more must not fail the process with an unhandled 'error' event.
    res.on('error', ignore);
    stream.on('error', ignore);
    if (signal && !signal.aborted) {
      // Stopped while the body is read: it fails with the signal's reason, as fetch's does.
      const onAbort = () => {
        res.destroy(signal.reason as Error);
        stream.destroy(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }

  /** Reads the body now (up to MAX_BUFFERED bytes, the rest dropped with its connection) and serves it from memory. */
  async buffer(): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > MAX_BUFFERED) break;
    }
    this.stream = Readable.from(chunks);
  }

  get bodyUsed(): boolean {
    return this.stream.readableDidRead;
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

/** An error body is kept up to this size (an error message, not a download). */
const MAX_BUFFERED = 1 << 20;

/** How long a body left unread after its reader stopped may take to end before its connection is dropped. */
const DRAIN_MS = 5_000;

/**
 * The body's chunks. The openai client stops iterating (`return()`) as soon as it has read the
 * stream's last event, often just before the response's end has been read: a Node stream
 * destroys itself there, and its kept-alive connection with it (a new connection per answer).
 * Here the rest is read and dropped instead, so the connection goes back to the pool; a
 * cancelled answer's body was already destroyed by its signal, and one that does not end
 * soon is dropped.
 */
function keptIterator(stream: Readable): AsyncIterator<Buffer> {
  const chunks = stream.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  return {
    next: () => chunks.next(),
    return: async () => {
      await chunks.return?.();
      if (!stream.readableEnded && !stream.destroyed) {
        const drop = setTimeout(() => stream.destroy(), DRAIN_MS);
        drop.unref();
        stream.once('close', () => clearTimeout(drop));
        stream.resume();
      }
      return { done: true, value: undefined };
    },
  };
}
