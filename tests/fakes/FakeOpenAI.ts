/**
 * FakeOpenAI: a real local HTTP server speaking the OpenAI chat-completions API, so unit
 * tests, e2e tests and benchmarks exercise the real `openai` client over real HTTP.
 *
 * ```ts
 * const llm = await FakeOpenAI.start();            // 127.0.0.1, ephemeral port
 * config.llm.base_url = llm.baseUrl;               // 'http://127.0.0.1:PORT/v1'
 * llm.respondWith((req) => `echo: ${lastUserText(req)}`); // default reply, a function of the request
 * llm.enqueue({ status: 500 }, { status: 429 });   // one-shot responses, used in order before the default
 * llm.respondWith({ hang: true });                 // never answers (until the client gives up or stop())
 * llm.requests;                                    // every chat request received, oldest first
 * await llm.waitForRequests(3);                    // resolves once 3 chat requests have arrived
 * await llm.waitForAnswers(2);                     // ...once 2 replies have been written out in full
 * await llm.stop();                                // connection refused from now on
 * await llm.start();                               // back, on the same port
 * ```
 *
 * A response is one of:
 * - a string: the assistant's reply text;
 * - `{ content, delayMs?, usage?, finishReason?, hangAfterChunks?, errorAfterChunks?, chunkDelayMs?, pauseAfterChunks? }`:
 *   reply text with a delay before answering, explicit token usage, or (streaming) a hang after
 *   that many chunks, an error event after that many chunks (`errorAfterChunks`: llama.cpp's
 *   context filling up mid-answer), a pause between chunks (a slow model writing), or a pause after
 *   `pauseAfterChunks.chunks` chunks until `pauseAfterChunks.until` settles (a test decides
 *   when the rest is written);
 * - `{ status, message?, retryAfterSeconds? }`: an HTTP error with an OpenAI-style error body;
 * - `{ hang: true }`: accept the request and never answer;
 * - `{ reset: true }`: destroy the connection without answering (a network error).
 * - `{ raw, rawStatus?, contentType? }`: exactly this body (an object is sent as JSON), status
 *   200 unless given: real servers' own error shapes, malformed JSON, a 200 with an error;
 * - `{ endless: piece }`: (streaming) the piece as a content chunk over and over, ignoring
 *   max_tokens, until the client goes away;
 * - `{ toolCalls: [{ name, arguments, id? }], content? }`: the assistant asks for these calls
 *   (`arguments` an object, sent as JSON text, or a string sent as is: malformed JSON too),
 *   with `finish_reason: tool_calls`; streamed, each call comes in pieces as real servers send
 *   them (id and name first, the arguments in two halves).
 *
 * Streaming requests (`stream: true`) are answered as SSE `data: {chunk}` events ending with
 * `data: [DONE]`, with a final `usage` chunk when `stream_options.include_usage` is set.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeChatMessage {
  role: string;
  content: string | Array<{ type: string; text?: string }> | null;
  name?: string;
  /** An assistant turn that asked for calls (sent back in a tool loop). */
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  /** A tool result: the call it answers. */
  tool_call_id?: string;
}

/** One call in a `toolCalls` response. */
export interface FakeToolCall {
  name: string;
  /** An object (sent as JSON) or the exact text to send (malformed JSON included). */
  arguments: Record<string, unknown> | string;
  id?: string;
}

