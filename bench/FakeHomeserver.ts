import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { World } from './world.js';

/** An event one of our users sent, as the homeserver received it. */
export interface SentEvent {
  /** performance.now() in this process when the request arrived (headers read). */
  arrivedAt: number;
  roomId: string;
  userId: string;
  type: string;
  content: Record<string, unknown>;
}

type Handler = (req: Request) => Reply | Promise<Reply>;
interface Request {
  method: string;
  params: string[];
  userId: string;
  body: () => Promise<Record<string, unknown>>;
  arrivedAt: number;
}
interface Reply {
  status?: number;
  json: unknown;
}

const CS = '/_matrix/client/(?:v3|r0)';
const forbidden = (error: string): Reply => ({ status: 403, json: { errcode: 'M_FORBIDDEN', error } });

/**
 * The homeserver side of the benchmarks: a local HTTP server answering the client-server
 * calls the bridge makes at start and while it works (registration, profiles, joined
 * members, sends, typing, receipts), from the World's membership. Anything else is
 * answered M_UNRECOGNIZED and counted, so a new call the bridge starts making shows up in
 * the report instead of going unnoticed.
 */
export class FakeHomeserver {
  /** Requests per route ("GET joined_members", "unrecognized GET /..."). */
  readonly calls = new Map<string, number>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly sendWaiters = new Set<(event: SentEvent) => boolean>();
  private readonly routes: Array<{ method: string; pattern: RegExp; name: string; handle: Handler }> = [];
  private port = 0;

  private constructor(world: World) {
    this.route('GET', '/_matrix/client/versions', 'versions', () => ({ json: { versions: ['v1.1', 'v1.5', 'v1.11'] } }));
    this.route('POST', `${CS}/register`, 'register', async (req) => {
      const username = String((await req.body()).username ?? '');
      return { json: { user_id: `@${username}:${world.domain}` } };
    });
    this.route('GET', `${CS}/account/whoami`, 'whoami', (req) => ({ json: { user_id: req.userId } }));
    this.route('GET', `${CS}/profile/([^/]+)(?:/(displayname|avatar_url))?`, 'profile', (req) => {
      const userId = decodeURIComponent(req.params[0]!);
      const displayname = world.displayName(userId) ?? userId;
      return { json: req.params[1] === 'avatar_url' ? {} : { displayname } };
    });
    this.route('PUT', `${CS}/profile/[^/]+/(?:displayname|avatar_url)`, 'set profile', () => ({ json: {} }));
    this.route('GET', `${CS}/rooms/([^/]+)/joined_members`, 'joined_members', (req) => {
      const room = world.room(decodeURIComponent(req.params[0]!));
      if (!room) return forbidden('unknown room');
      const members = world.members(room);
      if (!members.includes(req.userId)) return forbidden(`${req.userId} is not in the room`);
      const joined: Record<string, { display_name?: string }> = {};
      for (const userId of members) joined[userId] = { display_name: world.displayName(userId) ?? userId };
      return { json: { joined } };
    });
    // The rooms carry no state beyond membership: no persona settings, default power levels.
    this.route('GET', `${CS}/rooms/[^/]+/state/[^/]+/?[^/]*`, 'state', () => ({
      status: 404,
      json: { errcode: 'M_NOT_FOUND', error: 'no such state' },
    }));
    this.route('PUT', `${CS}/rooms/([^/]+)/send/([^/]+)/[^/]+`, 'send', async (req) => {
      const event: SentEvent = {
        arrivedAt: req.arrivedAt,
        roomId: decodeURIComponent(req.params[0]!),
        userId: req.userId,
        type: decodeURIComponent(req.params[1]!),
        content: await req.body(),
      };
      for (const waiter of this.sendWaiters) if (waiter(event)) this.sendWaiters.delete(waiter);
      return { json: { event_id: `$sent${randomBytes(9).toString('base64url')}` } };
    });
    this.route('PUT', `${CS}/rooms/[^/]+/typing/[^/]+`, 'typing', () => ({ json: {} }));
    this.route('POST', `${CS}/rooms/[^/]+/receipt/[^/]+/[^/]+`, 'receipt', () => ({ json: {} }));
    const join: Handler = (req) => ({ json: { room_id: decodeURIComponent(req.params[0]!) } });
    this.route('POST', `${CS}/join/([^/]+)`, 'join', join);
    this.route('POST', `${CS}/rooms/([^/]+)/join`, 'join', join);
  }

  static async start(world: World): Promise<FakeHomeserver> {
    const hs = new FakeHomeserver(world);
    await hs.listen();
    return hs;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private route(method: string, path: string, name: string, handle: Handler): void {
    this.routes.push({ method, pattern: new RegExp(`^${path}$`), name, handle });
  }

  /** Resolves with the first event sent from now on that matches. */
  nextSend(predicate: (event: SentEvent) => boolean, timeoutMs = 30_000): Promise<SentEvent> {
    return new Promise((resolve, reject) => {
      const waiter = (event: SentEvent): boolean => {
        if (!predicate(event)) return false;
        clearTimeout(timer);
        resolve(event);
        return true;
      };
      const timer = setTimeout(() => {
        this.sendWaiters.delete(waiter);
        reject(new Error(`fake homeserver: no matching send within ${timeoutMs} ms`));
      }, timeoutMs);
      this.sendWaiters.add(waiter);
    });
  }

  count(name: string): number {
    return this.calls.get(name) ?? 0;
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res, performance.now()));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, arrivedAt: number): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hs');
    const method = req.method ?? 'GET';
    let body: Promise<Record<string, unknown>> | null = null;
    const request: Request = {
      method,
      params: [],
      userId: url.searchParams.get('user_id') ?? '',
      arrivedAt,
      body: () => (body ??= readJson(req)),
    };
    let reply: Reply = { status: 404, json: { errcode: 'M_UNRECOGNIZED', error: `fake homeserver: no route for ${method} ${url.pathname}` } };
    let name = `unrecognized ${method} ${url.pathname.replace(/![^/]+|@[^/]+|\$[^/]+/g, '…')}`;
    try {
      for (const route of this.routes) {
        if (route.method !== method) continue;
        const match = route.pattern.exec(url.pathname);
        if (!match) continue;
        request.params = match.slice(1);
        name = route.name;
        reply = await route.handle(request);
        break;
      }
    } catch (err) {
      reply = { status: 500, json: { errcode: 'M_UNKNOWN', error: String(err) } };
    }
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    // Drain an unread body so the connection can be reused.
    if (!body) req.resume();
    const text = JSON.stringify(reply.json);
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    req.on('error', reject);
  });
}