/** One chat-completions request as received. */
export interface FakeChatRequest {
  model: string;
  messages: FakeChatMessage[];
  stream: boolean;
  temperature?: number;
  max_tokens?: number;
  /** The whole parsed JSON body. */
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  receivedAt: number;
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FakeResponse =
  | string
  | {
      content: string;
      delayMs?: number;
      usage?: Partial<FakeUsage>;
      finishReason?: string;
      hangAfterChunks?: number;
      errorAfterChunks?: { chunks: number; error: Record<string, unknown> };
      chunkDelayMs?: number;
      pauseAfterChunks?: { chunks: number; until: Promise<unknown> };
    }
  | { status: number; message?: string; retryAfterSeconds?: number }
  | { hang: true }
  | { reset: true }
  | { raw: string | Record<string, unknown>; rawStatus?: number; contentType?: string }
  | { endless: string }
  | { toolCalls: FakeToolCall[]; content?: string };

export type FakeResponder = (request: FakeChatRequest) => FakeResponse | Promise<FakeResponse>;

/** The text of a message, whether its content is a string or an array of parts. */
export function messageText(message: FakeChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  if (Array.isArray(message.content)) return message.content.map((p) => p.text ?? '').join('');
  return '';
}

/** The text of the last `user` message of a request ('' when there is none). */
export function lastUserText(request: FakeChatRequest): string {
  const users = request.messages.filter((m) => m.role === 'user');
  return users.length ? messageText(users[users.length - 1]!) : '';
}

/**
 * What the person said in the message being answered: the last line of the last `user`
 * message, without the bridge's `Name: ` speaker label.
 */
export function answeredText(request: FakeChatRequest): string {
  return (lastUserText(request).split('\n').at(-1) ?? '').replace(/^[^:]*: /, '');
}

/** The tool results (`role: tool`) of a request, oldest first. */
export function toolResults(request: FakeChatRequest): Array<{ callId: string; text: string }> {
  return request.messages.filter((m) => m.role === 'tool').map((m) => ({ callId: m.tool_call_id ?? '', text: messageText(m) }));
}

/** The names of the tools offered in a request (`tools[].function.name`). */
export function offeredTools(request: FakeChatRequest): string[] {
  const tools = request.body.tools;
  return Array.isArray(tools) ? tools.map((t: { function?: { name?: string } }) => t.function?.name ?? '') : [];
}

/** The text of the `system` messages of a request, joined. */
export function systemText(request: FakeChatRequest): string {
  return request.messages
    .filter((m) => m.role === 'system')
    .map(messageText)
    .join('\n');
}

const approxTokens = (text: string): number => Math.ceil(text.length / 4);

/** Splits reply text into stream pieces at word boundaries, keeping the whitespace. */
function streamPieces(text: string): string[] {
  const pieces = text.match(/\s*\S+\s*/g) ?? [];
  return pieces.length ? pieces : [text];
}

export class FakeOpenAI {
  /** Chat-completions requests received, oldest first. */
  readonly requests: FakeChatRequest[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private queue: FakeResponse[] = [];
  private responder: FakeResponder = (req) => `Fake reply to: ${lastUserText(req)}`;
  private readonly requestCount = new Awaitable('requests', () => this.requests.length);
  /** Replies written out in full (the last chunk of a stream included); errors and hangs not counted. */
  private answered = 0;
  private readonly answerCount = new Awaitable('full replies', () => this.answered);
  private completionCounter = 0;
  private port = 0;

  private constructor() {}

  /** Starts a fake on 127.0.0.1 (an ephemeral port unless given). */
  static async start(options: { port?: number } = {}): Promise<FakeOpenAI> {
    const fake = new FakeOpenAI();
    fake.port = options.port ?? 0;
    await fake.start();
    return fake;
  }

  /** 'http://127.0.0.1:PORT/v1', ready for `llm.base_url`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** (Re)starts listening, on the same port as before once one was assigned. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops every open connection (hanging requests included). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Sets the default response (or a function of the request computing it). */
  respondWith(response: FakeResponse | FakeResponder): this {
    this.responder = typeof response === 'function' ? response : () => response;
    return this;
  }

  /** Queues one-shot responses, used in order before the default. */
  enqueue(...responses: FakeResponse[]): this {
    this.queue.push(...responses);
    return this;
  }

  /** Forgets queued responses, the request log and the count of full replies, and restores the default echo reply. */
  reset(): this {
    this.queue = [];
    this.requests.length = 0;
    this.answered = 0;
    this.responder = (req) => `Fake reply to: ${lastUserText(req)}`;
    return this;
  }

  /** Resolves once at least `count` chat requests have been received in total. */
  waitForRequests(count: number, timeoutMs = 30_000): Promise<void> {
    return this.requestCount.waitFor(count, timeoutMs);
  }

  /** Resolves once at least `count` replies have been written out in full (the model is done with them). */
  waitForAnswers(count: number, timeoutMs = 30_000): Promise<void> {
    return this.answerCount.waitFor(count, timeoutMs);
  }

  private noteAnswered(): void {
    this.answered++;
    this.answerCount.changed();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    try {
      if (req.method === 'GET' && url.pathname === '/v1/models') {
        return sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }] });
      }
      if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
        return sendJson(res, 404, errorBody(`no route for ${req.method} ${url.pathname}`, 'not_found'));
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, errorBody('request body is not JSON', 'invalid_request_error'));
      }
      if (!Array.isArray(body.messages) || typeof body.model !== 'string') {
        return sendJson(res, 400, errorBody('model and messages are required', 'invalid_request_error'));
      }
      const request: FakeChatRequest = {
        model: body.model,
        messages: body.messages as FakeChatMessage[],
        stream: body.stream === true,
        body,
        headers: req.headers,
        receivedAt: Date.now(),
      };
      if (typeof body.temperature === 'number') request.temperature = body.temperature;
      const maxTokens = body.max_tokens ?? body.max_completion_tokens;
      if (typeof maxTokens === 'number') request.max_tokens = maxTokens;
      this.requests.push(request);
      this.requestCount.changed();
      const response = this.queue.length ? this.queue.shift()! : await this.responder(request);
      await this.answer(request, response, req, res);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, errorBody(`FakeOpenAI failed: ${(err as Error).message}`, 'server_error'));
      else res.destroy();
    }
  }

  private async answer(request: FakeChatRequest, response: FakeResponse, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (typeof response === 'string') response = { content: response };
    if ('hang' in response) return; // the socket stays open until the client aborts or stop()
    if ('reset' in response) {
      req.socket.destroy();
      return;
    }
    if ('raw' in response) {
      const text = typeof response.raw === 'string' ? response.raw : JSON.stringify(response.raw);
      res.writeHead(response.rawStatus ?? 200, { 'content-type': response.contentType ?? 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if ('endless' in response) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const data = { id: 'chatcmpl-endless', object: 'chat.completion.chunk', created: 0, model: request.model, choices: [{ index: 0, delta: { content: response.endless }, finish_reason: null }] };
      const line = `data: ${JSON.stringify(data)}\n\n`;
      while (!res.destroyed && !res.writableEnded) {
        if (!res.write(line)) await new Promise((r) => res.once('drain', r).once('close', r));
        await new Promise((r) => setImmediate(r));
      }
      return;
    }
    if ('toolCalls' in response) return this.answerToolCalls(request, response, res);
    if ('status' in response) {
      const headers: Record<string, string> = {};
      if (response.retryAfterSeconds !== undefined) headers['retry-after'] = String(response.retryAfterSeconds);
      const type = response.status === 429 ? 'rate_limit_exceeded' : response.status >= 500 ? 'server_error' : 'invalid_request_error';
      return sendJson(res, response.status, errorBody(response.message ?? `fake error ${response.status}`, type), headers);
    }
    if (response.delayMs) await new Promise((r) => setTimeout(r, response.delayMs));
    if (res.destroyed) return;
    const promptChars = request.messages.reduce((n, m) => n + messageText(m).length, 0);
    const usage: FakeUsage = {
      prompt_tokens: response.usage?.prompt_tokens ?? Math.ceil(promptChars / 4),
      completion_tokens: response.usage?.completion_tokens ?? approxTokens(response.content),
      total_tokens: 0,
    };
    usage.total_tokens = response.usage?.total_tokens ?? usage.prompt_tokens + usage.completion_tokens;
    const id = `chatcmpl-fake-${++this.completionCounter}`;
    const created = Math.floor(Date.now() / 1000);
    const finishReason = response.finishReason ?? 'stop';
    if (!request.stream) {
      this.noteAnswered();
      return sendJson(res, 200, completionBody(id, created, request.model, { role: 'assistant', content: response.content }, finishReason, usage));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (delta: Record<string, unknown>, finish: string | null): Record<string, unknown> => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: request.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
    const send = (data: unknown): void => void res.write(`data: ${JSON.stringify(data)}\n\n`);
    send(chunk({ role: 'assistant', content: '' }, null));
    const pieces = streamPieces(response.content);
    for (const [i, piece] of pieces.entries()) {
      if (response.hangAfterChunks !== undefined && i >= response.hangAfterChunks) return; // left open, mid-stream
      if (response.errorAfterChunks && i >= response.errorAfterChunks.chunks) {
        // As llama.cpp does: an error object as the next SSE event, then the stream ends.
        send({ error: response.errorAfterChunks.error });
        res.end();
        this.noteAnswered();
        return;
      }
      if (response.pauseAfterChunks && i === response.pauseAfterChunks.chunks) {
        await response.pauseAfterChunks.until.catch(() => undefined);
        if (res.destroyed) return;
      }
      if (response.chunkDelayMs && i > 0) {
        await new Promise((r) => setTimeout(r, response.chunkDelayMs));
        if (res.destroyed) return; // the client stopped listening (stopped answer)
      }
      send(chunk({ content: piece }, null));
    }
    send(chunk({}, finishReason));
    const streamOptions = request.body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) send({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [], usage });
    res.end('data: [DONE]\n\n');
    this.noteAnswered();
  }

  private answerToolCalls(request: FakeChatRequest, response: { toolCalls: FakeToolCall[]; content?: string }, res: ServerResponse): void {
    const id = `chatcmpl-fake-${++this.completionCounter}`;
    const created = Math.floor(Date.now() / 1000);
    const calls = response.toolCalls.map((c, i) => ({
      id: c.id ?? `call_fake_${this.completionCounter}_${i}`,
      type: 'function',
      function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
    }));
    const content = response.content ?? null;
    const usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 };
    if (!request.stream) {
      this.noteAnswered();
      return sendJson(res, 200, completionBody(id, created, request.model, { role: 'assistant', content, tool_calls: calls }, 'tool_calls', usage));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (delta: Record<string, unknown>, finish: string | null): void =>
      void res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    send({ role: 'assistant', content: content ?? '' }, null);
    for (const [index, call] of calls.entries()) {
      const args = call.function.arguments;
      const half = Math.floor(args.length / 2);
      send({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: args.slice(0, half) } }] }, null);
      send({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] }, null);
    }
    send({}, 'tool_calls');
    const streamOptions = request.body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
    this.noteAnswered();
  }
}

/** A count that only grows between resets, and the tests waiting for it to reach a number. */
class Awaitable {
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(
    private readonly what: string,
    private readonly current: () => number,
  ) {}

  waitFor(count: number, timeoutMs: number): Promise<void> {
    if (this.current() >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { count, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`FakeOpenAI: expected ${count} ${this.what}, got ${this.current()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The count went up: wakes whoever waited for it. */
  changed(): void {
    const now = this.current();
    const ready = this.waiters.filter((w) => now >= w.count);
    this.waiters = this.waiters.filter((w) => now < w.count);
    for (const w of ready) w.resolve();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A non-streamed chat.completion with one choice. */
function completionBody(id: string, created: number, model: string, message: Record<string, unknown>, finishReason: string, usage: FakeUsage): Record<string, unknown> {
  return { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }], usage };
}

function errorBody(message: string, type: string): Record<string, unknown> {
  return { error: { message, type, param: null, code: type } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
